package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestDaemonSet: on `skiff up` with its local node and a joined `skiff agent`, a DaemonSet
// runs one pod on each node, rolls out a new image (`kubectl rollout status` succeeds, one node
// at a time), shows both revisions in `kubectl rollout history`, and `kubectl rollout undo`
// brings the first image back.
func TestDaemonSet(t *testing.T) {
	longScenario(t)
	nodes := []string{"ds-n1", "ds-n2"}
	tn := startTwoNodes(t, nodes[0], nodes[1], "--cluster-cidr=10.247.0.0/16")
	s, registry := tn.s, tn.registry
	ns := s.namespace(t)
	// Before the agent stops: the DaemonSet and its pods.
	t.Cleanup(func() {
		s.kubectl(t, "delete", "daemonset", "--all", "-n", ns, "--cascade=foreground", "--timeout=90s")
		s.kubectl(t, "delete", "pods", "--all", "-n", ns, "--grace-period=1", "--timeout=60s")
	})

	s.okIn(t, `apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - {name: main, image: busybox, command: [sleep, "3600"]}
`, "apply", "-n", ns, "-f", "-")
	rolloutStatus := func() {
		t.Helper()
		out := s.ok(t, "rollout", "status", "ds/agent", "-n", ns, "--timeout=180s")
		if !strings.Contains(out, `daemon set "agent" successfully rolled out`) {
			t.Fatalf("rollout status: %s", out)
		}
	}
	// podsOn checks one Running pod with image on each node.
	podsOn := func(image string) {
		t.Helper()
		eventually(t, 60*time.Second, func() error {
			out := s.ok(t, "get", "pods", "-n", ns, "-l", "app=agent", "-o",
				`jsonpath={range .items[*]}{.spec.nodeName} {.status.phase} {.spec.containers[0].image} {.metadata.deletionTimestamp}{"\n"}{end}`)
			var got []string
			for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
				if f := fields(line); len(f) == 3 && f[1] == "Running" && f[2] == image {
					got = append(got, f[0])
				} else {
					return fmt.Errorf("pod %q, want Running with %s", line, image)
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, nodes) {
				return fmt.Errorf("pods on %v, want %v", got, nodes)
			}
			return nil
		})
	}
	rolloutStatus()
	podsOn("busybox")
	_, rows := tableRows(t, s.ok(t, "get", "ds", "agent", "-n", ns))
	if len(rows) != 1 || !slices.Equal(rows[0][1:6], []string{"2", "2", "2", "2", "2"}) || rows[0][6] != "<none>" {
		t.Errorf("kubectl get ds: %q", rows)
	}

	// A new image, rolled out one node at a time.
	v2 := registry + "/skiff/busybox:latest"
	s.ok(t, "set", "image", "ds/agent", "-n", ns, "main="+v2)
	rolloutStatus()
	podsOn(v2)
	history := s.ok(t, "rollout", "history", "ds/agent", "-n", ns)
	if _, rows := tableRows(t, history[strings.Index(history, "REVISION"):]); len(rows) != 2 || rows[0][0] != "1" || rows[1][0] != "2" {
		t.Errorf("rollout history:\n%s", history)
	}
	if out := s.ok(t, "rollout", "history", "ds/agent", "-n", ns, "--revision=1"); !strings.Contains(out, "busybox") || strings.Contains(out, registry) {
		t.Errorf("rollout history --revision=1:\n%s", out)
	}
	_, revs := tableRows(t, s.ok(t, "get", "controllerrevisions", "-n", ns))
	if len(revs) != 2 || revs[0][1] != "daemonset.apps/agent" {
		t.Errorf("kubectl get controllerrevisions: %q", revs)
	}

	// Back to the first image.
	if out := s.ok(t, "rollout", "undo", "ds/agent", "-n", ns); !strings.Contains(out, "rolled back") {
		t.Errorf("rollout undo: %s", out)
	}
	rolloutStatus()
	podsOn("busybox")
	if img := s.ok(t, "get", "ds", "agent", "-n", ns, "-o", "jsonpath={.spec.template.spec.containers[0].image}"); img != "busybox" {
		t.Errorf("after undo the template's image is %q", img)
	}
}
