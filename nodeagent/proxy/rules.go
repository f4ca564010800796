package proxy

import (
	"net/netip"
	"strconv"
	"strings"
	"time"

	"sigs.k8s.io/knftables"

	"github.com/skiff-dev/skiff/nodeagent/nftrules"
)

// Names of the fixed objects of the table, as upstream's.
const (
	chainServices            = "services"
	chainMasquerading        = "masquerading"
	chainMarkForMasquerade   = "mark-for-masquerade"
	chainServiceEndpoints    = "service-endpoints-check"
	chainNodePortEndpoints   = "nodeport-endpoints-check"
	chainClusterIPsCheck     = "cluster-ips-check"
	chainReject              = "reject-chain"
	chainFirewallCheck       = "firewall-check"
	setClusterIPs            = "cluster-ips"
	mapServiceIPs            = "service-ips"
	mapServiceNodePorts      = "service-nodeports"
	mapNoEndpointServices    = "no-endpoint-services"
	mapNoEndpointNodePorts   = "no-endpoint-nodeports"
	mapFirewallIPs           = "firewall-ips"
	masqueradeBit            = "0x00004000"
	ipProtoPortVerdictType   = "ipv4_addr . inet_proto . inet_service : verdict"
	protoPortVerdictType     = "inet_proto . inet_service : verdict"
	filterPriorityMinus10    = "-110"
	dstnatPriorityPlus10     = "-90"
	dstnatPriorityMinus10    = "-110"
	loopbackExcluded         = "ip daddr != 127.0.0.0/8"
	nodePortLocalDestination = "fib daddr type local"
)

// genConfig is what rule generation depends on besides the services.
type genConfig struct {
	// localCIDRs are the sources counted as in-cluster (the node's pod CIDR); traffic from
	// anywhere else to a ClusterIP is masqueraded. None: no such masquerading.
	localCIDRs []netip.Prefix
	// nodePortAddresses restricts NodePorts to these local addresses; none: every local
	// address but loopback.
	nodePortAddresses []netip.Prefix
	// serviceCIDRs: traffic to unallocated addresses in them is dropped.
	serviceCIDRs []netip.Prefix
	// nodeIPs are this node's addresses: a loadBalancerSourceRanges entry holding one of them
	// also admits the service's load balancer IPs as sources (upstream's allowFromNode).
	nodeIPs []netip.Addr
}

// svcEndpoints is a service port with the endpoints of its slices.
type svcEndpoints struct {
	sp  servicePort
	eps []endpoint
}

func cidrList(ps []netip.Prefix) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	if len(s) == 1 {
		return s[0]
	}
	return "{ " + strings.Join(s, ", ") + " }"
}

