package clusterdns

import (
	"net"
	"sort"
	"strings"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
)

// ttl is CoreDNS's kubernetes plugin default.
const ttl = 5

// Source is what answers are made from: the informers' view of Services and EndpointSlices.
type Source interface {
	// Service returns ns/name or nil.
	Service(ns, name string) *corev1.Service
	// Slices returns the EndpointSlices of service ns/name.
	Slices(ns, name string) []*discoveryv1.EndpointSlice
	// ServicesByIP returns the services with ClusterIP ip; SlicesByAddress the EndpointSlices
	// with an endpoint at ip (reverse lookups).
	ServicesByIP(ip string) []*corev1.Service
	SlicesByAddress(ip string) []*discoveryv1.EndpointSlice
}

// answer is the result of resolving one question inside the cluster domain.
type answer struct {
	rcode  int
	answer []dns.RR
	extra  []dns.RR
}

// resolver answers names in the cluster domain.
type resolver struct {
	domain string // "cluster.local." (lower case, fully qualified)
	src    Source
}

func newResolver(domain string, src Source) *resolver {
	return &resolver{domain: dns.Fqdn(strings.ToLower(strings.Trim(domain, "."))), src: src}
}

// inZone tells whether name (fully qualified) is the cluster domain or below it.
func (r *resolver) inZone(name string) bool {
	name = strings.ToLower(name)
	return name == r.domain || strings.HasSuffix(name, "."+r.domain)
}

func (r *resolver) soa() dns.RR {
	return &dns.SOA{Hdr: dns.RR_Header{Name: r.domain, Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: ttl},
		Ns: "ns.dns." + r.domain, Mbox: "hostmaster." + r.domain, Serial: 1, Refresh: 7200, Retry: 1800, Expire: 86400, Minttl: ttl}
}

// resolve answers q, whose name is in the cluster domain.
func (r *resolver) resolve(q dns.Question) answer {
	name := strings.ToLower(q.Name)
	if name == r.domain {
		switch q.Qtype {
		case dns.TypeSOA:
			return answer{rcode: dns.RcodeSuccess, answer: []dns.RR{r.soa()}}
		}
		return answer{rcode: dns.RcodeSuccess}
	}
	labels := strings.Split(strings.TrimSuffix(name, "."+r.domain), ".")
	n := len(labels)
	switch {
	case labels[n-1] == "svc" && n == 3:
		return r.service(q, labels[1], labels[0])
	case labels[n-1] == "svc" && n == 4:
		return r.endpoint(q, labels[2], labels[1], labels[0])
	case labels[n-1] == "svc" && n == 5 && strings.HasPrefix(labels[0], "_") && strings.HasPrefix(labels[1], "_"):
		return r.srv(q, labels[3], labels[2], labels[0][1:], labels[1][1:])
	case labels[n-1] == "svc" && n <= 2:
		return answer{rcode: dns.RcodeSuccess} // the svc subdomain and namespaces exist as names
	case labels[n-1] == "pod" && n == 3:
		return r.pod(q, labels[0])
	}
	return answer{rcode: dns.RcodeNameError}
}

func (r *resolver) fqdn(parts ...string) string {
	return strings.Join(parts, ".") + "." + r.domain
}

// addrRR makes an A or AAAA record for ip when it fits qtype; nil otherwise.
func addrRR(name string, qtype uint16, ip string) dns.RR {
	p := net.ParseIP(ip)
	if p == nil {
		return nil
	}
	hdr := func(t uint16) dns.RR_Header {
		return dns.RR_Header{Name: name, Rrtype: t, Class: dns.ClassINET, Ttl: ttl}
	}
	if v4 := p.To4(); v4 != nil {
		if qtype == dns.TypeA || qtype == dns.TypeANY {
			return &dns.A{Hdr: hdr(dns.TypeA), A: v4}
		}
		return nil
	}
	if qtype == dns.TypeAAAA || qtype == dns.TypeANY {
		return &dns.AAAA{Hdr: hdr(dns.TypeAAAA), AAAA: p}
	}
	return nil
}

func isHeadless(svc *corev1.Service) bool { return svc.Spec.ClusterIP == corev1.ClusterIPNone }

// readyEndpoint is one ready address of a service with the name DNS gives it.
type readyEndpoint struct {
	ip, label string
	ports     []discoveryv1.EndpointPort
}

