package proxy

import (
	"context"
	"fmt"
	"net/netip"
	"regexp"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/knftables"

	"github.com/skiff-dev/skiff/nodeagent/nftrules"
)

const testNode = "node-a"

func testService(name, clusterIP string, mutate ...func(*corev1.Service)) *corev1.Service {
	s := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name},
		Spec: corev1.ServiceSpec{
			Type: corev1.ServiceTypeClusterIP, ClusterIP: clusterIP, ClusterIPs: []string{clusterIP},
			Ports: []corev1.ServicePort{{Name: "http", Protocol: corev1.ProtocolTCP, Port: 80}},
		},
	}
	for _, m := range mutate {
		m(s)
	}
	return s
}

// ep is an endpoint of a test slice: "ip" ready on another node; options below.
type ep struct {
	ip                      string
	notReady, term, serving bool
	local                   bool
}

func testSlice(svc string, port int32, eps ...ep) *discoveryv1.EndpointSlice {
	s := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: "default", Name: svc + "-x", Labels: map[string]string{labelServiceName: svc}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http"), Protocol: ptr.To(corev1.ProtocolTCP), Port: ptr.To(port)}},
	}
	for _, e := range eps {
		node := "node-b"
		if e.local {
			node = testNode
		}
		s.Endpoints = append(s.Endpoints, discoveryv1.Endpoint{
			Addresses: []string{e.ip}, NodeName: ptr.To(node),
			Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(!e.notReady), Serving: ptr.To(!e.notReady || e.serving),
				Terminating: ptr.To(e.term)},
		})
	}
	return s
}

func snapshotOf(svcs []*corev1.Service, slices []*discoveryv1.EndpointSlice) []svcEndpoints {
	var out []svcEndpoints
	for _, svc := range svcs {
		var mine []*discoveryv1.EndpointSlice
		for _, s := range slices {
			if s.Labels[labelServiceName] == svc.Name {
				mine = append(mine, s)
			}
		}
		eps := sliceEndpoints(mine, testNode)
		for _, sp := range servicePorts(svc) {
			out = append(out, svcEndpoints{sp: sp, eps: eps[portKey(sp.portName, sp.protocol)]})
		}
	}
	return out
}

var hashRE = regexp.MustCompile(`\b(service|local|external|endpoint|affinity|firewall)-[A-Z2-7]{8}-`)

// dump is the fake table's content with the chain-name hashes removed, for readable tests.
func dump(f *knftables.Fake) string { return hashRE.ReplaceAllString(f.Dump(), "$1-") }

func applyTo(t *testing.T, f *knftables.Fake, old, want *nftrules.Ruleset) {
	t.Helper()
	var staleChains, staleSets []string
	if old == nil {
		var err error
		if staleChains, staleSets, err = nftrules.Existing(context.Background(), f); err != nil {
			t.Fatal(err)
		}
	}
	tx := f.NewTransaction()
	nftrules.WriteTransaction(tx, tableComment, old, want, staleChains, staleSets)
	if err := f.Run(context.Background(), tx); err != nil {
		t.Fatalf("transaction failed: %v\n%s", err, tx.String())
	}
}

