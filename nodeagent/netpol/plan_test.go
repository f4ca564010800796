package netpol

import (
	"net/netip"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

const testNode = "n1"

var testCIDRs = []netip.Prefix{netip.MustParsePrefix("10.244.0.0/24")}

func testPod(ns, name, node, ip string, lbls map[string]string, ports ...corev1.ContainerPort) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: lbls},
		Spec:       corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "c", Ports: ports}}},
		Status:     corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}}},
	}
}

func testNS(name string, lbls map[string]string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: lbls}}
}

// The cluster of the plan tests: node n1 (10.244.0.0/24) and a remote node n2.
var (
	testNamespaces = []*corev1.Namespace{testNS("prod", map[string]string{"team": "a"}), testNS("dev", map[string]string{"team": "b"})}
	ipServer       = "10.244.0.10"
	ipClient       = "10.244.0.11"
	ipOther        = "10.244.0.12"
	ipMonitor      = "10.244.1.13"
	ipDevClient    = "10.244.1.20"
	ipDevServer    = "10.244.0.21"
	ipRemoteServer = "10.244.1.22"
	ipHostNet      = "192.168.1.1"
	ipDone         = "10.244.1.30"
	httpPort       = corev1.ContainerPort{Name: "http", ContainerPort: 8080}
	testPods       = func() []*corev1.Pod {
		hostNet := testPod("prod", "hostnet", testNode, ipHostNet, map[string]string{"role": "client", "app": "server"})
		hostNet.Spec.HostNetwork = true
		done := testPod("prod", "done", "n2", ipDone, map[string]string{"role": "client"})
		done.Status.Phase = corev1.PodSucceeded
		return []*corev1.Pod{
			testPod("prod", "server", testNode, ipServer, map[string]string{"app": "server"}, httpPort),
			testPod("prod", "client", testNode, ipClient, map[string]string{"role": "client"}),
			testPod("prod", "other", testNode, ipOther, nil),
			testPod("prod", "monitor", "n2", ipMonitor, map[string]string{"role": "monitor"}),
			testPod("dev", "client", "n2", ipDevClient, map[string]string{"role": "client"}),
			testPod("dev", "server", testNode, ipDevServer, map[string]string{"app": "server"}, corev1.ContainerPort{Name: "http", ContainerPort: 9090}),
			testPod("prod", "remote-server", "n2", ipRemoteServer, map[string]string{"app": "server"}, httpPort),
			hostNet, done,
		}
	}()
)

func policy(ns, name string, sel map[string]string, types []networkingv1.PolicyType, f func(*networkingv1.NetworkPolicySpec)) *networkingv1.NetworkPolicy {
	np := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: networkingv1.NetworkPolicySpec{PodSelector: metav1.LabelSelector{MatchLabels: sel}, PolicyTypes: types}}
	if f != nil {
		f(&np.Spec)
	}
	return np
}

var (
	ingressOnly = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
	egressOnly  = []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}
	serverSel   = map[string]string{"app": "server"}
)

func podPeer(l map[string]string) networkingv1.NetworkPolicyPeer {
	return networkingv1.NetworkPolicyPeer{PodSelector: &metav1.LabelSelector{MatchLabels: l}}
}

func nsPeer(l map[string]string) networkingv1.NetworkPolicyPeer {
	return networkingv1.NetworkPolicyPeer{NamespaceSelector: &metav1.LabelSelector{MatchLabels: l}}
}

func tcpPort(p intstr.IntOrString) networkingv1.NetworkPolicyPort {
	return networkingv1.NetworkPolicyPort{Protocol: ptr.To(corev1.ProtocolTCP), Port: &p}
}

func allowFrom(ports []networkingv1.NetworkPolicyPort, peers ...networkingv1.NetworkPolicyPeer) func(*networkingv1.NetworkPolicySpec) {
	return func(s *networkingv1.NetworkPolicySpec) {
		s.Ingress = append(s.Ingress, networkingv1.NetworkPolicyIngressRule{From: peers, Ports: ports})
	}
}