// endpoints lists the ready addresses of ns/svc, sorted by IP, each once.
func (r *resolver) endpoints(ns, svc string, publishNotReady bool) []readyEndpoint {
	var out []readyEndpoint
	seen := map[string]bool{}
	for _, s := range r.src.Slices(ns, svc) {
		for _, ep := range s.Endpoints {
			if !publishNotReady && ep.Conditions.Ready != nil && !*ep.Conditions.Ready {
				continue
			}
			for _, ip := range ep.Addresses {
				if seen[ip] {
					continue
				}
				seen[ip] = true
				label := strings.NewReplacer(".", "-", ":", "-").Replace(ip)
				if ep.Hostname != nil && *ep.Hostname != "" {
					label = *ep.Hostname
				}
				out = append(out, readyEndpoint{ip: ip, label: strings.ToLower(label), ports: s.Ports})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ip < out[j].ip })
	return out
}

// service answers <svc>.<ns>.svc.
func (r *resolver) service(q dns.Question, ns, name string) answer {
	svc := r.src.Service(ns, name)
	if svc == nil {
		return answer{rcode: dns.RcodeNameError}
	}
	var a answer
	switch {
	case svc.Spec.Type == corev1.ServiceTypeExternalName:
		if q.Qtype != dns.TypeSRV {
			a.answer = append(a.answer, &dns.CNAME{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeCNAME, Class: dns.ClassINET, Ttl: ttl},
				Target: dns.Fqdn(svc.Spec.ExternalName)})
		}
	case q.Qtype == dns.TypeSRV:
		// All named ports, as CoreDNS answers an SRV query on the service name.
		for _, p := range svc.Spec.Ports {
			srvs, extra := r.srvRecords(q.Name, svc, p.Name, strings.ToLower(string(p.Protocol)))
			a.answer, a.extra = append(a.answer, srvs...), append(a.extra, extra...)
		}
	case isHeadless(svc):
		for _, ep := range r.endpoints(ns, name, svc.Spec.PublishNotReadyAddresses) {
			if rr := addrRR(q.Name, q.Qtype, ep.ip); rr != nil {
				a.answer = append(a.answer, rr)
			}
		}
	default:
		ips := svc.Spec.ClusterIPs
		if len(ips) == 0 && svc.Spec.ClusterIP != "" {
			ips = []string{svc.Spec.ClusterIP}
		}
		for _, ip := range ips {
			if rr := addrRR(q.Name, q.Qtype, ip); rr != nil {
				a.answer = append(a.answer, rr)
			}
		}
	}
	return a
}

// endpoint answers <hostname>.<svc>.<ns>.svc (or the dashed IP) of a headless service.
func (r *resolver) endpoint(q dns.Question, ns, name, label string) answer {
	svc := r.src.Service(ns, name)
	if svc == nil || !isHeadless(svc) {
		return answer{rcode: dns.RcodeNameError}
	}
	var a answer
	found := false
	for _, ep := range r.endpoints(ns, name, svc.Spec.PublishNotReadyAddresses) {
		if ep.label != label {
			continue
		}
		found = true
		if rr := addrRR(q.Name, q.Qtype, ep.ip); rr != nil {
			a.answer = append(a.answer, rr)
		}
	}
	if !found {
		a.rcode = dns.RcodeNameError
	}
	return a
}

// srv answers _<port>._<proto>.<svc>.<ns>.svc.
func (r *resolver) srv(q dns.Question, ns, name, port, proto string) answer {
	svc := r.src.Service(ns, name)
	if svc == nil || svc.Spec.Type == corev1.ServiceTypeExternalName {
		return answer{rcode: dns.RcodeNameError}
	}
	found := false
	for _, p := range svc.Spec.Ports {
		if p.Name != "" && strings.EqualFold(p.Name, port) && strings.EqualFold(string(p.Protocol), proto) {
			found = true
		}
	}
	if !found {
		return answer{rcode: dns.RcodeNameError}
	}
	if q.Qtype != dns.TypeSRV && q.Qtype != dns.TypeANY {
		return answer{}
	}
	srvs, extra := r.srvRecords(q.Name, svc, port, proto)
	return answer{answer: srvs, extra: extra}
}

