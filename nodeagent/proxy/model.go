package proxy

import (
	"net/netip"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/types"
)

// defaultAffinitySeconds is the ClientIP affinity timeout when the Service gives none
// (upstream's DefaultClientIPServiceAffinitySeconds, 3 hours).
const defaultAffinitySeconds = 10800

// servicePort is one port of one Service, as the proxy programs it.
type servicePort struct {
	// name is "<namespace>/<service>/<protocol>/<port name>", as upstream names its chains.
	name     string
	svc      types.NamespacedName
	portName string
	protocol string // "tcp", "udp" or "sctp"
	port     int32
	nodePort int32
	// clusterIPs are the Service's IPv4 ClusterIPs.
	clusterIPs []string
	// externalIPs are spec.externalIPs and LoadBalancer ingress IPs (IPv4), the destinations
	// that externalTrafficPolicy governs besides the NodePort.
	externalIPs []string
	// loadBalancerIPs are the LoadBalancer ingress IPs (IPv4), the destinations that
	// sourceRanges restrict.
	loadBalancerIPs []string
	// sourceRanges are spec.loadBalancerSourceRanges (IPv4, canonical); empty: every source
	// may reach the load balancer IPs.
	sourceRanges []netip.Prefix
	// affinitySeconds is the ClientIP affinity timeout; 0 without affinity.
	affinitySeconds int32
	internalLocal   bool
	externalLocal   bool
}

// endpoint is one endpoint address and port of a servicePort.
type endpoint struct {
	ip          string
	port        int32
	local       bool
	ready       bool
	serving     bool
	terminating bool
}

func (e endpoint) String() string { return e.ip + ":" + itoa(int64(e.port)) }

// nameSuffix is the endpoint in chain and set names, "IP/port" as upstream (nft names take
// no colon).
func (e endpoint) nameSuffix() string { return e.ip + "/" + itoa(int64(e.port)) }

// servicePorts returns the ports the proxy programs for svc: none for headless and
// ExternalName services and for services without an IPv4 ClusterIP.
func servicePorts(svc *corev1.Service) []servicePort {
	if svc.Spec.Type == corev1.ServiceTypeExternalName {
		return nil
	}
	var clusterIPs []string
	ips := svc.Spec.ClusterIPs
	if len(ips) == 0 && svc.Spec.ClusterIP != "" {
		ips = []string{svc.Spec.ClusterIP}
	}
	for _, ip := range ips {
		if isIPv4(ip) {
			clusterIPs = append(clusterIPs, ip)
		}
	}
	if len(clusterIPs) == 0 {
		return nil
	}
	var external, lbIPs []string
	var ranges []netip.Prefix
	for _, ip := range svc.Spec.ExternalIPs {
		if isIPv4(ip) {
			external = append(external, ip)
		}
	}
	if svc.Spec.Type == corev1.ServiceTypeLoadBalancer {
		for _, ing := range svc.Status.LoadBalancer.Ingress {
			// ipMode Proxy: the load balancer delivers to the node, not to the ingress IP.
			if ing.IPMode != nil && *ing.IPMode == corev1.LoadBalancerIPModeProxy {
				continue
			}
			if isIPv4(ing.IP) {
				external = append(external, ing.IP)
				lbIPs = append(lbIPs, ing.IP)
			}
		}
		// As upstream, only the ranges of the proxy's family count (validation has
		// rejected malformed ones; any left are skipped).
		for _, r := range svc.Spec.LoadBalancerSourceRanges {
			if p, err := netip.ParsePrefix(strings.TrimSpace(r)); err == nil && p.Addr().Is4() {
				ranges = append(ranges, p.Masked())
			}
		}
	}
	external = dedup(external)
	lbIPs = dedup(lbIPs)
	var affinity int32
	if svc.Spec.SessionAffinity == corev1.ServiceAffinityClientIP {
		affinity = defaultAffinitySeconds
		if c := svc.Spec.SessionAffinityConfig; c != nil && c.ClientIP != nil && c.ClientIP.TimeoutSeconds != nil {
			affinity = *c.ClientIP.TimeoutSeconds
		}
	}
	externalLocal := svc.Spec.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal &&
		(svc.Spec.Type == corev1.ServiceTypeNodePort || svc.Spec.Type == corev1.ServiceTypeLoadBalancer || len(external) > 0)
	internalLocal := svc.Spec.InternalTrafficPolicy != nil && *svc.Spec.InternalTrafficPolicy == corev1.ServiceInternalTrafficPolicyLocal
	key := types.NamespacedName{Namespace: svc.Namespace, Name: svc.Name}
	var out []servicePort
	for _, p := range svc.Spec.Ports {
		proto := strings.ToLower(string(p.Protocol))
		if proto == "" {
			proto = "tcp"
		}
		sp := servicePort{
			name: svc.Namespace + "/" + svc.Name + "/" + proto + "/" + p.Name,
			svc:  key, portName: p.Name, protocol: proto, port: p.Port,
			clusterIPs: clusterIPs, externalIPs: external, affinitySeconds: affinity,
			loadBalancerIPs: lbIPs, sourceRanges: ranges,
			internalLocal: internalLocal, externalLocal: externalLocal,
		}
		if svc.Spec.Type == corev1.ServiceTypeNodePort || svc.Spec.Type == corev1.ServiceTypeLoadBalancer {
			sp.nodePort = p.NodePort
		}
		out = append(out, sp)
	}
	return out
}

