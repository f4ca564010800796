package netpol

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/skiff-dev/skiff/nodeagent/nftrules"
)

// Ruleset is what one node enforces: for each isolated pod of the node (by its IPv4
// address), the traffic its policies allow, and the peer sets those rules name. It is the
// pure result of Plan; render turns it into nftables objects.
type Ruleset struct {
	// Ingress and Egress hold the pods isolated for that direction.
	Ingress map[netip.Addr]*PodRules
	Egress  map[netip.Addr]*PodRules
	// PeerSets are the pod addresses of the peers that rules name by set, by set name.
	PeerSets map[string][]netip.Addr
	// PortSets are the address . protocol . port triples of egress named-port rules.
	PortSets map[string][]AddrPort
}

// PodRules is the union of the rules of every policy that selects a pod for one direction:
// traffic matching any rule is allowed, everything else is dropped.
type PodRules struct {
	Pod   types.NamespacedName
	Rules []Rule
}

// Rule admits traffic whose peer (the source for ingress, the destination for egress)
// matches Peer and whose destination port matches one of Ports (none: every protocol and
// port). A Rule with PortSet set instead admits the peer address . protocol . port triples
// of that set.
type Rule struct {
	Peer    Peer
	Ports   []Port
	PortSet string
}

// Peer is who a rule admits: anybody, the addresses of a peer set, or an IP block.
type Peer struct {
	All    bool
	Set    string
	CIDR   netip.Prefix
	Except []netip.Prefix
}

// Port is a protocol ("tcp", "udp", "sctp") with every port (From 0) or the range From-To.
type Port struct {
	Protocol string
	From, To int32
}

// AddrPort is one address . protocol . port element of a PortSet.
type AddrPort struct {
	Addr     netip.Addr
	Protocol string
	Port     int32
}

// Direction names.
const (
	dirIngress = "ingress"
	dirEgress  = "egress"
)

// podInfo is a pod that takes part: its addresses, labels and ports.
type podInfo struct {
	pod   *corev1.Pod
	addrs []netip.Addr
}

// Plan computes what node nodeName enforces. Pods on the node (spec.nodeName, and, when
// localCIDRs are given, an address in one of them) selected by a policy with policy type
// Ingress are isolated for ingress, and likewise for Egress; peers are matched among all
// pods with IPv4 addresses. Pods with hostNetwork, without addresses or terminated neither
// are isolated nor match selectors, as upstream.
func Plan(policies []*networkingv1.NetworkPolicy, pods []*corev1.Pod, namespaces []*corev1.Namespace, nodeName string, localCIDRs []netip.Prefix) *Ruleset {
	rs := &Ruleset{Ingress: map[netip.Addr]*PodRules{}, Egress: map[netip.Addr]*PodRules{},
		PeerSets: map[string][]netip.Addr{}, PortSets: map[string][]AddrPort{}}
	nsLabels := map[string]labels.Set{}
	for _, ns := range namespaces {
		l := labels.Set{}
		for k, v := range ns.Labels {
			l[k] = v
		}
		l[corev1.LabelMetadataName] = ns.Name // set by the API server; here for old objects
		nsLabels[ns.Name] = l
	}
	var all []podInfo
	for _, p := range pods {
		if p.Spec.HostNetwork || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		if addrs := podAddrs(p); len(addrs) > 0 {
			all = append(all, podInfo{pod: p, addrs: addrs})
		}
	}
	sort.Slice(all, func(i, j int) bool { return podKey(all[i].pod) < podKey(all[j].pod) })
	policies = append([]*networkingv1.NetworkPolicy(nil), policies...)
	sort.Slice(policies, func(i, j int) bool {
		return policies[i].Namespace+"/"+policies[i].Name < policies[j].Namespace+"/"+policies[j].Name
	})

	for _, target := range all {
		if target.pod.Spec.NodeName != nodeName || !inAny(target.addrs, localCIDRs) {
			continue
		}
		for _, np := range policies {
			if np.Namespace != target.pod.Namespace || !selects(&np.Spec.PodSelector, target.pod.Labels) {
				continue
			}
			ingress, egress := policyTypes(np)
			if ingress {
				var rules []Rule
				for i, r := range np.Spec.Ingress {
					rules = append(rules, rs.ingressRules(np, i, r, target.pod, all, nsLabels)...)
				}
				rs.add(rs.Ingress, target, rules)
			}
			if egress {
				var rules []Rule
				for i, r := range np.Spec.Egress {
					rules = append(rules, rs.egressRules(np, i, r, all, nsLabels)...)
				}
				rs.add(rs.Egress, target, rules)
			}
		}
	}
	return rs
}

