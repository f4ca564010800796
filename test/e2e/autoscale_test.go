package e2e

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestAutoscaleOnRealNode is issue 14 end to end with real containers: the node's stats of real
// cgroups, scraped by the built-in metrics.k8s.io, drive a HorizontalPodAutoscaler made with
// `kubectl autoscale` up to its maximum while the pods burn CPU, and back to its minimum once
// they stop; `kubectl top` sorts the burning pods above an idle one.
func TestAutoscaleOnRealNode(t *testing.T) {
	longScenario(t)
	const node = "hpa-node"
	// Short timings: a scrape every 5 s, an autoscaler pass every 3 s, 10 s of downscale
	// stabilization instead of 5 minutes.
	s := startNodeT(t, t.TempDir(), node, "10.244.216.0/24",
		"--metric-resolution=5s", "--horizontal-pod-autoscaler-sync-period=3s",
		"--horizontal-pod-autoscaler-downscale-stabilization=10s")
	ns := s.namespace(t)
	// The pods go before the cluster stops: containers outlive containerd, as with a kubelet.
	t.Cleanup(func() { s.kubectl(t, "delete", "namespace", ns, "--timeout=90s") })

	// Each burner spins until /tmp/idle exists; its CPU limit (100m, its request) throttles it to
	// 100% of its request, twice the target: the autoscaler doubles the replicas each pass up to 3.
	s.okIn(t, `apiVersion: apps/v1
kind: Deployment
metadata: {name: burn}
spec:
  replicas: 1
  selector: {matchLabels: {app: burn}}
  template:
    metadata: {labels: {app: burn}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: main
        image: busybox
        command: [sh, -c, "while [ ! -e /tmp/idle ]; do :; done; exec sleep 3600"]
        resources:
          requests: {cpu: 100m}
          limits: {cpu: 100m}
---
apiVersion: v1
kind: Pod
metadata: {name: idle}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - {name: main, image: busybox, command: [sleep, "3600"], resources: {requests: {cpu: 10m}}}
`, "apply", "-n", ns, "-f", "-")
	s.ok(t, "rollout", "status", "-n", ns, "deployment/burn", "--timeout=90s")
	s.ok(t, "wait", "-n", ns, "--for=condition=Ready", "pod/idle", "--timeout=90s")
	s.ok(t, "autoscale", "deployment", "burn", "-n", ns, "--cpu-percent=50", "--min=1", "--max=3")

	t.Run("the burning Deployment scales up to its maximum", func(t *testing.T) {
		eventually(t, 150*time.Second, func() error {
			out := s.ok(t, "get", "hpa", "burn", "-n", ns, "-o", "jsonpath={.status.currentReplicas} {.status.desiredReplicas}")
			if out != "3 3" {
				return fmt.Errorf("current and desired replicas %q, want 3 3 (%s)", out, s.ok(t, "get", "hpa", "burn", "-n", ns, "--no-headers"))
			}
			return nil
		})
		// TARGETS shows the measured utilization against the target, as upstream's column.
		header, rows := tableRows(t, s.ok(t, "get", "hpa", "burn", "-n", ns))
		if len(rows) != 1 || len(header) < 7 || header[2] != "TARGETS" {
			t.Fatalf("kubectl get hpa: %v %v", header, rows)
		}
		if target := rows[0][2]; !strings.HasPrefix(target, "cpu: ") || !strings.HasSuffix(target, "%/50%") {
			t.Errorf("TARGETS %q, want cpu: N%%/50%%", target)
		}
		if got := s.ok(t, "get", "deployment", "burn", "-n", ns, "-o", "jsonpath={.spec.replicas}"); got != "3" {
			t.Errorf("the Deployment's replicas: %s", got)
		}
	})

	t.Run("kubectl top sorts the burning pods above the idle one", func(t *testing.T) {
		var rows [][]string
		eventually(t, 60*time.Second, func() error {
			out := s.kubectl(t, "top", "pod", "-n", ns, "--sort-by=cpu", "--no-headers")
			if out.err != nil {
				return fmt.Errorf("kubectl top pod: %v %s", out.err, out.stderr)
			}
			rows = nil
			for _, line := range strings.Split(strings.TrimSpace(out.stdout), "\n") {
				rows = append(rows, fields(line))
			}
			if len(rows) != 4 {
				return fmt.Errorf("kubectl top pod: %d rows, want 4 (3 burners and idle):\n%s", len(rows), out.stdout)
			}
			return nil
		})
		if last := rows[len(rows)-1]; last[0] != "idle" {
			t.Errorf("the idle pod is not last by CPU: %v", rows)
		}
		if top := rows[0]; !strings.HasPrefix(top[0], "burn-") || millicores(t, top[1]) < 50 {
			t.Errorf("the first pod by CPU is not a burner using about its 100m limit: %v", rows)
		}
		header, nodes := tableRows(t, s.ok(t, "top", "node"))
		if len(nodes) != 1 || nodes[0][0] != node || header[1] != "CPU(cores)" {
			t.Errorf("kubectl top node: %v %v", header, nodes)
		}
	})

	t.Run("idle again, it scales down to its minimum", func(t *testing.T) {
		for _, pod := range strings.Fields(s.ok(t, "get", "pods", "-n", ns, "-l", "app=burn", "-o", "jsonpath={.items[*].metadata.name}")) {
			s.ok(t, "exec", "-n", ns, pod, "--", "touch", "/tmp/idle")
		}
		eventually(t, 150*time.Second, func() error {
			out := s.ok(t, "get", "hpa", "burn", "-n", ns, "-o", "jsonpath={.status.currentReplicas} {.status.desiredReplicas}")
			if out != "1 1" {
				return fmt.Errorf("current and desired replicas %q, want 1 1 (%s)", out, s.ok(t, "get", "hpa", "burn", "-n", ns, "--no-headers"))
			}
			return nil
		})
		if got := s.ok(t, "get", "deployment", "burn", "-n", ns, "-o", "jsonpath={.spec.replicas}"); got != "1" {
			t.Errorf("the Deployment's replicas: %s", got)
		}
	})
}

// millicores parses kubectl top's CPU column ("87m").
func millicores(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(strings.TrimSuffix(s, "m"))
	if err != nil {
		t.Fatalf("CPU %q: %v", s, err)
	}
	return n
}