func allowTo(ports []networkingv1.NetworkPolicyPort, peers ...networkingv1.NetworkPolicyPeer) func(*networkingv1.NetworkPolicySpec) {
	return func(s *networkingv1.NetworkPolicySpec) {
		s.Egress = append(s.Egress, networkingv1.NetworkPolicyEgressRule{To: peers, Ports: ports})
	}
}

// flow is one new connection and whether the plan must let it through.
type flow struct {
	src, dst string
	proto    string
	port     int32
	allowed  bool
}

func tcp(src, dst string, port int32, allowed bool) flow { return flow{src, dst, "tcp", port, allowed} }

func TestPlan(t *testing.T) {
	for _, tc := range []struct {
		name     string
		policies []*networkingv1.NetworkPolicy
		flows    []flow
		// ingress and egress are the isolated pods' addresses, when checked.
		ingress, egress []string
	}{
		{name: "no policies: everything flows",
			flows:   []flow{tcp(ipClient, ipServer, 8080, true), tcp(ipServer, ipClient, 22, true), tcp("8.8.8.8", ipServer, 80, true)},
			ingress: []string{}, egress: []string{}},
		{name: "default deny ingress",
			policies: []*networkingv1.NetworkPolicy{policy("prod", "deny", nil, ingressOnly, nil)},
			flows: []flow{tcp(ipClient, ipServer, 8080, false), tcp(ipDevClient, ipServer, 8080, false), tcp("8.8.8.8", ipServer, 80, false),
				tcp(ipServer, ipDevServer, 9090, true),    // egress is not restricted
				tcp(ipServer, "8.8.8.8", 443, true),       // nor egress off-cluster
				tcp(ipDevClient, ipDevServer, 9090, true), // another namespace's pods are not isolated
				tcp(ipServer, ipServer, 8080, true)},      // a pod cannot block access to itself
			ingress: []string{ipServer, ipClient, ipOther}, egress: []string{}},
		{name: "default deny egress",
			policies: []*networkingv1.NetworkPolicy{policy("prod", "deny", nil, egressOnly, nil)},
			flows: []flow{tcp(ipClient, ipServer, 8080, false), tcp(ipClient, "8.8.8.8", 53, false), tcp(ipClient, ipDevServer, 9090, false),
				tcp(ipDevClient, ipServer, 8080, true), tcp(ipClient, ipClient, 22, true)},
			ingress: []string{}, egress: []string{ipServer, ipClient, ipOther}},
		{name: "allow from a podSelector: the policy's namespace only",
			policies: []*networkingv1.NetworkPolicy{policy("prod", "allow", serverSel, ingressOnly,
				allowFrom(nil, podPeer(map[string]string{"role": "client"})))},
			flows: []flow{tcp(ipClient, ipServer, 8080, true), tcp(ipClient, ipServer, 1, true), tcp(ipOther, ipServer, 8080, false),
				tcp(ipDevClient, ipServer, 8080, false), tcp(ipHostNet, ipServer, 8080, false), tcp(ipDone, ipServer, 8080, false),
				tcp(ipOther, ipClient, 22, true)}, // the client is not selected
			ingress: []string{ipServer}},
		{name: "allow from a namespaceSelector: every pod of the namespaces",
			policies: []*networkingv1.NetworkPolicy{policy("dev", "allow", serverSel, ingressOnly,
				allowFrom(nil, nsPeer(map[string]string{"team": "a"})))},
			flows:   []flow{tcp(ipClient, ipDevServer, 9090, true), tcp(ipMonitor, ipDevServer, 9090, true), tcp(ipDevClient, ipDevServer, 9090, false)},
			ingress: []string{ipDevServer}},
		{name: "namespaceSelector and podSelector in one peer: both must match",
			policies: []*networkingv1.NetworkPolicy{policy("dev", "allow", serverSel, ingressOnly,
				allowFrom(nil, networkingv1.NetworkPolicyPeer{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"team": "a"}},
					PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"role": "client"}}}))},
			flows: []flow{tcp(ipClient, ipDevServer, 9090, true), tcp(ipMonitor, ipDevServer, 9090, false), tcp(ipDevClient, ipDevServer, 9090, false)}},
		{name: "two peers of one rule: either",
			policies: []*networkingv1.NetworkPolicy{policy("dev", "allow", serverSel, ingressOnly,
				allowFrom(nil, nsPeer(map[string]string{"team": "a"}), podPeer(map[string]string{"role": "client"})))},
			flows: []flow{tcp(ipMonitor, ipDevServer, 9090, true), tcp(ipDevClient, ipDevServer, 9090, true), tcp("8.8.8.8", ipDevServer, 9090, false)}},
		{name: "namespaceSelector on the kubernetes.io/metadata.name label",
			policies: []*networkingv1.NetworkPolicy{policy("prod", "allow", serverSel, ingressOnly,
				allowFrom(nil, nsPeer(map[string]string{corev1.LabelMetadataName: "dev"})))},
			flows: []flow{tcp(ipDevClient, ipServer, 8080, true), tcp(ipClient, ipServer, 8080, false)}},
		{name: "ipBlock with except",
			policies: []*networkingv1.NetworkPolicy{policy("prod", "allow", serverSel, ingressOnly,
				allowFrom(nil, networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: "10.0.0.0/8", Except: []string{"10.244.1.0/24", "10.244.1.128/25"}}}))},
			flows: []flow{tcp("10.2.0.5", ipServer, 8080, true), tcp(ipClient, ipServer, 8080, true), tcp(ipDevClient, ipServer, 8080, false),
				tcp("8.8.8.8", ipServer, 8080, false)}},
		{name: "egress to an ipBlock",
			policies: []*networkingv1.NetworkPolicy{policy("prod", "allow", map[string]string{"role": "client"}, egressOnly,
				allowTo(nil, networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: "8.8.8.0/24"}}))},
			flows:  []flow{tcp(ipClient, "8.8.8.8", 53, true), tcp(ipClient, ipServer, 8080, false), tcp(ipServer, ipClient, 22, true)},
			egress: []string{ipClient}},
		{name: "ingress named port resolves against the target pod",
			policies: []*networkingv1.NetworkPolicy{
				policy("prod", "http", serverSel, ingressOnly, allowFrom([]networkingv1.NetworkPolicyPort{tcpPort(intstr.FromString("http"))})),
				// dev's http port is TCP: a UDP rule on it admits nothing (and is no "all ports").
				policy("dev", "http", serverSel, ingressOnly, allowFrom([]networkingv1.NetworkPolicyPort{{Protocol: ptr.To(corev1.ProtocolUDP), Port: ptr.To(intstr.FromString("http"))}}))},
			flows: []flow{tcp(ipClient, ipServer, 8080, true), tcp(ipClient, ipServer, 9090, false),
				tcp(ipClient, ipDevServer, 9090, false), {ipClient, ipDevServer, "udp", 9090, false}},
			ingress: []string{ipServer, ipDevServer}},
		{name: "port range and protocol",
			policies: []*networkingv1.NetworkPolicy{policy("prod", "allow", serverSel, ingressOnly,
				allowFrom([]networkingv1.NetworkPolicyPort{{Protocol: ptr.To(corev1.ProtocolTCP), Port: ptr.To(intstr.FromInt32(8000)), EndPort: ptr.To[int32](8100)},
					{Protocol: ptr.To(corev1.ProtocolUDP), Port: ptr.To(intstr.FromInt32(53))}}))},
			flows: []flow{tcp(ipClient, ipServer, 8000, true), tcp(ipClient, ipServer, 8080, true), tcp(ipClient, ipServer, 8100, true),
				tcp(ipClient, ipServer, 8101, false), tcp(ipClient, ipServer, 7999, false), {ipClient, ipServer, "udp", 8080, false},
				{ipClient, ipServer, "udp", 53, true}, tcp(ipClient, ipServer, 53, false)}},
		{name: "a port without a number: every port of its protocol",
			policies: []*networkingv1.NetworkPolicy{policy("prod", "allow", serverSel, ingressOnly,
				allowFrom([]networkingv1.NetworkPolicyPort{{Protocol: ptr.To(corev1.ProtocolUDP)}}))},
			flows: []flow{{ipClient, ipServer, "udp", 5353, true}, tcp(ipClient, ipServer, 8080, false), {ipClient, ipServer, "sctp", 5353, false}}},
		{name: "policies add up",
			policies: []*networkingv1.NetworkPolicy{
				policy("prod", "clients", serverSel, ingressOnly, allowFrom([]networkingv1.NetworkPolicyPort{tcpPort(intstr.FromInt32(8080))}, podPeer(map[string]string{"role": "client"}))),
				policy("prod", "monitoring", serverSel, ingressOnly, allowFrom([]networkingv1.NetworkPolicyPort{tcpPort(intstr.FromInt32(9100))}, podPeer(map[string]string{"role": "monitor"}))),
				policy("prod", "deny-all", nil, ingressOnly, nil)},
			flows: []flow{tcp(ipClient, ipServer, 8080, true), tcp(ipClient, ipServer, 9100, false), tcp(ipMonitor, ipServer, 9100, true),
				tcp(ipMonitor, ipServer, 8080, false), tcp(ipServer, ipClient, 8080, false)}},
		{name: "an empty rule admits everybody; an empty from with ports every source on them",
			policies: []*networkingv1.NetworkPolicy{
				policy("prod", "all", map[string]string{"role": "client"}, ingressOnly, allowFrom(nil)),
				policy("prod", "web", serverSel, ingressOnly, allowFrom([]networkingv1.NetworkPolicyPort{tcpPort(intstr.FromInt32(8080))}))},
			flows: []flow{tcp("8.8.8.8", ipClient, 22, true), tcp("8.8.8.8", ipServer, 8080, true), tcp("8.8.8.8", ipServer, 22, false)}},
		{name: "pods of other nodes, hostNetwork pods and other namespaces' pods are not isolated here",
			policies: []*networkingv1.NetworkPolicy{policy("prod", "deny", nil, []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}, nil)},
			flows: []flow{tcp(ipClient, ipRemoteServer, 8080, false), // the client's egress is denied here
				tcp(ipDevClient, ipRemoteServer, 8080, true), tcp(ipDevClient, ipHostNet, 22, true), tcp(ipDevClient, ipDevServer, 9090, true)},
			ingress: []string{ipServer, ipClient, ipOther}, egress: []string{ipServer, ipClient, ipOther}},
		{name: "egress and ingress of two isolated pods must both admit",
			policies: []*networkingv1.NetworkPolicy{
				policy("prod", "client-out", map[string]string{"role": "client"}, egressOnly, allowTo(nil, podPeer(serverSel))),
				policy("prod", "server-in", serverSel, ingressOnly, allowFrom(nil, podPeer(map[string]string{"role": "monitor"})))},
			flows: []flow{tcp(ipClient, ipServer, 8080, false), tcp(ipMonitor, ipServer, 8080, true), tcp(ipClient, ipRemoteServer, 8080, true),
				tcp(ipClient, ipOther, 8080, false)}},
		{name: "egress named port resolves against each destination pod",
			policies: []*networkingv1.NetworkPolicy{policy("prod", "out", map[string]string{"role": "client"}, egressOnly,
				allowTo([]networkingv1.NetworkPolicyPort{tcpPort(intstr.FromString("http"))}, nsPeer(nil)))},
			flows: []flow{tcp(ipClient, ipServer, 8080, true), tcp(ipClient, ipDevServer, 9090, true), tcp(ipClient, ipDevServer, 8080, false),
				tcp(ipClient, ipServer, 9090, false), tcp(ipClient, ipOther, 8080, false), tcp(ipClient, "8.8.8.8", 8080, false)}},
		{name: "egress named and numbered ports to anybody",
			policies: []*networkingv1.NetworkPolicy{policy("prod", "out", map[string]string{"role": "client"}, egressOnly,
				allowTo([]networkingv1.NetworkPolicyPort{tcpPort(intstr.FromString("http")), {Protocol: ptr.To(corev1.ProtocolUDP), Port: ptr.To(intstr.FromInt32(53))}}))},
			flows: []flow{tcp(ipClient, ipDevServer, 9090, true), {ipClient, "8.8.8.8", "udp", 53, true}, tcp(ipClient, "8.8.8.8", 9090, false),
				tcp(ipClient, ipDevServer, 53, false)}},
		{name: "policyTypes default: Egress only with egress rules",
			policies: []*networkingv1.NetworkPolicy{
				policy("prod", "in", serverSel, nil, nil),
				policy("prod", "both", map[string]string{"role": "client"}, nil, allowTo(nil, podPeer(serverSel)))},
			flows: []flow{tcp(ipOther, ipServer, 8080, false), tcp(ipServer, ipOther, 22, true), tcp(ipClient, ipServer, 8080, false),
				tcp(ipClient, ipOther, 22, false), tcp(ipOther, ipClient, 22, false)},
			ingress: []string{ipServer, ipClient}, egress: []string{ipClient}},
		{name: "an Ingress-only policy with egress rules does not isolate egress",
			policies: []*networkingv1.NetworkPolicy{policy("prod", "in", serverSel, ingressOnly, allowTo(nil, podPeer(serverSel)))},
			flows:    []flow{tcp(ipServer, ipClient, 22, true)},
			ingress:  []string{ipServer}, egress: []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs := Plan(tc.policies, testPods, testNamespaces, testNode, testCIDRs)
			for _, f := range tc.flows {
				if got := rs.Allows(netip.MustParseAddr(f.src), netip.MustParseAddr(f.dst), f.proto, f.port); got != f.allowed {
					t.Errorf("%s -> %s %s/%d: allowed %v, want %v", f.src, f.dst, f.proto, f.port, got, f.allowed)
				}
			}
			checkIsolated(t, "ingress", rs.Ingress, tc.ingress)
			checkIsolated(t, "egress", rs.Egress, tc.egress)
		})
	}
}