// buildRuleset computes the table's whole desired content.
func buildRuleset(cfg genConfig, services []svcEndpoints) *nftrules.Ruleset {
	r := nftrules.NewRuleset()

	// Base chains: filtering of services without endpoints and of load balancer sources
	// before DNAT, DNAT, masquerading.
	r.AddChain(nftrules.BaseChain("filter-prerouting", knftables.FilterType, knftables.PreroutingHook, filterPriorityMinus10),
		"ct state new jump "+chainFirewallCheck)
	r.AddChain(nftrules.BaseChain("filter-input", knftables.FilterType, knftables.InputHook, filterPriorityMinus10),
		"ct state new jump "+chainNodePortEndpoints, "ct state new jump "+chainServiceEndpoints)
	r.AddChain(nftrules.BaseChain("filter-forward", knftables.FilterType, knftables.ForwardHook, filterPriorityMinus10),
		"ct state new jump "+chainServiceEndpoints, "ct state new jump "+chainClusterIPsCheck)
	r.AddChain(nftrules.BaseChain("filter-output", knftables.FilterType, knftables.OutputHook, filterPriorityMinus10),
		"ct state new jump "+chainServiceEndpoints, "ct state new jump "+chainFirewallCheck)
	r.AddChain(nftrules.BaseChain("filter-output-post-dnat", knftables.FilterType, knftables.OutputHook, dstnatPriorityPlus10),
		"ct state new jump "+chainClusterIPsCheck)
	r.AddChain(nftrules.BaseChain("nat-prerouting", knftables.NATType, knftables.PreroutingHook, string(knftables.DNATPriority)),
		"jump "+chainServices)
	r.AddChain(nftrules.BaseChain("nat-output", knftables.NATType, knftables.OutputHook, string(knftables.DNATPriority)),
		"jump "+chainServices)
	r.AddChain(nftrules.BaseChain("nat-postrouting", knftables.NATType, knftables.PostroutingHook, string(knftables.SNATPriority)),
		"jump "+chainMasquerading)

	r.AddChain(&knftables.Chain{Name: chainMarkForMasquerade}, "mark set mark or "+masqueradeBit)
	r.AddChain(&knftables.Chain{Name: chainMasquerading},
		"mark and "+masqueradeBit+" == 0 return",
		"mark set mark xor "+masqueradeBit,
		"masquerade fully-random")
	nodePortMatch := nodePortLocalDestination + " " + loopbackExcluded
	if len(cfg.nodePortAddresses) > 0 {
		nodePortMatch = "ip daddr " + cidrList(cfg.nodePortAddresses)
	}
	r.AddChain(&knftables.Chain{Name: chainServices},
		"ip daddr . meta l4proto . th dport vmap @"+mapServiceIPs,
		nodePortMatch+" meta l4proto . th dport vmap @"+mapServiceNodePorts)
	r.AddChain(&knftables.Chain{Name: chainServiceEndpoints},
		"ip daddr . meta l4proto . th dport vmap @"+mapNoEndpointServices)
	r.AddChain(&knftables.Chain{Name: chainNodePortEndpoints},
		nodePortMatch+" meta l4proto . th dport vmap @"+mapNoEndpointNodePorts)
	clusterIPsCheck := []string{"ip daddr @" + setClusterIPs + " reject"}
	if len(cfg.serviceCIDRs) > 0 {
		clusterIPsCheck = append(clusterIPsCheck, "ip daddr "+cidrList(cfg.serviceCIDRs)+" drop")
	}
	r.AddChain(&knftables.Chain{Name: chainClusterIPsCheck}, clusterIPsCheck...)
	r.AddChain(&knftables.Chain{Name: chainReject}, "reject")
	r.AddChain(&knftables.Chain{Name: chainFirewallCheck},
		"ip daddr . meta l4proto . th dport vmap @"+mapFirewallIPs)

	r.AddSet(&knftables.Set{Name: setClusterIPs, Type: "ipv4_addr"})
	for _, m := range []*knftables.Map{
		{Name: mapServiceIPs, Type: ipProtoPortVerdictType},
		{Name: mapServiceNodePorts, Type: protoPortVerdictType},
		{Name: mapNoEndpointServices, Type: ipProtoPortVerdictType},
		{Name: mapNoEndpointNodePorts, Type: protoPortVerdictType},
		{Name: mapFirewallIPs, Type: ipProtoPortVerdictType},
	} {
		r.AddMap(m)
	}

	for _, s := range services {
		addService(r, cfg, s.sp, s.eps)
	}
	return r
}

