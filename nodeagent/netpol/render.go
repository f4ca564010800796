package netpol

import (
	"net/netip"
	"sort"
	"strconv"
	"strings"

	"sigs.k8s.io/knftables"

	"github.com/skiff-dev/skiff/nodeagent/nftrules"
)

// Names of the fixed objects of the table.
const (
	chainForward        = "forward"
	mapIngressIsolated  = "ingress-isolated"
	mapEgressIsolated   = "egress-isolated"
	addrVerdictType     = "ipv4_addr : verdict"
	addrProtoPortType   = "ipv4_addr . inet_proto . inet_service"
	establishedAccept   = "ct state established,related accept"
	tableComment        = "rules for Skiff's NetworkPolicies"
	filterPriority      = string(knftables.FilterPriority)
	ingressChainsPrefix = "ingress"
	egressChainsPrefix  = "egress"
)

// render turns a plan into the table's content. Forwarded traffic (pod to pod, also through
// a Service, whose DNAT happened in prerouting) to an ingress-isolated pod jumps to that
// pod's ingress chain, from an egress-isolated pod to its egress chain; each chain returns
// what a rule admits and drops the rest, so a packet between two isolated pods passes both.
// Traffic between a pod and its own node (input and output: probes, the node's DNS) never
// crosses forward and is never filtered, as upstream. Replies and related packets of
// admitted connections pass.
func render(rs *Ruleset) *nftrules.Ruleset {
	r := nftrules.NewRuleset()
	r.AddChain(nftrules.BaseChain(chainForward, knftables.FilterType, knftables.ForwardHook, filterPriority),
		establishedAccept,
		"ip daddr vmap @"+mapIngressIsolated,
		"ip saddr vmap @"+mapEgressIsolated)
	r.AddMap(&knftables.Map{Name: mapIngressIsolated, Type: addrVerdictType})
	r.AddMap(&knftables.Map{Name: mapEgressIsolated, Type: addrVerdictType})

	for name, addrs := range rs.PeerSets {
		r.AddSet(&knftables.Set{Name: name, Type: "ipv4_addr"})
		for _, a := range addrs {
			r.AddElement(name, a.String(), "")
		}
	}
	for name, elems := range rs.PortSets {
		r.AddSet(&knftables.Set{Name: name, Type: addrProtoPortType})
		for _, e := range elems {
			r.AddElement(name, e.Addr.String()+" . "+e.Protocol+" . "+strconv.Itoa(int(e.Port)), "")
		}
	}
	renderPods(r, rs, rs.Ingress, ingressChainsPrefix, "saddr", mapIngressIsolated)
	renderPods(r, rs, rs.Egress, egressChainsPrefix, "daddr", mapEgressIsolated)
	return r
}

// renderPods writes one direction's pod chains and isolation map elements; peerField is the
// peer's address field (saddr for ingress, daddr for egress).
func renderPods(r *nftrules.Ruleset, rs *Ruleset, pods map[netip.Addr]*PodRules, prefix, peerField, isolated string) {
	for addr, pr := range pods {
		chain := nftrules.Name(prefix, pr.Pod.String())
		if r.Chains[chain] == nil {
			r.AddChain(&knftables.Chain{Name: chain}, podRules(pr, peerField)...)
		}
		r.AddElement(isolated, addr.String(), "jump "+chain)
	}
}

// podRules are a pod chain's rules: return for each admitted peer and port, then drop.
func podRules(pr *PodRules, peerField string) []string {
	var out []string
	seen := map[string]bool{}
	add := func(rule string) {
		if !seen[rule] {
			seen[rule] = true
			out = append(out, rule)
		}
	}
	for _, rule := range pr.Rules {
		if rule.PortSet != "" {
			add("ip " + peerField + " . meta l4proto . th dport @" + rule.PortSet + " return")
			continue
		}
		peer := peerMatch(rule.Peer, peerField)
		if len(rule.Ports) == 0 {
			add(strings.TrimSpace(peer + " return"))
			continue
		}
		for _, p := range rule.Ports {
			add(strings.TrimSpace(peer + " " + portMatch(p) + " return"))
		}
	}
	return append(out, "drop")
}

// peerMatch is the match of a rule's peer ("" for anybody).
func peerMatch(p Peer, field string) string {
	switch {
	case p.All:
		return ""
	case p.Set != "":
		return "ip " + field + " @" + p.Set
	}
	m := "ip " + field + " " + p.CIDR.String()
	if p.CIDR.IsSingleIP() {
		m = "ip " + field + " " + p.CIDR.Addr().String()
	}
	if ex := nftrules.Disjoint(append([]netip.Prefix(nil), p.Except...)); len(ex) > 0 {
		s := make([]string, len(ex))
		for i, e := range ex {
			s[i] = e.String()
		}
		sort.Strings(s)
		m += " ip " + field + " != { " + strings.Join(s, ", ") + " }"
	}
	return m
}

// portMatch is the match of one port: every port of the protocol, one port or a range.
func portMatch(p Port) string {
	switch {
	case p.From == 0:
		return "meta l4proto " + p.Protocol
	case p.To > p.From:
		return p.Protocol + " dport " + strconv.Itoa(int(p.From)) + "-" + strconv.Itoa(int(p.To))
	}
	return p.Protocol + " dport " + strconv.Itoa(int(p.From))
}
