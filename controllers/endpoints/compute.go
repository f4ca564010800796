package endpoints

import (
	"fmt"
	"net"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

// Labels and values the controller puts on what it manages.
const (
	LabelServiceName     = discoveryv1.LabelServiceName // kubernetes.io/service-name
	LabelManagedBy       = discoveryv1.LabelManagedBy   // endpointslice.kubernetes.io/managed-by
	ManagedByValue       = "endpointslice-controller.k8s.io"
	LabelHeadless        = corev1.IsHeadlessService // service.kubernetes.io/headless
	MaxEndpointsPerSlice = 100
	// MaxEndpointsAddresses caps an Endpoints object, as upstream (the rest is truncated).
	MaxEndpointsAddresses  = 1000
	OverCapacityAnnotation = "endpoints.kubernetes.io/over-capacity"
)

func isPodReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func isTerminal(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodFailed || p.Status.Phase == corev1.PodSucceeded
}

// shouldPodBeInEndpoints: not terminal, has an IP, and not terminating unless those are wanted.
func shouldPodBeInEndpoints(p *corev1.Pod, includeTerminating bool) bool {
	if isTerminal(p) {
		return false
	}
	if p.Status.PodIP == "" && len(p.Status.PodIPs) == 0 {
		return false
	}
	return includeTerminating || p.DeletionTimestamp == nil
}

func isHeadless(svc *corev1.Service) bool { return svc.Spec.ClusterIP == corev1.ClusterIPNone }

// FindPort resolves a service port's targetPort for a pod: a number as is, a name through the
// pod's container (and sidecar init container) ports of the same protocol.
func FindPort(pod *corev1.Pod, sp *corev1.ServicePort) (int32, error) {
	tp := sp.TargetPort
	switch {
	case tp.Type == intstr.String && tp.StrVal != "":
		proto := sp.Protocol
		if proto == "" {
			proto = corev1.ProtocolTCP
		}
		match := func(cs []corev1.Container) (int32, bool) {
			for _, c := range cs {
				for _, p := range c.Ports {
					pp := p.Protocol
					if pp == "" {
						pp = corev1.ProtocolTCP
					}
					if p.Name == tp.StrVal && pp == proto {
						return p.ContainerPort, true
					}
				}
			}
			return 0, false
		}
		if n, ok := match(pod.Spec.Containers); ok {
			return n, nil
		}
		var sidecars []corev1.Container
		for _, c := range pod.Spec.InitContainers {
			if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
				sidecars = append(sidecars, c)
			}
		}
		if n, ok := match(sidecars); ok {
			return n, nil
		}
	case tp.Type == intstr.Int && tp.IntVal != 0:
		return tp.IntVal, nil
	case tp.Type == intstr.Int:
		return sp.Port, nil
	}
	return 0, fmt.Errorf("no suitable port for manifest: %s", pod.UID)
}

func family(ip string) corev1.IPFamily {
	parsed := net.ParseIP(ip)
	switch {
	case parsed == nil:
		return ""
	case parsed.To4() != nil:
		return corev1.IPv4Protocol
	default:
		return corev1.IPv6Protocol
	}
}

// podIP returns the pod's IP of the given family ("" = its primary IP).
func podIP(p *corev1.Pod, fam corev1.IPFamily) string {
	ips := []string{p.Status.PodIP}
	for _, x := range p.Status.PodIPs {
		ips = append(ips, x.IP)
	}
	for _, ip := range ips {
		if ip != "" && (fam == "" || family(ip) == fam) {
			return ip
		}
	}
	return ""
}

// serviceFamily is the family of the Endpoints addresses ("" = any).
func serviceFamily(svc *corev1.Service) corev1.IPFamily {
	if len(svc.Spec.IPFamilies) > 0 {
		return svc.Spec.IPFamilies[0]
	}
	if svc.Spec.ClusterIP != "" && svc.Spec.ClusterIP != corev1.ClusterIPNone {
		return family(svc.Spec.ClusterIP)
	}
	return ""
}

func hostname(svc *corev1.Service, p *corev1.Pod) string {
	if p.Spec.Hostname != "" && p.Spec.Subdomain == svc.Name && p.Namespace == svc.Namespace {
		return p.Spec.Hostname
	}
	return ""
}