// addService writes one service port: its chains, map elements and affinity sets.
func addService(r *nftrules.Ruleset, cfg genConfig, sp servicePort, eps []endpoint) {
	proto := sp.protocol
	port := strconv.Itoa(int(sp.port))
	clusterEps := usable(eps, false)
	localEps := usable(eps, true)
	hasEndpoints := len(clusterEps) > 0
	internalEps, externalEps := clusterEps, clusterEps
	if sp.internalLocal {
		internalEps = localEps
	}
	if sp.externalLocal {
		externalEps = localEps
	}
	clusterChain := chainName("service", sp.name)
	localChain := chainName("local", sp.name)
	externalChain := chainName("external", sp.name)
	internalChain := clusterChain
	if sp.internalLocal {
		internalChain = localChain
	}
	// With no endpoints at all: reject; with endpoints only elsewhere (policy Local): drop.
	noEndpointVerdict := "goto " + chainReject
	if hasEndpoints {
		noEndpointVerdict = "drop"
	}

	// Endpoint chains (with their affinity sets) for every endpoint any policy chain uses.
	// Policy chains: the cluster-wide one and the node-local one, as needed.
	needCluster := len(clusterEps) > 0 && (!sp.internalLocal || (len(sp.externalIPs) > 0 || sp.nodePort > 0))
	needLocal := (sp.internalLocal && len(internalEps) > 0) || (sp.externalLocal && len(externalEps) > 0)
	used := map[string]endpoint{}
	if needCluster {
		for _, e := range clusterEps {
			used[e.String()] = e
		}
	}
	if needLocal {
		for _, e := range localEps {
			used[e.String()] = e
		}
	}
	for _, e := range used {
		name := endpointChainName(sp.name, e)
		rules := []string{"ip saddr " + e.ip + " jump " + chainMarkForMasquerade}
		if sp.affinitySeconds > 0 {
			set := affinitySetName(sp, e)
			r.Sets[set] = &knftables.Set{Name: set, Type: "ipv4_addr",
				Flags:   []knftables.SetFlag{knftables.DynamicFlag, knftables.TimeoutFlag},
				Timeout: knftables.PtrTo(time.Duration(sp.affinitySeconds) * time.Second)}
			rules = append(rules, "update @"+set+" { ip saddr }")
		}
		rules = append(rules, "meta l4proto "+proto+" dnat to "+e.String())
		r.AddChain(&knftables.Chain{Name: name}, rules...)
	}

	if needCluster {
		r.AddChain(&knftables.Chain{Name: clusterChain}, balance(sp, clusterEps)...)
	}
	if needLocal {
		r.AddChain(&knftables.Chain{Name: localChain}, balance(sp, localEps)...)
	}

	// ClusterIPs.
	for _, ip := range sp.clusterIPs {
		r.AddElement(setClusterIPs, ip, "")
		key := ip + " . " + proto + " . " + port
		if len(internalEps) == 0 {
			r.AddElement(mapNoEndpointServices, key, noEndpointVerdict)
			continue
		}
		r.AddElement(mapServiceIPs, key, "goto "+internalChain)
		// Masquerade traffic from outside the cluster: the reply must come back through here.
		if len(cfg.localCIDRs) > 0 {
			c := r.Chains[internalChain]
			c.Rules = append([]string{"ip daddr " + ip + " " + proto + " dport " + port +
				" ip saddr != " + cidrList(cfg.localCIDRs) + " jump " + chainMarkForMasquerade}, c.Rules...)
		}
	}

	// loadBalancerSourceRanges: traffic to the load balancer IPs from other sources is
	// dropped, with or without endpoints (as upstream, NodePorts and externalIPs are not
	// restricted).
	if len(sp.loadBalancerIPs) > 0 && len(sp.sourceRanges) > 0 {
		fw := chainName("firewall", sp.name)
		r.AddChain(&knftables.Chain{Name: fw}, "ip saddr != "+cidrList(firewallSources(cfg, sp))+" drop")
		for _, ip := range sp.loadBalancerIPs {
			r.AddElement(mapFirewallIPs, ip+" . "+proto+" . "+port, "goto "+fw)
		}
	}

	// External destinations: NodePort, externalIPs, LoadBalancer ingress IPs.
	if sp.nodePort == 0 && len(sp.externalIPs) == 0 {
		return
	}
	nodePortKey := proto + " . " + strconv.Itoa(int(sp.nodePort))
	if len(externalEps) == 0 {
		for _, ip := range sp.externalIPs {
			r.AddElement(mapNoEndpointServices, ip+" . "+proto+" . "+port, noEndpointVerdict)
		}
		if sp.nodePort > 0 {
			r.AddElement(mapNoEndpointNodePorts, nodePortKey, noEndpointVerdict)
		}
		return
	}
	var ext []string
	if !sp.externalLocal {
		// Policy Cluster: masquerade, so that the reply returns through this node.
		ext = []string{"jump " + chainMarkForMasquerade, "goto " + clusterChain}
	} else {
		// Policy Local keeps the client's address; traffic from this node itself and from its
		// pods may still go to any endpoint.
		ext = []string{
			"fib saddr type local jump " + chainMarkForMasquerade,
			"fib saddr type local goto " + clusterChain,
		}
		if len(cfg.localCIDRs) > 0 {
			ext = append(ext, "ip saddr "+cidrList(cfg.localCIDRs)+" goto "+clusterChain)
		}
		ext = append(ext, "goto "+localChain)
	}
	r.AddChain(&knftables.Chain{Name: externalChain}, ext...)
	for _, ip := range sp.externalIPs {
		r.AddElement(mapServiceIPs, ip+" . "+proto+" . "+port, "goto "+externalChain)
	}
	if sp.nodePort > 0 {
		r.AddElement(mapServiceNodePorts, nodePortKey, "goto "+externalChain)
	}
}

