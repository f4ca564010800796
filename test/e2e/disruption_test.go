package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestDrainHonoursDisruptionBudget drains a real node with `kubectl drain`, which evicts through
// pods/eviction: a PodDisruptionBudget that allows no disruption stops it, and once the budget
// is gone the drain completes.
func TestDrainHonoursDisruptionBudget(t *testing.T) {
	longScenario(t)
	const node = "drain-node"
	s := startSkiffT(t, t.TempDir(), "--agent=true", "--node-name="+node, "--node-port=0",
		"--pod-cidr=10.244.219.0/24", "--images-src", moduleRoot())
	eventually(t, 90*time.Second, func() error {
		out := s.kubectl(t, "get", "node", node, "--no-headers")
		if out.err != nil || !strings.Contains(out.stdout, " Ready ") {
			return fmt.Errorf("node %s not Ready: %s%s", node, out.stdout, out.stderr)
		}
		return nil
	})
	ns := s.namespace(t)
	// The pods go before the cluster stops: containers outlive containerd, as with a kubelet.
	// Deleting the namespace waits for them, and no ReplicaSet replaces them meanwhile.
	t.Cleanup(func() {
		s.kubectl(t, "uncordon", node)
		s.kubectl(t, "delete", "namespace", ns, "--timeout=90s")
	})

	s.okIn(t, deployment("web", 2, "busybox", `        command: ["sleep", "3600"]
      terminationGracePeriodSeconds: 1
`), "apply", "-n", ns, "-f", "-")
	s.ok(t, "rollout", "status", "-n", ns, "deployment/web", "--timeout=90s")
	s.okIn(t, `apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: web
spec:
  minAvailable: 2
  selector:
    matchLabels: {app: web}
`, "apply", "-n", ns, "-f", "-")
	// The controller counts the two ready pods: none may go.
	eventually(t, 30*time.Second, func() error {
		out := s.kubectl(t, "get", "pdb", "web", "-n", ns, "--no-headers")
		if f := fields(out.stdout); out.err != nil || len(f) < 4 || f[1] != "2" || f[2] != "N/A" || f[3] != "0" {
			return fmt.Errorf("kubectl get pdb: %s%s", out.stdout, out.stderr)
		}
		return nil
	})
	if got := s.ok(t, "get", "pdb", "web", "-n", ns, "-o", "jsonpath={.status.currentHealthy}/{.status.desiredHealthy}/{.status.expectedPods}"); got != "2/2/2" {
		t.Errorf("healthy/desired/expected = %q, want 2/2/2", got)
	}

	drain := []string{"drain", node, "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=20s"}
	refused := s.kubectl(t, drain...)
	if refused.err == nil {
		t.Fatalf("drain with minAvailable=2 succeeded: %v", refused)
	}
	if out := refused.stdout + refused.stderr; !strings.Contains(out, "disruption budget") {
		t.Errorf("refused drain does not mention the disruption budget: %v", refused)
	}
	if got := s.ok(t, "get", "pods", "-n", ns, "-l", "app=web", "--field-selector=status.phase=Running", "-o", "name"); len(strings.Fields(got)) != 2 {
		t.Errorf("pods after the refused drain: %q", got)
	}

	s.ok(t, "delete", "pdb", "web", "-n", ns)
	if r := s.kubectl(t, drain...); r.err != nil {
		t.Fatalf("drain without the budget: %v", r)
	}
	if got := s.ok(t, "get", "node", node, "-o", "jsonpath={.spec.unschedulable}"); got != "true" {
		t.Errorf("drained node unschedulable = %q", got)
	}
	s.ok(t, "uncordon", node)
	// The replacements run again on the uncordoned node.
	s.ok(t, "rollout", "status", "-n", ns, "deployment/web", "--timeout=90s")
}