// add isolates target for one direction (even with no rules: deny all but itself) with more
// rules.
func (rs *Ruleset) add(m map[netip.Addr]*PodRules, target podInfo, rules []Rule) {
	for _, a := range target.addrs {
		pr := m[a]
		if pr == nil {
			// A pod cannot block access to itself (through a Service, hairpin), as upstream.
			pr = &PodRules{Pod: types.NamespacedName{Namespace: target.pod.Namespace, Name: target.pod.Name}}
			for _, self := range target.addrs {
				pr.Rules = append(pr.Rules, Rule{Peer: Peer{CIDR: netip.PrefixFrom(self, 32)}})
			}
			m[a] = pr
		}
		pr.Rules = append(pr.Rules, rules...)
	}
}

// policyTypes says which directions a policy isolates, defaulting as the API server does
// (Ingress always, Egress when it has egress rules).
func policyTypes(np *networkingv1.NetworkPolicy) (ingress, egress bool) {
	if len(np.Spec.PolicyTypes) == 0 {
		return true, len(np.Spec.Egress) > 0
	}
	for _, t := range np.Spec.PolicyTypes {
		switch t {
		case networkingv1.PolicyTypeIngress:
			ingress = true
		case networkingv1.PolicyTypeEgress:
			egress = true
		}
	}
	return ingress, egress
}

// ingressRules are the rules of one ingress rule of np for target: named ports resolve
// against the target's containers.
func (rs *Ruleset) ingressRules(np *networkingv1.NetworkPolicy, i int, r networkingv1.NetworkPolicyIngressRule, target *corev1.Pod, all []podInfo, nsLabels map[string]labels.Set) []Rule {
	var ports []Port
	for _, p := range r.Ports {
		ports = append(ports, resolvePort(p, target)...)
	}
	if len(r.Ports) > 0 && len(ports) == 0 {
		return nil // only named ports the target does not have: admits nothing
	}
	if len(r.From) == 0 {
		return []Rule{{Peer: Peer{All: true}, Ports: ports}}
	}
	var rules []Rule
	for j, peer := range r.From {
		rules = append(rules, Rule{Peer: rs.peer(np, dirIngress, i, j, peer, all, nsLabels), Ports: ports})
	}
	return rules
}

// egressRules are the rules of one egress rule of np: numbered ports apply to every peer;
// named ports resolve against each destination pod's containers (a set of address . protocol
// . port per peer).
func (rs *Ruleset) egressRules(np *networkingv1.NetworkPolicy, i int, r networkingv1.NetworkPolicyEgressRule, all []podInfo, nsLabels map[string]labels.Set) []Rule {
	var numbered []Port
	var named []networkingv1.NetworkPolicyPort
	for _, p := range r.Ports {
		if p.Port != nil && p.Port.Type == intstr.String {
			named = append(named, p)
		} else {
			numbered = append(numbered, resolvePort(p, nil)...)
		}
	}
	peers := r.To
	if len(peers) == 0 {
		peers = []networkingv1.NetworkPolicyPeer{{}} // everybody
	}
	var rules []Rule
	for j, peer := range peers {
		p := Peer{All: true}
		if len(r.To) > 0 {
			p = rs.peer(np, dirEgress, i, j, peer, all, nsLabels)
		}
		if len(r.Ports) == 0 || len(numbered) > 0 {
			rules = append(rules, Rule{Peer: p, Ports: numbered})
		}
		if len(named) == 0 {
			continue
		}
		name := setName("port", np, dirEgress, i, j)
		if _, done := rs.PortSets[name]; done { // computed for another target pod
			rules = append(rules, Rule{PortSet: name})
			continue
		}
		var elems []AddrPort
		for _, pi := range all {
			for _, a := range pi.addrs {
				if !p.matches(a, rs) {
					continue
				}
				for _, nport := range named {
					for _, port := range resolvePort(nport, pi.pod) {
						elems = append(elems, AddrPort{Addr: a, Protocol: port.Protocol, Port: port.From})
					}
				}
			}
		}
		rs.PortSets[name] = elems
		rules = append(rules, Rule{PortSet: name})
	}
	return rules
}