func TestRules(t *testing.T) {
	nodePort := func(s *corev1.Service) {
		s.Spec.Type = corev1.ServiceTypeNodePort
		s.Spec.Ports[0].NodePort = 30080
	}
	lb := func(s *corev1.Service) {
		nodePort(s)
		s.Spec.Type = corev1.ServiceTypeLoadBalancer
		s.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: "192.0.2.50"}}
	}
	etpLocal := func(s *corev1.Service) { s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal }
	two := testSlice("web", 8080, ep{ip: "10.244.1.5"}, ep{ip: "10.244.2.6"})
	const table = "add element ip skiff-proxy "
	const rule = "add rule ip skiff-proxy "
	tests := []struct {
		name     string
		gen      genConfig
		svcs     []*corev1.Service
		slices   []*discoveryv1.EndpointSlice
		want     []string
		dontWant []string
	}{{
		name: "ClusterIP to two ready endpoints with equal probability",
		svcs: []*corev1.Service{testService("web", "10.96.0.10")}, slices: []*discoveryv1.EndpointSlice{two},
		want: []string{
			table + "cluster-ips { 10.96.0.10 }",
			table + "service-ips { 10.96.0.10 . tcp . 80 : goto service-default/web/tcp/http }",
			rule + "service-default/web/tcp/http numgen random mod 2 vmap { 0 : goto endpoint-default/web/tcp/http__10.244.1.5/8080 , 1 : goto endpoint-default/web/tcp/http__10.244.2.6/8080 }",
			rule + "endpoint-default/web/tcp/http__10.244.1.5/8080 ip saddr 10.244.1.5 jump mark-for-masquerade",
			rule + "endpoint-default/web/tcp/http__10.244.1.5/8080 meta l4proto tcp dnat to 10.244.1.5:8080",
			rule + "services ip daddr . meta l4proto . th dport vmap @service-ips",
			rule + "services fib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @service-nodeports",
			rule + "masquerading masquerade fully-random",
		},
		dontWant: []string{table + "no-endpoint-services"},
	}, {
		name: "off-cluster sources to a ClusterIP are masqueraded",
		gen:  genConfig{localCIDRs: []netip.Prefix{netip.MustParsePrefix("10.244.1.0/24")}},
		svcs: []*corev1.Service{testService("web", "10.96.0.10")}, slices: []*discoveryv1.EndpointSlice{two},
		want: []string{rule + "service-default/web/tcp/http ip daddr 10.96.0.10 tcp dport 80 ip saddr != 10.244.1.0/24 jump mark-for-masquerade"},
	}, {
		name: "no endpoints: reject",
		svcs: []*corev1.Service{testService("web", "10.96.0.10")}, slices: []*discoveryv1.EndpointSlice{testSlice("web", 8080)},
		want: []string{
			table + "no-endpoint-services { 10.96.0.10 . tcp . 80 : goto reject-chain }",
			rule + "reject-chain reject",
		},
		dontWant: []string{"service-ips { 10.96.0.10", "add chain ip skiff-proxy service-default/web"},
	}, {
		name: "not-ready endpoints are skipped; serving terminating ones used only when none is ready",
		svcs: []*corev1.Service{testService("web", "10.96.0.10"), testService("old", "10.96.0.11")},
		slices: []*discoveryv1.EndpointSlice{
			testSlice("web", 8080, ep{ip: "10.244.1.5"}, ep{ip: "10.244.1.6", notReady: true}, ep{ip: "10.244.1.7", notReady: true, term: true, serving: true}),
			testSlice("old", 8080, ep{ip: "10.244.1.8", notReady: true, term: true, serving: true}, ep{ip: "10.244.1.9", notReady: true, term: true}),
		},
		want: []string{
			rule + "service-default/web/tcp/http numgen random mod 1 vmap { 0 : goto endpoint-default/web/tcp/http__10.244.1.5/8080 }",
			rule + "service-default/old/tcp/http numgen random mod 1 vmap { 0 : goto endpoint-default/old/tcp/http__10.244.1.8/8080 }",
		},
		dontWant: []string{"10.244.1.6", "10.244.1.7", "10.244.1.9"},
	}, {
		name: "NodePort with externalTrafficPolicy Cluster is masqueraded",
		svcs: []*corev1.Service{testService("web", "10.96.0.10", nodePort)}, slices: []*discoveryv1.EndpointSlice{two},
		want: []string{
			table + "service-nodeports { tcp . 30080 : goto external-default/web/tcp/http }",
			rule + "external-default/web/tcp/http jump mark-for-masquerade",
			rule + "external-default/web/tcp/http goto service-default/web/tcp/http",
		},
	}, {
		name: "NodePorts only on the given addresses",
		gen:  genConfig{nodePortAddresses: []netip.Prefix{netip.MustParsePrefix("192.0.2.1/32")}},
		svcs: []*corev1.Service{testService("web", "10.96.0.10", nodePort)}, slices: []*discoveryv1.EndpointSlice{two},
		want: []string{rule + "services ip daddr 192.0.2.1/32 meta l4proto . th dport vmap @service-nodeports"},
	}, {
		name:   "LoadBalancer ingress IP and externalIPs go to the external chain",
		svcs:   []*corev1.Service{testService("web", "10.96.0.10", lb, func(s *corev1.Service) { s.Spec.ExternalIPs = []string{"198.51.100.7"} })},
		slices: []*discoveryv1.EndpointSlice{two},
		want: []string{
			table + "service-ips { 192.0.2.50 . tcp . 80 : goto external-default/web/tcp/http }",
			table + "service-ips { 198.51.100.7 . tcp . 80 : goto external-default/web/tcp/http }",
			table + "service-nodeports { tcp . 30080 : goto external-default/web/tcp/http }",
		},
	}, {
		name: "loadBalancerSourceRanges: other sources to the LB IP are dropped, NodePort and externalIPs are not restricted",
		svcs: []*corev1.Service{testService("web", "10.96.0.10", lb, func(s *corev1.Service) {
			s.Spec.ExternalIPs = []string{"198.51.100.7"}
			s.Spec.LoadBalancerSourceRanges = []string{"203.0.113.0/24", " 10.1.0.0/16", "10.1.2.0/24", "2001:db8::/32"}
		})},
		slices: []*discoveryv1.EndpointSlice{two},
		want: []string{
			table + "firewall-ips { 192.0.2.50 . tcp . 80 : goto firewall-default/web/tcp/http }",
			rule + "firewall-default/web/tcp/http ip saddr != { 10.1.0.0/16, 203.0.113.0/24 } drop",
			rule + "firewall-check ip daddr . meta l4proto . th dport vmap @firewall-ips",
			rule + "filter-prerouting ct state new jump firewall-check",
			rule + "filter-output ct state new jump firewall-check",
			table + "service-ips { 192.0.2.50 . tcp . 80 : goto external-default/web/tcp/http }",
		},
		dontWant: []string{"198.51.100.7 . tcp . 80 : goto firewall", "tcp . 30080 : goto firewall", "10.1.2.0/24", "2001:db8"},
	}, {
		name: "loadBalancerSourceRanges holding the node IP admit the LB IP itself as a source",
		gen:  genConfig{nodeIPs: []netip.Addr{netip.MustParseAddr("203.0.113.9")}},
		svcs: []*corev1.Service{testService("web", "10.96.0.10", lb, func(s *corev1.Service) {
			s.Spec.LoadBalancerSourceRanges = []string{"203.0.113.0/24"}
		})},
		slices: []*discoveryv1.EndpointSlice{two},
		want:   []string{rule + "firewall-default/web/tcp/http ip saddr != { 192.0.2.50/32, 203.0.113.0/24 } drop"},
	}, {
		name: "loadBalancerSourceRanges apply without endpoints too; a single range",
		gen:  genConfig{nodeIPs: []netip.Addr{netip.MustParseAddr("198.51.100.1")}},
		svcs: []*corev1.Service{testService("web", "10.96.0.10", lb, func(s *corev1.Service) {
			s.Spec.LoadBalancerSourceRanges = []string{"203.0.113.0/24"}
		})},
		slices: []*discoveryv1.EndpointSlice{testSlice("web", 8080)},
		want: []string{
			table + "firewall-ips { 192.0.2.50 . tcp . 80 : goto firewall-default/web/tcp/http }",
			rule + "firewall-default/web/tcp/http ip saddr != 203.0.113.0/24 drop",
			table + "no-endpoint-services { 192.0.2.50 . tcp . 80 : goto reject-chain }",
		},
	}, {
		name:     "no loadBalancerSourceRanges: every source",
		svcs:     []*corev1.Service{testService("web", "10.96.0.10", lb)},
		slices:   []*discoveryv1.EndpointSlice{two},
		dontWant: []string{"add element ip skiff-proxy firewall-ips", "firewall-default"},
	}, {
		name: "LoadBalancer ingress with ipMode Proxy is not programmed",
		svcs: []*corev1.Service{testService("web", "10.96.0.10", lb, func(s *corev1.Service) {
			s.Status.LoadBalancer.Ingress[0].IPMode = ptr.To(corev1.LoadBalancerIPModeProxy)
		})},
		slices:   []*discoveryv1.EndpointSlice{two},
		dontWant: []string{"192.0.2.50"},
	}, {
		name: "externalTrafficPolicy Local without local endpoints drops external traffic, ClusterIP still works",
		svcs: []*corev1.Service{testService("web", "10.96.0.10", lb, etpLocal)}, slices: []*discoveryv1.EndpointSlice{two},
		want: []string{
			table + "no-endpoint-nodeports { tcp . 30080 : drop }",
			table + "no-endpoint-services { 192.0.2.50 . tcp . 80 : drop }",
			table + "service-ips { 10.96.0.10 . tcp . 80 : goto service-default/web/tcp/http }",
		},
		dontWant: []string{"external-default/web", "service-nodeports { tcp . 30080"},
	}, {
		name:   "externalTrafficPolicy Local with a local endpoint",
		gen:    genConfig{localCIDRs: []netip.Prefix{netip.MustParsePrefix("10.244.1.0/24")}},
		svcs:   []*corev1.Service{testService("web", "10.96.0.10", nodePort, etpLocal)},
		slices: []*discoveryv1.EndpointSlice{testSlice("web", 8080, ep{ip: "10.244.1.5", local: true}, ep{ip: "10.244.2.6"})},
		want: []string{
			rule + "external-default/web/tcp/http fib saddr type local jump mark-for-masquerade",
			rule + "external-default/web/tcp/http fib saddr type local goto service-default/web/tcp/http",
			rule + "external-default/web/tcp/http ip saddr 10.244.1.0/24 goto service-default/web/tcp/http",
			rule + "external-default/web/tcp/http goto local-default/web/tcp/http",
			rule + "local-default/web/tcp/http numgen random mod 1 vmap { 0 : goto endpoint-default/web/tcp/http__10.244.1.5/8080 }",
			rule + "service-default/web/tcp/http numgen random mod 2 vmap",
		},
		dontWant: []string{"external-default/web/tcp/http jump mark-for-masquerade"},
	}, {
		name: "internalTrafficPolicy Local without local endpoints drops",
		svcs: []*corev1.Service{testService("web", "10.96.0.10", func(s *corev1.Service) {
			s.Spec.InternalTrafficPolicy = ptr.To(corev1.ServiceInternalTrafficPolicyLocal)
		})},
		slices:   []*discoveryv1.EndpointSlice{two},
		want:     []string{table + "no-endpoint-services { 10.96.0.10 . tcp . 80 : drop }"},
		dontWant: []string{"service-ips { 10.96.0.10", "add chain ip skiff-proxy service-default/web"},
	}, {
		name: "internalTrafficPolicy Local goes to the local endpoints only",
		svcs: []*corev1.Service{testService("web", "10.96.0.10", func(s *corev1.Service) {
			s.Spec.InternalTrafficPolicy = ptr.To(corev1.ServiceInternalTrafficPolicyLocal)
		})},
		slices: []*discoveryv1.EndpointSlice{testSlice("web", 8080, ep{ip: "10.244.1.5", local: true}, ep{ip: "10.244.2.6"})},
		want: []string{
			table + "service-ips { 10.96.0.10 . tcp . 80 : goto local-default/web/tcp/http }",
			rule + "local-default/web/tcp/http numgen random mod 1 vmap { 0 : goto endpoint-default/web/tcp/http__10.244.1.5/8080 }",
		},
		dontWant: []string{"10.244.2.6"},
	}, {
		name:   "sessionAffinity ClientIP with the default timeout",
		svcs:   []*corev1.Service{testService("web", "10.96.0.10", func(s *corev1.Service) { s.Spec.SessionAffinity = corev1.ServiceAffinityClientIP })},
		slices: []*discoveryv1.EndpointSlice{two},
		want: []string{
			"add set ip skiff-proxy affinity-default/web/tcp/http__10.244.1.5/8080 { type ipv4_addr ; flags dynamic,timeout ; timeout 10800s ; }",
			rule + "service-default/web/tcp/http ip saddr @affinity-default/web/tcp/http__10.244.1.5/8080 goto endpoint-default/web/tcp/http__10.244.1.5/8080",
			rule + "endpoint-default/web/tcp/http__10.244.2.6/8080 update @affinity-default/web/tcp/http__10.244.2.6/8080 { ip saddr }",
		},
	}, {
		name: "sessionAffinityConfig timeout",
		svcs: []*corev1.Service{testService("web", "10.96.0.10", func(s *corev1.Service) {
			s.Spec.SessionAffinity = corev1.ServiceAffinityClientIP
			s.Spec.SessionAffinityConfig = &corev1.SessionAffinityConfig{ClientIP: &corev1.ClientIPConfig{TimeoutSeconds: ptr.To[int32](60)}}
		})},
		slices: []*discoveryv1.EndpointSlice{two},
		want:   []string{"timeout 60s"},
	}, {
		name: "headless and ExternalName services get nothing; UDP ports keep their protocol",
		svcs: []*corev1.Service{
			testService("headless", "None"),
			testService("ext", "", func(s *corev1.Service) { s.Spec.Type = corev1.ServiceTypeExternalName; s.Spec.ClusterIPs = nil }),
			testService("dns", "10.96.0.53", func(s *corev1.Service) { s.Spec.Ports[0].Protocol = corev1.ProtocolUDP }),
		},
		slices: []*discoveryv1.EndpointSlice{testSlice("headless", 80, ep{ip: "10.244.1.5"}), func() *discoveryv1.EndpointSlice {
			s := testSlice("dns", 53, ep{ip: "10.244.1.9"})
			s.Ports[0].Protocol = ptr.To(corev1.ProtocolUDP)
			return s
		}()},
		want:     []string{rule + "endpoint-default/dns/udp/http__10.244.1.9/53 meta l4proto udp dnat to 10.244.1.9:53"},
		dontWant: []string{"headless", "default/ext"},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := knftables.NewFake(knftables.IPv4Family, DefaultTableName)
			applyTo(t, f, nil, buildRuleset(tc.gen, snapshotOf(tc.svcs, tc.slices)))
			d := dump(f)
			for _, w := range tc.want {
				if !strings.Contains(d, w) {
					t.Errorf("missing %q in\n%s", w, d)
				}
			}
			for _, w := range tc.dontWant {
				if strings.Contains(d, w) {
					t.Errorf("unexpected %q in\n%s", w, d)
				}
			}
		})
	}
}

