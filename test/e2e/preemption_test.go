package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/skiff-dev/skiff/test/poll"
	"k8s.io/apimachinery/pkg/api/resource"
)

// TestPreemption fills a real node's cpu with a low-priority pod; a high-priority pod that does
// not fit preempts it: the victim gets a Preempted event and is stopped by the node, the
// preemptor is nominated to the node and then runs there.
func TestPreemption(t *testing.T) {
	dir := t.TempDir()
	const node = "preempt-node"
	s := startNodeT(t, dir, node, "10.244.212.0/24")
	ns := s.namespace(t)
	t.Cleanup(func() { s.kubectl(t, "delete", "pods", "--all", "-n", ns, "--timeout=60s") })

	alloc := resource.MustParse(s.ok(t, "get", "node", node, "-o", "jsonpath={.status.allocatable.cpu}"))
	// Each pod asks for 60% of the node's cpu: one fits, two do not.
	cpu := fmt.Sprintf("%dm", alloc.MilliValue()*6/10)
	pod := func(name, class string) string {
		return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: %s, namespace: %s}
spec:
  priorityClassName: %s
  terminationGracePeriodSeconds: 1
  restartPolicy: Never
  containers:
  - name: c
    image: busybox
    command: [sh, -c, "trap 'exit 0' TERM; sleep 3600 & wait"]
    resources: {requests: {cpu: %s}}
`, name, ns, class, cpu)
	}
	s.okIn(t, `apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: e2e-low}
value: 100
---
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: e2e-high}
value: 1000
`, "apply", "-f", "-")
	t.Cleanup(func() { s.kubectl(t, "delete", "priorityclass", "e2e-low", "e2e-high") })

	s.okIn(t, pod("low", "e2e-low"), "apply", "-f", "-")
	s.ok(t, "wait", "-n", ns, "--for=condition=Ready", "pod/low", "--timeout=90s")
	high := s.okIn(t, pod("high", "e2e-high"), "create", "-f", "-", "-o", "jsonpath={.metadata.uid}")

	poll.Until(t, 60*time.Second, "high nominated to the node", func() error {
		got := s.ok(t, "get", "pod", "high", "-n", ns, "-o", "jsonpath={.status.nominatedNodeName}")
		if got != node {
			return fmt.Errorf("nominatedNodeName %q", got)
		}
		return nil
	})
	s.ok(t, "wait", "-n", ns, "--for=condition=Ready", "pod/high", "--timeout=90s")
	if got := s.ok(t, "get", "pod", "high", "-n", ns, "-o", "jsonpath={.spec.nodeName}"); got != node {
		t.Errorf("high on %q, want %s", got, node)
	}
	poll.Until(t, 60*time.Second, "victim gone", func() error {
		out := s.kubectl(t, "get", "pod", "low", "-n", ns, "--ignore-not-found", "-o", "name")
		if out.err != nil || strings.TrimSpace(out.stdout) != "" {
			return fmt.Errorf("low still there: %s%s", out.stdout, out.stderr)
		}
		return nil
	})
	want := fmt.Sprintf("Preempted by pod %s on node %s", high, node)
	poll.Until(t, 30*time.Second, "Preempted event", func() error {
		out := s.ok(t, "get", "events", "-n", ns, "--field-selector", "reason=Preempted,involvedObject.name=low", "-o", "jsonpath={.items[*].message}")
		if !strings.Contains(out, want) {
			return fmt.Errorf("events %q, want %q", out, want)
		}
		return nil
	})
}