// srvRecords are the SRV records of one named port of svc under owner, with the targets' addresses.
func (r *resolver) srvRecords(owner string, svc *corev1.Service, port, proto string) (srvs, extra []dns.RR) {
	if port == "" {
		return nil, nil
	}
	hdr := dns.RR_Header{Name: owner, Rrtype: dns.TypeSRV, Class: dns.ClassINET, Ttl: ttl}
	if !isHeadless(svc) {
		for _, p := range svc.Spec.Ports {
			if strings.EqualFold(p.Name, port) && strings.EqualFold(string(p.Protocol), proto) {
				target := r.fqdn(svc.Name, svc.Namespace, "svc")
				srvs = append(srvs, &dns.SRV{Hdr: hdr, Priority: 0, Weight: 100, Port: uint16(p.Port), Target: target})
				if rr := addrRR(target, dns.TypeA, svc.Spec.ClusterIP); rr != nil {
					extra = append(extra, rr)
				}
			}
		}
		return srvs, extra
	}
	eps := r.endpoints(svc.Namespace, svc.Name, svc.Spec.PublishNotReadyAddresses)
	for _, ep := range eps {
		for _, p := range ep.ports {
			if p.Name == nil || p.Port == nil || !strings.EqualFold(*p.Name, port) ||
				(p.Protocol != nil && !strings.EqualFold(string(*p.Protocol), proto)) {
				continue
			}
			target := r.fqdn(ep.label, svc.Name, svc.Namespace, "svc")
			srvs = append(srvs, &dns.SRV{Hdr: hdr, Priority: 0, Weight: uint16(100 / len(eps)), Port: uint16(*p.Port), Target: target})
			if rr := addrRR(target, dns.TypeA, ep.ip); rr != nil {
				extra = append(extra, rr)
			}
		}
	}
	return srvs, extra
}

// pod answers <a-b-c-d>.<ns>.pod with the address itself, as CoreDNS's "pods insecure".
func (r *resolver) pod(q dns.Question, label string) answer {
	ip := net.ParseIP(strings.ReplaceAll(label, "-", "."))
	if ip == nil || ip.To4() == nil {
		return answer{rcode: dns.RcodeNameError}
	}
	var a answer
	if rr := addrRR(q.Name, q.Qtype, ip.String()); rr != nil {
		a.answer = append(a.answer, rr)
	}
	return a
}

// reverse answers a PTR query for a service ClusterIP (<svc>.<ns>.svc.<domain>) or the endpoint
// of a headless service (<hostname or dashed IP>.<svc>.<ns>.svc.<domain>), as CoreDNS's
// kubernetes plugin; ok is false for other addresses, which are forwarded.
func (r *resolver) reverse(q dns.Question) (a answer, ok bool) {
	ip := reverseIP(q.Name)
	if ip == "" {
		return answer{}, false
	}
	var targets []string
	for _, svc := range r.src.ServicesByIP(ip) {
		targets = append(targets, r.fqdn(svc.Name, svc.Namespace, "svc"))
	}
	for _, sl := range r.src.SlicesByAddress(ip) {
		name := sl.Labels[discoveryv1.LabelServiceName]
		svc := r.src.Service(sl.Namespace, name)
		if svc == nil || !isHeadless(svc) {
			continue
		}
		for _, ep := range r.endpoints(sl.Namespace, name, true) {
			if ep.ip == ip {
				targets = append(targets, r.fqdn(ep.label, name, sl.Namespace, "svc"))
			}
		}
	}
	if len(targets) == 0 {
		return answer{}, false
	}
	sort.Strings(targets)
	if q.Qtype != dns.TypePTR && q.Qtype != dns.TypeANY {
		return answer{}, true
	}
	for i, t := range targets {
		if i > 0 && targets[i-1] == t {
			continue
		}
		a.answer = append(a.answer, &dns.PTR{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypePTR, Class: dns.ClassINET, Ttl: ttl}, Ptr: t})
	}
	return a, true
}

// reverseIP turns d.c.b.a.in-addr.arpa. into a.b.c.d ("" when it is not a full IPv4 name).
func reverseIP(name string) string {
	rest, ok := strings.CutSuffix(strings.ToLower(name), ".in-addr.arpa.")
	if !ok {
		return ""
	}
	parts := strings.Split(rest, ".")
	if len(parts) != 4 {
		return ""
	}
	for i, j := 0, 3; i < j; i, j = i+1, j-1 {
		parts[i], parts[j] = parts[j], parts[i]
	}
	ip := net.ParseIP(strings.Join(parts, "."))
	if ip == nil || ip.To4() == nil {
		return ""
	}
	return ip.String()
}
