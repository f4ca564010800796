package e2e

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
)

// TestNodeIPAM: no --pod-cidr anywhere. `skiff up --cluster-cidr=10.246.0.0/16` with its local
// node and a `skiff agent` joined with a token both get their /24 from the node IPAM controller,
// distinct, and a pod on each runs with an IP of its node's subnet.
func TestNodeIPAM(t *testing.T) {
	nodes := []string{"ipam-n1", "ipam-n2"}
	tn := startTwoNodes(t, nodes[0], nodes[1], "--cluster-cidr=10.246.0.0/16")
	s, registry := tn.s, tn.registry
	ns := s.namespace(t)
	t.Cleanup(func() {
		// Pods first: containers outlive containerd.
		s.kubectl(t, "delete", "pods", "--all", "-n", ns, "--grace-period=1", "--timeout=60s")
	})
	cluster := netip.MustParsePrefix("10.246.0.0/16")
	cidrs := map[string]netip.Prefix{}
	for _, n := range nodes {
		got := s.ok(t, "get", "node", n, "-o", "jsonpath={.spec.podCIDR} {.spec.podCIDRs}")
		f := strings.Fields(got)
		p, err := netip.ParsePrefix(f[0])
		if err != nil || len(f) != 2 || f[1] != `["`+f[0]+`"]` || p.Bits() != 24 || !cluster.Contains(p.Addr()) {
			t.Fatalf("node %s: podCIDR and podCIDRs %q, want one /24 of %v", n, got, cluster)
		}
		cidrs[n] = p
	}
	if cidrs[nodes[0]] == cidrs[nodes[1]] {
		t.Fatalf("both nodes got %v", cidrs[nodes[0]])
	}
	for _, n := range nodes {
		s.okIn(t, fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: on-%s}
spec:
  nodeSelector: {kubernetes.io/hostname: %s}
  terminationGracePeriodSeconds: 1
  containers:
  - {name: main, image: %s/skiff/busybox:latest, command: [sleep, "3600"]}
`, n, n, registry), "apply", "-n", ns, "-f", "-")
	}
	for _, n := range nodes {
		s.ok(t, "wait", "-n", ns, "--for=condition=Ready", "pod/on-"+n, "--timeout=90s")
		ip := s.ok(t, "get", "pod", "on-"+n, "-n", ns, "-o", "jsonpath={.status.podIP}")
		if a, err := netip.ParseAddr(ip); err != nil || !cidrs[n].Contains(a) {
			t.Errorf("pod on %s has IP %q, not in the node's podCIDR %v", n, ip, cidrs[n])
		}
	}
}