// firewallSources are the sources a load balancer IP admits: the service's source ranges and,
// when one of them holds a node IP, the load balancer IPs themselves (a node that has an LB IP
// as a local address reaches it from that address). Prefixes inside others are left out:
// nft refuses overlapping intervals in one set.
func firewallSources(cfg genConfig, sp servicePort) []netip.Prefix {
	src := append([]netip.Prefix(nil), sp.sourceRanges...)
	allowFromNode := false
	for _, p := range sp.sourceRanges {
		for _, ip := range cfg.nodeIPs {
			if p.Contains(ip) {
				allowFromNode = true
			}
		}
	}
	if allowFromNode {
		for _, ip := range sp.loadBalancerIPs {
			if a, err := netip.ParseAddr(ip); err == nil {
				src = append(src, netip.PrefixFrom(a, 32))
			}
		}
	}
	return nftrules.Disjoint(src)
}

// balance returns a policy chain's rules: affinity first, then one endpoint at random.
func balance(sp servicePort, eps []endpoint) []string {
	var rules []string
	if sp.affinitySeconds > 0 {
		for _, e := range eps {
			rules = append(rules, "ip saddr @"+affinitySetName(sp, e)+" goto "+endpointChainName(sp.name, e))
		}
	}
	if len(eps) == 0 {
		return rules
	}
	vmap := make([]string, len(eps))
	for i, e := range eps {
		vmap[i] = strconv.Itoa(i) + " : goto " + endpointChainName(sp.name, e)
	}
	return append(rules, "numgen random mod "+strconv.Itoa(len(eps))+" vmap { "+strings.Join(vmap, " , ")+" }")
}

// chainName is upstream's "<prefix>-<hash>-<ns>/<svc>/<proto>/<port>": the hash keeps names
// unique however they are cut; nft names are at most 256 characters.
func chainName(prefix, name string) string { return nftrules.Name(prefix, name) }

func endpointChainName(svcPortName string, e endpoint) string {
	return chainName("endpoint", svcPortName+"__"+e.nameSuffix())
}

// affinitySetName includes the timeout in its hash: a set's timeout cannot change in place,
// so a new timeout makes a new set.
func affinitySetName(sp servicePort, e endpoint) string {
	name := sp.name + "__" + e.nameSuffix()
	n := "affinity-" + nftrules.Hash(name+"/"+strconv.Itoa(int(sp.affinitySeconds))) + "-" + name
	if len(n) > knftables.NameLengthMax {
		n = n[:knftables.NameLengthMax]
	}
	return n
}

func itoa(i int64) string { return strconv.FormatInt(i, 10) }