func podRef(p *corev1.Pod) *corev1.ObjectReference {
	return &corev1.ObjectReference{Kind: "Pod", Namespace: p.Namespace, Name: p.Name, UID: p.UID}
}

// ComputeSubsets returns the Endpoints subsets for svc's selected pods: pods grouped by the
// set of ports they serve, ready ones in addresses and not-ready in notReadyAddresses, sorted.
// It also reports whether the addresses were truncated to MaxEndpointsAddresses.
func ComputeSubsets(svc *corev1.Service, pods []*corev1.Pod) ([]corev1.EndpointSubset, bool) {
	tolerate := svc.Spec.PublishNotReadyAddresses
	fam := serviceFamily(svc)
	type entry struct {
		addr  corev1.EndpointAddress
		ready bool
		ports []corev1.EndpointPort
	}
	var entries []entry
	for _, p := range pods {
		if !shouldPodBeInEndpoints(p, tolerate) {
			continue
		}
		ip := podIP(p, fam)
		if ip == "" {
			continue
		}
		addr := corev1.EndpointAddress{IP: ip, Hostname: hostname(svc, p), TargetRef: podRef(p)}
		if p.Spec.NodeName != "" {
			addr.NodeName = ptr.To(p.Spec.NodeName)
		}
		ready := tolerate || isPodReady(p)
		if len(svc.Spec.Ports) == 0 {
			if isHeadless(svc) {
				entries = append(entries, entry{addr: addr, ready: ready})
			}
			continue
		}
		var ports []corev1.EndpointPort
		for i := range svc.Spec.Ports {
			sp := &svc.Spec.Ports[i]
			n, err := FindPort(p, sp)
			if err != nil {
				continue
			}
			ports = append(ports, corev1.EndpointPort{Name: sp.Name, Port: n, Protocol: protocolOr(sp.Protocol), AppProtocol: sp.AppProtocol})
		}
		if len(ports) == 0 {
			continue
		}
		entries = append(entries, entry{addr: addr, ready: ready, ports: ports})
	}

	// Group addresses by the exact set of ports they serve.
	sortEndpointPorts := func(ps []corev1.EndpointPort) {
		sort.Slice(ps, func(i, j int) bool { return portKey(ps[i]) < portKey(ps[j]) })
	}
	groups := map[string]*corev1.EndpointSubset{}
	var keys []string
	for _, e := range entries {
		sortEndpointPorts(e.ports)
		var kb strings.Builder
		for _, p := range e.ports {
			kb.WriteString(portKey(p) + ";")
		}
		k := kb.String()
		g, ok := groups[k]
		if !ok {
			g = &corev1.EndpointSubset{Ports: e.ports}
			groups[k] = g
			keys = append(keys, k)
		}
		if e.ready {
			g.Addresses = append(g.Addresses, e.addr)
		} else {
			g.NotReadyAddresses = append(g.NotReadyAddresses, e.addr)
		}
	}
	sort.Strings(keys)
	subsets := make([]corev1.EndpointSubset, 0, len(keys))
	for _, k := range keys {
		g := groups[k]
		sortAddresses(g.Addresses)
		sortAddresses(g.NotReadyAddresses)
		subsets = append(subsets, *g)
	}
	return truncate(subsets)
}

func protocolOr(p corev1.Protocol) corev1.Protocol {
	if p == "" {
		return corev1.ProtocolTCP
	}
	return p
}

func portKey(p corev1.EndpointPort) string {
	return fmt.Sprintf("%s/%d/%s/%s", p.Name, p.Port, p.Protocol, ptr.Deref(p.AppProtocol, ""))
}

func sortAddresses(a []corev1.EndpointAddress) {
	sort.Slice(a, func(i, j int) bool {
		if a[i].IP != a[j].IP {
			return a[i].IP < a[j].IP
		}
		return a[i].TargetRef.Name < a[j].TargetRef.Name
	})
}