// peer resolves one peer of rule i of np: an IP block, or the set of the pods it selects.
func (rs *Ruleset) peer(np *networkingv1.NetworkPolicy, dir string, i, j int, peer networkingv1.NetworkPolicyPeer, all []podInfo, nsLabels map[string]labels.Set) Peer {
	if b := peer.IPBlock; b != nil {
		cidr, err := netip.ParsePrefix(b.CIDR)
		if err != nil || !cidr.Addr().Is4() {
			return Peer{Set: rs.emptySet(np, dir, i, j)} // validated by the API server; IPv6 is not enforced
		}
		p := Peer{CIDR: cidr.Masked()}
		for _, e := range b.Except {
			if ex, err := netip.ParsePrefix(e); err == nil && ex.Addr().Is4() {
				p.Except = append(p.Except, ex.Masked())
			}
		}
		return p
	}
	name := setName("peer", np, dir, i, j)
	if _, done := rs.PeerSets[name]; done { // computed for another target pod
		return Peer{Set: name}
	}
	var addrs []netip.Addr
	for _, pi := range all {
		if peerSelects(np.Namespace, peer, pi.pod, nsLabels) {
			addrs = append(addrs, pi.addrs...)
		}
	}
	rs.PeerSets[name] = addrs
	return Peer{Set: name}
}

func (rs *Ruleset) emptySet(np *networkingv1.NetworkPolicy, dir string, i, j int) string {
	name := setName("peer", np, dir, i, j)
	rs.PeerSets[name] = nil
	return name
}

// peerSelects tells whether a pod-selecting peer of a policy in namespace policyNS selects
// pod: a podSelector alone selects in the policy's namespace, a namespaceSelector alone every
// pod of the namespaces it selects, both together the pods matching both.
func peerSelects(policyNS string, peer networkingv1.NetworkPolicyPeer, pod *corev1.Pod, nsLabels map[string]labels.Set) bool {
	if peer.NamespaceSelector == nil {
		return pod.Namespace == policyNS && selects(peer.PodSelector, pod.Labels)
	}
	nl, ok := nsLabels[pod.Namespace]
	if !ok || !selects(peer.NamespaceSelector, nl) {
		return false
	}
	return peer.PodSelector == nil || selects(peer.PodSelector, pod.Labels)
}

// selects tells whether a label selector (nil: nothing; empty: everything) matches.
func selects(sel *metav1.LabelSelector, l map[string]string) bool {
	if sel == nil {
		return false
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return false // refused by validation; selects nothing
	}
	return s.Matches(labels.Set(l))
}