// TestIncrementalMatchesFull: a chain of partial syncs leaves the table exactly as a full
// sync of the final state does (and as a fresh table would be), and a full sync over a table
// left by an earlier run removes what is no longer wanted.
func TestIncrementalMatchesFull(t *testing.T) {
	gen := genConfig{localCIDRs: []netip.Prefix{netip.MustParsePrefix("10.244.1.0/24")}}
	affinity := func(s *corev1.Service) { s.Spec.SessionAffinity = corev1.ServiceAffinityClientIP }
	np := func(s *corev1.Service) { s.Spec.Type = corev1.ServiceTypeNodePort; s.Spec.Ports[0].NodePort = 30080 }
	states := []struct {
		svcs   []*corev1.Service
		slices []*discoveryv1.EndpointSlice
	}{
		{svcs: []*corev1.Service{testService("web", "10.96.0.10")}, slices: []*discoveryv1.EndpointSlice{testSlice("web", 8080)}},
		{svcs: []*corev1.Service{testService("web", "10.96.0.10")}, slices: []*discoveryv1.EndpointSlice{testSlice("web", 8080, ep{ip: "10.244.1.5"})}},
		{svcs: []*corev1.Service{testService("web", "10.96.0.10", affinity), testService("api", "10.96.0.20", np, func(s *corev1.Service) {
			s.Spec.Type = corev1.ServiceTypeLoadBalancer
			s.Spec.LoadBalancerSourceRanges = []string{"203.0.113.0/24"}
			s.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: "192.0.2.50"}}
		})},
			slices: []*discoveryv1.EndpointSlice{testSlice("web", 8080, ep{ip: "10.244.1.5"}, ep{ip: "10.244.1.6"}), testSlice("api", 9090, ep{ip: "10.244.1.7", local: true})}},
		{svcs: []*corev1.Service{testService("web", "10.96.0.10", affinity, func(s *corev1.Service) {
			s.Spec.SessionAffinityConfig = &corev1.SessionAffinityConfig{ClientIP: &corev1.ClientIPConfig{TimeoutSeconds: ptr.To[int32](30)}}
		}), testService("api", "10.96.0.20", np)},
			slices: []*discoveryv1.EndpointSlice{testSlice("web", 8080, ep{ip: "10.244.1.6"}), testSlice("api", 9090)}},
		{svcs: []*corev1.Service{testService("api", "10.96.0.21")}, slices: []*discoveryv1.EndpointSlice{testSlice("api", 9090, ep{ip: "10.244.1.8"})}},
	}
	inc := knftables.NewFake(knftables.IPv4Family, DefaultTableName)
	var old *nftrules.Ruleset
	for i, st := range states {
		want := buildRuleset(gen, snapshotOf(st.svcs, st.slices))
		applyTo(t, inc, old, want)
		old = want

		fresh := knftables.NewFake(knftables.IPv4Family, DefaultTableName)
		applyTo(t, fresh, nil, want)
		if inc.Dump() != fresh.Dump() {
			t.Fatalf("state %d: partial syncs differ from a fresh full sync:\n--- partial\n%s\n--- full\n%s", i, inc.Dump(), fresh.Dump())
		}
	}
	// A restarted proxy (no memory of the table) syncs fully over the first state's table.
	restarted := knftables.NewFake(knftables.IPv4Family, DefaultTableName)
	applyTo(t, restarted, nil, buildRuleset(gen, snapshotOf(states[2].svcs, states[2].slices)))
	applyTo(t, restarted, nil, old)
	if restarted.Dump() != inc.Dump() {
		t.Fatalf("full sync over an old table left stale objects:\n--- got\n%s\n--- want\n%s", restarted.Dump(), inc.Dump())
	}
}

