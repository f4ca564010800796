package e2e

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestNodeIPAM: no --pod-cidr anywhere. `skiff up --cluster-cidr=10.246.0.0/16` with its local
// node and a `skiff agent` joined with a token both get their /24 from the node IPAM controller,
// distinct, and a pod on each runs with an IP of its node's subnet.
func TestNodeIPAM(t *testing.T) {
	dir := t.TempDir()
	nodes := []string{"ipam-n1", "ipam-n2"}
	// Last, once both nodes are gone: their service proxy rules.
	t.Cleanup(func() {
		for _, n := range nodes {
			if out, err := exec.Command(skiffBin, "agent", "--cleanup", "--node-name", n).CombinedOutput(); err != nil {
				t.Errorf("skiff agent --cleanup --node-name %s: %v\n%s", n, err, out)
			}
		}
	})
	s := startSkiffT(t, dir, "--agent=true", "--node-name=ipam-n1", "--node-port=0",
		"--cluster-cidr=10.246.0.0/16", "--images-src", moduleRoot())
	eventually(t, 90*time.Second, func() error {
		_, err := os.Stat(filepath.Join(dir, "registry.addr"))
		return err
	})
	addr, err := os.ReadFile(filepath.Join(dir, "registry.addr"))
	if err != nil {
		t.Fatal(err)
	}
	registry := strings.TrimSpace(string(addr))
	token := strings.Fields(runSkiff(t, "token", "create", "--data-dir", dir))[0]
	server := s.ok(t, "config", "view", "--minify", "-o", "jsonpath={.clusters[0].cluster.server}")
	agentDir := t.TempDir()
	logFile, err := os.Create(filepath.Join(agentDir, "agent.log"))
	if err != nil {
		t.Fatal(err)
	}
	agent := exec.Command(skiffBin, "agent", "--server", server, "--token", token, "--node-name=ipam-n2",
		"--data-dir", agentDir, "--node-port=0", "--registry", registry)
	agent.Stdout, agent.Stderr = logFile, logFile
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- agent.Wait() }()
	ns := s.namespace(t)
	t.Cleanup(func() {
		// Pods first (containers outlive containerd), then the second agent, cleanly.
		s.kubectl(t, "delete", "pods", "--all", "-n", ns, "--grace-period=1", "--timeout=60s")
		_ = agent.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = agent.Process.Kill()
			<-exited
		}
		logFile.Close()
	})
	cluster := netip.MustParsePrefix("10.246.0.0/16")
	cidrs := map[string]netip.Prefix{}
	for _, n := range nodes {
		eventually(t, 120*time.Second, func() error {
			out := s.kubectl(t, "get", "node", n, "--no-headers")
			if out.err != nil || !strings.Contains(out.stdout, " Ready ") {
				log, _ := os.ReadFile(filepath.Join(agentDir, "agent.log"))
				return fmt.Errorf("node %s not Ready: %s%s\nagent log tail: %s", n, out.stdout, out.stderr, tailOf(string(log), 1500))
			}
			return nil
		})
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