// truncate keeps at most MaxEndpointsAddresses addresses, ready ones first.
func truncate(subsets []corev1.EndpointSubset) ([]corev1.EndpointSubset, bool) {
	total := 0
	for _, s := range subsets {
		total += len(s.Addresses) + len(s.NotReadyAddresses)
	}
	if total <= MaxEndpointsAddresses {
		return subsets, false
	}
	left := MaxEndpointsAddresses
	for i := range subsets {
		n := min(left, len(subsets[i].Addresses))
		subsets[i].Addresses = subsets[i].Addresses[:n]
		left -= n
	}
	for i := range subsets {
		n := min(left, len(subsets[i].NotReadyAddresses))
		subsets[i].NotReadyAddresses = subsets[i].NotReadyAddresses[:n]
		left -= n
	}
	out := subsets[:0]
	for _, s := range subsets {
		if len(s.Addresses)+len(s.NotReadyAddresses) > 0 {
			out = append(out, s)
		}
	}
	return out, true
}

// EndpointsLabels are the Service's labels plus the headless marker for headless Services.
func EndpointsLabels(svc *corev1.Service) map[string]string {
	out := map[string]string{}
	for k, v := range svc.Labels {
		out[k] = v
	}
	if isHeadless(svc) {
		out[LabelHeadless] = ""
	} else {
		delete(out, LabelHeadless)
	}
	return out
}

// SliceEndpoint is one desired EndpointSlice endpoint with the ports it serves.
type SliceEndpoint struct {
	Endpoint discoveryv1.Endpoint
	Ports    []discoveryv1.EndpointPort
}

// PortsKey identifies an endpoint's port set.
func (e SliceEndpoint) PortsKey() string { return slicePortsKey(e.Ports) }

func slicePortsKey(ps []discoveryv1.EndpointPort) string {
	keys := make([]string, len(ps))
	for i, p := range ps {
		keys[i] = fmt.Sprintf("%s/%d/%s/%s", ptr.Deref(p.Name, ""), ptr.Deref(p.Port, 0), ptr.Deref(p.Protocol, ""), ptr.Deref(p.AppProtocol, ""))
	}
	sort.Strings(keys)
	return strings.Join(keys, ";")
}

// AddressTypes are the slice address types a Service gets (its IP families; IPv4 by default).
func AddressTypes(svc *corev1.Service) []discoveryv1.AddressType {
	var out []discoveryv1.AddressType
	for _, f := range svc.Spec.IPFamilies {
		switch f {
		case corev1.IPv4Protocol:
			out = append(out, discoveryv1.AddressTypeIPv4)
		case corev1.IPv6Protocol:
			out = append(out, discoveryv1.AddressTypeIPv6)
		}
	}
	if len(out) == 0 {
		out = []discoveryv1.AddressType{discoveryv1.AddressTypeIPv4}
	}
	return out
}

// ComputeSliceEndpoints returns the desired slice endpoints of one address type: every pod
// with an IP of that family, including terminating ones (ready=false, terminating=true).
func ComputeSliceEndpoints(svc *corev1.Service, pods []*corev1.Pod, at discoveryv1.AddressType) []SliceEndpoint {
	fam := corev1.IPv4Protocol
	if at == discoveryv1.AddressTypeIPv6 {
		fam = corev1.IPv6Protocol
	}
	var out []SliceEndpoint
	for _, p := range pods {
		if !shouldPodBeInEndpoints(p, true) {
			continue
		}
		ip := podIP(p, fam)
		if ip == "" {
			continue
		}
		serving := isPodReady(p)
		terminating := p.DeletionTimestamp != nil
		ready := svc.Spec.PublishNotReadyAddresses || (serving && !terminating)
		ep := discoveryv1.Endpoint{
			Addresses:  []string{ip},
			Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(ready), Serving: ptr.To(serving), Terminating: ptr.To(terminating)},
			TargetRef:  podRef(p),
		}
		if p.Spec.NodeName != "" {
			ep.NodeName = ptr.To(p.Spec.NodeName)
		}
		if h := hostname(svc, p); h != "" {
			ep.Hostname = ptr.To(h)
		}
		ports := []discoveryv1.EndpointPort{}
		if !(len(svc.Spec.Ports) == 0 && isHeadless(svc)) {
			for i := range svc.Spec.Ports {
				sp := &svc.Spec.Ports[i]
				n, err := FindPort(p, sp)
				if err != nil {
					continue
				}
				ports = append(ports, discoveryv1.EndpointPort{Name: ptr.To(sp.Name), Port: ptr.To(n),
					Protocol: ptr.To(protocolOr(sp.Protocol)), AppProtocol: sp.AppProtocol})
			}
		}
		out = append(out, SliceEndpoint{Endpoint: ep, Ports: ports})
	}
	return out
}