// resolvePort turns a policy port into ports: a numbered port (with endPort, a range), no
// port (all ports of the protocol), or a named port looked up in pod's containers (nil pod:
// named ports resolve to nothing).
func resolvePort(p networkingv1.NetworkPolicyPort, pod *corev1.Pod) []Port {
	proto := corev1.ProtocolTCP
	if p.Protocol != nil {
		proto = *p.Protocol
	}
	name := strings.ToLower(string(proto))
	if p.Port == nil {
		return []Port{{Protocol: name}}
	}
	if p.Port.Type == intstr.Int {
		port := Port{Protocol: name, From: p.Port.IntVal, To: p.Port.IntVal}
		if p.EndPort != nil && *p.EndPort > port.From {
			port.To = *p.EndPort
		}
		return []Port{port}
	}
	if pod == nil {
		return nil
	}
	var out []Port
	for _, cs := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for _, c := range cs {
			for _, cp := range c.Ports {
				cproto := cp.Protocol
				if cproto == "" {
					cproto = corev1.ProtocolTCP
				}
				if cp.Name == p.Port.StrVal && cproto == proto {
					out = append(out, Port{Protocol: name, From: cp.ContainerPort, To: cp.ContainerPort})
				}
			}
		}
	}
	return out
}

// matches tells whether address a is one of the peer's.
func (p Peer) matches(a netip.Addr, rs *Ruleset) bool {
	switch {
	case p.All:
		return true
	case p.Set != "":
		for _, x := range rs.PeerSets[p.Set] {
			if x == a {
				return true
			}
		}
		return false
	}
	if !p.CIDR.Contains(a) {
		return false
	}
	for _, e := range p.Except {
		if e.Contains(a) {
			return false
		}
	}
	return true
}

// Allows tells whether the ruleset lets a new connection from src to dst (protocol "tcp",
// "udp" or "sctp", destination port) through: the ingress rules of an isolated dst and the
// egress rules of an isolated src must both admit it. It is the semantics the nftables rules
// implement, for tests.
func (rs *Ruleset) Allows(src, dst netip.Addr, proto string, port int32) bool {
	if pr := rs.Ingress[dst]; pr != nil && !pr.admits(rs, src, proto, port) {
		return false
	}
	if pr := rs.Egress[src]; pr != nil && !pr.admits(rs, dst, proto, port) {
		return false
	}
	return true
}

func (pr *PodRules) admits(rs *Ruleset, peer netip.Addr, proto string, port int32) bool {
	for _, r := range pr.Rules {
		if r.PortSet != "" {
			for _, e := range rs.PortSets[r.PortSet] {
				if e.Addr == peer && e.Protocol == proto && e.Port == port {
					return true
				}
			}
			continue
		}
		if !r.Peer.matches(peer, rs) {
			continue
		}
		if len(r.Ports) == 0 {
			return true
		}
		for _, p := range r.Ports {
			if p.Protocol == proto && (p.From == 0 || (port >= p.From && port <= p.To)) {
				return true
			}
		}
	}
	return false
}

// podAddrs are a pod's IPv4 addresses.
func podAddrs(p *corev1.Pod) []netip.Addr {
	var out []netip.Addr
	seen := map[netip.Addr]bool{}
	ips := p.Status.PodIPs
	if len(ips) == 0 && p.Status.PodIP != "" {
		ips = []corev1.PodIP{{IP: p.Status.PodIP}}
	}
	for _, ip := range ips {
		a, err := netip.ParseAddr(ip.IP)
		if err != nil || !a.Is4() || seen[a] {
			continue
		}
		seen[a] = true
		out = append(out, a)
	}
	return out
}

// inAny tells whether one of addrs is in one of cidrs (no cidrs: true).
func inAny(addrs []netip.Addr, cidrs []netip.Prefix) bool {
	if len(cidrs) == 0 {
		return true
	}
	for _, a := range addrs {
		for _, c := range cidrs {
			if c.Contains(a) {
				return true
			}
		}
	}
	return false
}

func podKey(p *corev1.Pod) string { return p.Namespace + "/" + p.Name }

// setName names the set of peer j of rule i (direction dir) of np.
func setName(kind string, np *networkingv1.NetworkPolicy, dir string, i, j int) string {
	return nftrules.Name(kind, fmt.Sprintf("%s/%s/%s/%d/%d", np.Namespace, np.Name, dir, i, j))
}
