package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestEvictionOnRealNode is node-pressure eviction on a real node (issue 15): a soft memory
// threshold the node always meets (memory.available<100%) simulates memory pressure. The node
// reports MemoryPressure (and gets the taint) at once; a BestEffort pod bound to it without the
// toleration is refused with upstream's message; once the grace period passes, the pods are
// evicted one per round, the BestEffort pod before the Burstable one that stays within its
// request, with reason Evicted, upstream's message and a DisruptionTarget condition.
func TestEvictionOnRealNode(t *testing.T) {
	longScenario(t)
	const node = "evict-node"
	s := startNodeT(t, t.TempDir(), node, "10.244.229.0/24", "--eviction-hard=",
		"--eviction-soft=memory.available<100%", "--eviction-soft-grace-period=memory.available=40s")
	ns := s.namespace(t)
	t.Cleanup(func() { s.kubectl(t, "delete", "namespace", ns, "--timeout=60s") })

	t.Run("the node reports memory pressure and is tainted", func(t *testing.T) {
		eventually(t, 30*time.Second, func() error {
			out := s.ok(t, "get", "node", node, "-o", `jsonpath={.status.conditions[?(@.type=="MemoryPressure")].status} {.status.conditions[?(@.type=="MemoryPressure")].reason} {.spec.taints[*].key}`)
			if !strings.HasPrefix(out, "True KubeletHasInsufficientMemory") || !strings.Contains(out, "node.kubernetes.io/memory-pressure") {
				return fmt.Errorf("MemoryPressure status, reason and taints: %q", out)
			}
			return nil
		})
	})

	// Both tolerate the taint (the scheduler places them) and sleep in PID 1 (1 s grace).
	s.okIn(t, `apiVersion: v1
kind: Pod
metadata: {name: besteffort}
spec:
  terminationGracePeriodSeconds: 1
  tolerations: [{key: node.kubernetes.io/memory-pressure, operator: Exists, effect: NoSchedule}]
  containers: [{name: main, image: busybox, command: [sleep, "3600"]}]
---
apiVersion: v1
kind: Pod
metadata: {name: burstable}
spec:
  terminationGracePeriodSeconds: 1
  tolerations: [{key: node.kubernetes.io/memory-pressure, operator: Exists, effect: NoSchedule}]
  containers: [{name: main, image: busybox, command: [sleep, "3600"], resources: {requests: {memory: 64Mi}}}]
---
apiVersion: v1
kind: Pod
metadata: {name: refused}
spec:
  nodeName: evict-node
  containers: [{name: main, image: busybox, command: [sleep, "3600"]}]
`, "apply", "-n", ns, "-f", "-")

	t.Run("a BestEffort pod without the toleration is refused", func(t *testing.T) {
		eventually(t, 30*time.Second, func() error {
			out := s.ok(t, "get", "pod", "refused", "-n", ns, "-o", "jsonpath={.status.phase}|{.status.reason}|{.status.message}")
			if out != "Failed|Evicted|Pod was rejected: The node had condition: [MemoryPressure]. " {
				return fmt.Errorf("refused pod: %q", out)
			}
			return nil
		})
	})

	s.ok(t, "wait", "-n", ns, "--for=condition=Ready", "pod/besteffort", "pod/burstable", "--timeout=60s")
	t.Run("the BestEffort pod is evicted first", func(t *testing.T) {
		eventually(t, 90*time.Second, func() error {
			out := s.ok(t, "get", "pod", "besteffort", "-n", ns, "-o", `jsonpath={.status.phase}|{.status.reason}|{.status.conditions[?(@.type=="DisruptionTarget")].reason}|{.status.message}`)
			if !strings.HasPrefix(out, "Failed|Evicted|TerminationByKubelet|The node was low on resource: memory. Threshold quantity: ") ||
				!strings.Contains(out, "Container main was using ") {
				return fmt.Errorf("besteffort: %q", out)
			}
			return nil
		})
		if phase := s.ok(t, "get", "pod", "burstable", "-n", ns, "-o", "jsonpath={.status.phase}"); phase != "Running" {
			t.Errorf("the Burstable pod is %s when the BestEffort one is evicted", phase)
		}
	})
	t.Run("the Burstable pod is evicted next", func(t *testing.T) {
		eventually(t, 60*time.Second, func() error {
			out := s.ok(t, "get", "pod", "burstable", "-n", ns, "-o", "jsonpath={.status.phase}|{.status.reason}")
			if out != "Failed|Evicted" {
				return fmt.Errorf("burstable: %q", out)
			}
			return nil
		})
		out := s.ok(t, "get", "events", "-n", ns, "--field-selector=reason=Evicted", "-o", "jsonpath={range .items[*]}{.involvedObject.name} {end}")
		if !strings.Contains(out, "besteffort") || !strings.Contains(out, "burstable") {
			t.Errorf("Evicted events: %q", out)
		}
	})
}