func TestNoChangeWritesNothing(t *testing.T) {
	want := buildRuleset(genConfig{}, snapshotOf([]*corev1.Service{testService("web", "10.96.0.10")},
		[]*discoveryv1.EndpointSlice{testSlice("web", 8080, ep{ip: "10.244.1.5"})}))
	again := buildRuleset(genConfig{}, snapshotOf([]*corev1.Service{testService("web", "10.96.0.10")},
		[]*discoveryv1.EndpointSlice{testSlice("web", 8080, ep{ip: "10.244.1.5"})}))
	f := knftables.NewFake(knftables.IPv4Family, DefaultTableName)
	tx := f.NewTransaction()
	nftrules.WriteTransaction(tx, tableComment, want, again, nil, nil)
	if n := tx.NumOperations(); n != 1 {
		t.Fatalf("an unchanged state wrote %d operations, want only the table's add:\n%s", n, tx.String())
	}
}

func TestCleanup(t *testing.T) {
	f := knftables.NewFake(knftables.IPv4Family, DefaultTableName)
	if err := nftrules.DeleteTable(context.Background(), f); err != nil {
		t.Fatalf("cleanup of a missing table: %v", err)
	}
	applyTo(t, f, nil, buildRuleset(genConfig{}, nil))
	if err := nftrules.DeleteTable(context.Background(), f); err != nil {
		t.Fatal(err)
	}
	if d := f.Dump(); d != "" {
		t.Fatalf("table left after cleanup:\n%s", d)
	}
}

func TestTableNameFor(t *testing.T) {
	for _, tc := range []struct{ node, want string }{
		{"", "skiff-proxy"}, {"node-a", "skiff-proxy-node-a"}, {"n1.example.com", "skiff-proxy-n1.example.com"},
		{strings.Repeat("a", 300), "skiff-proxy-" + nftrules.Hash(strings.Repeat("a", 300))},
	} {
		if got := TableNameFor(tc.node); got != tc.want {
			t.Errorf("TableNameFor(%q) = %q, want %q", tc.node, got, tc.want)
		}
	}
	_ = fmt.Sprint()
}
