package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
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
	dir := t.TempDir()
	nodes := []string{"ds-n1", "ds-n2"}
	// Last, once both nodes are gone: their service proxy rules.
	t.Cleanup(func() {
		for _, n := range nodes {
			if out, err := exec.Command(skiffBin, "agent", "--cleanup", "--node-name", n).CombinedOutput(); err != nil {
				t.Errorf("skiff agent --cleanup --node-name %s: %v\n%s", n, err, out)
			}
		}
	})
	s := startSkiffT(t, dir, "--agent=true", "--node-name=ds-n1", "--node-port=0",
		"--cluster-cidr=10.247.0.0/16", "--images-src", moduleRoot())
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
	agent := startAgent(t, "--server", server, "--token", token, "--node-name=ds-n2",
		"--data-dir", t.TempDir(), "--node-port=0", "--registry", registry)
	ns := s.namespace(t)
	// Before the agent stops (cleanups run last first): the DaemonSet and its pods, whose
	// containers would outlive containerd.
	t.Cleanup(func() {
		s.kubectl(t, "delete", "daemonset", "--all", "-n", ns, "--cascade=foreground", "--timeout=90s")
		s.kubectl(t, "delete", "pods", "--all", "-n", ns, "--grace-period=1", "--timeout=60s")
	})
	for _, n := range nodes {
		eventually(t, 120*time.Second, func() error {
			out := s.kubectl(t, "get", "node", n, "--no-headers")
			if out.err != nil || !strings.Contains(out.stdout, " Ready ") {
				return fmt.Errorf("node %s not Ready: %s%s\nagent log tail: %s", n, out.stdout, out.stderr, tailOf(agent.log.String(), 1500))
			}
			return nil
		})
	}

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
