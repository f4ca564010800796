package netpol

import (
	"context"
	"regexp"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/knftables"

	"github.com/skiff-dev/skiff/nodeagent/nftrules"
)

var hashRE = regexp.MustCompile(`\b(ingress|egress|peer|port)-[A-Z2-7]{8}-`)

// dump is the fake table's content with the name hashes removed, for readable tests.
func dump(f *knftables.Fake) string { return hashRE.ReplaceAllString(f.Dump(), "$1-") }

func apply(t *testing.T, f *knftables.Fake, old, want *nftrules.Ruleset) {
	t.Helper()
	if err := nftrules.Apply(context.Background(), f, tableComment, old, want); err != nil {
		t.Fatal(err)
	}
}

func TestRender(t *testing.T) {
	policies := []*networkingv1.NetworkPolicy{
		policy("prod", "web", serverSel, ingressOnly, func(s *networkingv1.NetworkPolicySpec) {
			allowFrom([]networkingv1.NetworkPolicyPort{tcpPort(intstr.FromString("http")), {Protocol: ptrProto(corev1.ProtocolUDP), Port: ptrPort(intstr.FromInt32(5000)), EndPort: ptrInt(5010)}},
				podPeer(map[string]string{"role": "client"}))(s)
			allowFrom(nil, networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: "10.0.0.0/8", Except: []string{"10.1.0.0/16", "10.1.2.0/24"}}})(s)
		}),
		policy("prod", "client-out", map[string]string{"role": "client"}, egressOnly,
			allowTo([]networkingv1.NetworkPolicyPort{tcpPort(intstr.FromString("http"))}, podPeer(serverSel))),
	}
	f := knftables.NewFake(knftables.IPv4Family, DefaultTableName)
	apply(t, f, nil, render(Plan(policies, testPods, testNamespaces, testNode, testCIDRs)))
	got := dump(f)
	for _, want := range []string{
		"add chain ip skiff-netpol forward { type filter hook forward priority 0 ; }",
		"add rule ip skiff-netpol forward ct state established,related accept",
		"add rule ip skiff-netpol forward ip daddr vmap @ingress-isolated",
		"add rule ip skiff-netpol forward ip saddr vmap @egress-isolated",
		"add rule ip skiff-netpol ingress-prod/server ip saddr 10.244.0.10 return",
		"add rule ip skiff-netpol egress-prod/client ip daddr 10.244.0.11 return",
		"add element ip skiff-netpol ingress-isolated { 10.244.0.10 : jump ingress-prod/server }",
		"add element ip skiff-netpol egress-isolated { 10.244.0.11 : jump egress-prod/client }",
		"add rule ip skiff-netpol ingress-prod/server ip saddr @peer-prod/web/ingress/0/0 tcp dport 8080 return",
		"add rule ip skiff-netpol ingress-prod/server ip saddr @peer-prod/web/ingress/0/0 udp dport 5000-5010 return",
		"add rule ip skiff-netpol ingress-prod/server ip saddr 10.0.0.0/8 ip saddr != { 10.1.0.0/16 } return",
		"add rule ip skiff-netpol ingress-prod/server drop",
		"add element ip skiff-netpol peer-prod/web/ingress/0/0 { 10.244.0.11 }",
		"add rule ip skiff-netpol egress-prod/client ip daddr . meta l4proto . th dport @port-prod/client-out/egress/0/0 return",
		"add element ip skiff-netpol port-prod/client-out/egress/0/0 { 10.244.0.10 . tcp . 8080 }",
		"add element ip skiff-netpol port-prod/client-out/egress/0/0 { 10.244.1.22 . tcp . 8080 }",
	} {
		if !strings.Contains(got, want+"\n") {
			t.Errorf("missing %q in\n%s", want, got)
		}
	}
	if strings.Contains(got, "10.244.0.21 . tcp . 9090") {
		t.Errorf("dev's server is not a peer of prod's policy:\n%s", got)
	}
}

// TestIncremental checks that partial syncs through a series of states leave the table
// exactly as a fresh full sync of the last state would, and that a restarted enforcer's full
// sync over an old table removes what is stale.
func TestIncremental(t *testing.T) {
	allowClients := policy("prod", "allow", serverSel, ingressOnly, allowFrom(nil, podPeer(map[string]string{"role": "client"})))
	deny := policy("prod", "deny", nil, []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}, nil)
	extra := testPod("prod", "client-2", testNode, "10.244.0.40", map[string]string{"role": "client"})
	states := []struct {
		policies []*networkingv1.NetworkPolicy
		pods     []*corev1.Pod
	}{
		{nil, testPods},
		{[]*networkingv1.NetworkPolicy{allowClients}, testPods},
		{[]*networkingv1.NetworkPolicy{allowClients}, append(append([]*corev1.Pod(nil), testPods...), extra)},
		{[]*networkingv1.NetworkPolicy{allowClients, deny}, testPods},
		{[]*networkingv1.NetworkPolicy{deny}, testPods[:2]},
		{nil, nil},
	}
	inc := knftables.NewFake(knftables.IPv4Family, DefaultTableName)
	var old *nftrules.Ruleset
	for i, st := range states {
		want := render(Plan(st.policies, st.pods, testNamespaces, testNode, testCIDRs))
		apply(t, inc, old, want)
		old = want
		fresh := knftables.NewFake(knftables.IPv4Family, DefaultTableName)
		apply(t, fresh, nil, want)
		if inc.Dump() != fresh.Dump() {
			t.Fatalf("state %d: partial syncs differ from a fresh full sync:\n--- partial\n%s\n--- full\n%s", i, inc.Dump(), fresh.Dump())
		}
	}
	restarted := knftables.NewFake(knftables.IPv4Family, DefaultTableName)
	apply(t, restarted, nil, render(Plan(states[3].policies, states[3].pods, testNamespaces, testNode, testCIDRs)))
	apply(t, restarted, nil, old)
	if restarted.Dump() != inc.Dump() {
		t.Fatalf("a full sync over an old table left stale objects:\n--- got\n%s\n--- want\n%s", restarted.Dump(), inc.Dump())
	}
}

func ptrProto(p corev1.Protocol) *corev1.Protocol      { return &p }
func ptrPort(p intstr.IntOrString) *intstr.IntOrString { return &p }
func ptrInt(i int32) *int32                            { return &i }