func checkIsolated(t *testing.T, dir string, got map[netip.Addr]*PodRules, want []string) {
	t.Helper()
	if want == nil {
		return
	}
	if len(got) != len(want) {
		t.Errorf("%s-isolated pods: %d, want %v", dir, len(got), want)
	}
	for _, w := range want {
		if got[netip.MustParseAddr(w)] == nil {
			t.Errorf("%s: %s is not isolated", dir, w)
		}
	}
}

func TestPlanLocalPods(t *testing.T) {
	deny := []*networkingv1.NetworkPolicy{policy("prod", "deny", nil, ingressOnly, nil)}
	// A pod of this node with an address outside the node's CIDR (stale) is left alone.
	stray := testPod("prod", "stray", testNode, "10.9.0.1", nil)
	pending := testPod("prod", "pending", testNode, "", nil)
	rs := Plan(deny, []*corev1.Pod{stray, pending}, testNamespaces, testNode, testCIDRs)
	if len(rs.Ingress) != 0 {
		t.Errorf("isolated %v, want none", rs.Ingress)
	}
	// Without CIDRs, spec.nodeName decides.
	rs = Plan(deny, []*corev1.Pod{stray}, testNamespaces, testNode, nil)
	if len(rs.Ingress) != 1 {
		t.Errorf("isolated %v, want the stray pod", rs.Ingress)
	}
}