// sliceEndpoints collects the endpoints of a service's IPv4 slices for each of its ports
// (keyed by port name and protocol), deduplicated and in a stable order.
func sliceEndpoints(slices []*discoveryv1.EndpointSlice, nodeName string) map[string][]endpoint {
	seen := map[string]map[string]bool{}
	out := map[string][]endpoint{}
	for _, s := range slices {
		if s.AddressType != discoveryv1.AddressTypeIPv4 {
			continue
		}
		for _, sp := range s.Ports {
			if sp.Port == nil {
				continue
			}
			proto := "tcp"
			if sp.Protocol != nil {
				proto = strings.ToLower(string(*sp.Protocol))
			}
			name := ""
			if sp.Name != nil {
				name = *sp.Name
			}
			k := portKey(name, proto)
			for _, e := range s.Endpoints {
				if len(e.Addresses) == 0 || !isIPv4(e.Addresses[0]) {
					continue
				}
				// As upstream: nil conditions mean ready and serving, not terminating.
				ready := e.Conditions.Ready == nil || *e.Conditions.Ready
				serving := ready
				if e.Conditions.Serving != nil {
					serving = *e.Conditions.Serving
				}
				ep := endpoint{
					ip: e.Addresses[0], port: *sp.Port, ready: ready, serving: serving,
					terminating: e.Conditions.Terminating != nil && *e.Conditions.Terminating,
					local:       nodeName != "" && e.NodeName != nil && *e.NodeName == nodeName,
				}
				if seen[k] == nil {
					seen[k] = map[string]bool{}
				}
				if seen[k][ep.String()] {
					continue
				}
				seen[k][ep.String()] = true
				out[k] = append(out[k], ep)
			}
		}
	}
	for _, eps := range out {
		sort.Slice(eps, func(i, j int) bool { return eps[i].String() < eps[j].String() })
	}
	return out
}

func portKey(name, proto string) string { return proto + "/" + name }

// usable picks the endpoints traffic goes to among eps, as upstream: the ready ones, or when
// none is ready, the serving terminating ones; only local ones when local is set.
func usable(eps []endpoint, local bool) []endpoint {
	var ready, terminating []endpoint
	for _, e := range eps {
		if local && !e.local {
			continue
		}
		switch {
		case e.ready:
			ready = append(ready, e)
		case e.serving && e.terminating:
			terminating = append(terminating, e)
		}
	}
	if len(ready) > 0 {
		return ready
	}
	return terminating
}

func isIPv4(s string) bool {
	a, err := netip.ParseAddr(s)
	return err == nil && a.Is4()
}

func dedup(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}
