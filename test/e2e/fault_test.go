package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// faultStatus reads a Fault's phase, startTime and endTime.
func faultStatus(t *testing.T, s *skiff, ns, name string) (phase, start, end string) {
	t.Helper()
	out := s.ok(t, "get", "fault", name, "-n", ns, "-o", "jsonpath={.status.phase},{.status.startTime},{.status.endTime}")
	f := strings.Split(out, ",")
	for len(f) < 3 {
		f = append(f, "")
	}
	return f[0], f[1], f[2]
}

// TestFaultNodeHeartbeat: a NodeHeartbeat Fault on a simulated node, with short timings, makes the
// node NotReady; its pods are evicted and the ReplicaSet's pods run again on the other nodes;
// the Fault's status shows when it started and ended, and the node comes back Ready.
func TestFaultNodeHeartbeat(t *testing.T) {
	longScenario(t)
	// Short timings: NotReady 15 s after the last renewal (simulated nodes renew every 10 s), and
	// pods leave a lost node after 2 s instead of the default 300 s.
	s := startSkiffT(t, t.TempDir(), "--simulated-nodes=3", "--node-monitor-grace-period=15s", "--node-monitor-period=1s",
		"--default-not-ready-toleration-seconds=2", "--default-unreachable-toleration-seconds=2")
	eventually(t, 60*time.Second, func() error {
		out := s.ok(t, "get", "nodes", "--no-headers")
		if strings.Count(out, " Ready ") != 3 {
			return fmt.Errorf("want 3 Ready nodes:\n%s", out)
		}
		return nil
	})
	ns := s.namespace(t)
	t.Cleanup(func() { s.kubectl(t, "delete", "namespace", ns, "--timeout=60s") })
	s.okIn(t, `apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: web
spec:
  replicas: 6
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      terminationGracePeriodSeconds: 0
      containers:
      - {name: web, image: nginx}
`, "apply", "-n", ns, "-f", "-")
	// podNodes counts the running, not terminating pods per node.
	podNodes := func() map[string]int {
		out := s.ok(t, "get", "pods", "-n", ns, "-l", "app=web", "--field-selector=status.phase=Running",
			"-o", `jsonpath={range .items[*]}{.spec.nodeName}/{.metadata.deletionTimestamp}{" "}{end}`)
		counts := map[string]int{}
		for _, f := range strings.Fields(out) {
			if node, deleting, _ := strings.Cut(f, "/"); deleting == "" {
				counts[node]++
			}
		}
		return counts
	}
	var victim string
	eventually(t, 60*time.Second, func() error {
		c := podNodes()
		total := 0
		for n, k := range c {
			total += k
			if victim == "" || k > c[victim] {
				victim = n
			}
		}
		if total != 6 {
			return fmt.Errorf("want 6 running pods, have %v", c)
		}
		return nil
	})
	t.Logf("stopping the heartbeats of %s (pods per node %v)", victim, podNodes())

	s.okIn(t, fmt.Sprintf(`apiVersion: chaos.skiff.dev/v1alpha1
kind: Fault
metadata:
  name: node-down
spec:
  type: NodeHeartbeat
  nodeHeartbeat:
    nodeName: %s
  duration: 45s
`, victim), "apply", "-n", ns, "-f", "-")
	out := s.ok(t, "get", "faults", "-n", ns)
	if h, _ := tableRows(t, out); strings.Join(h, " ") != "NAME TYPE TARGET PHASE DURATION AGE" {
		t.Errorf("kubectl get faults columns: %v", h)
	}
	eventually(t, 10*time.Second, func() error {
		if phase, start, _ := faultStatus(t, s, ns, "node-down"); phase != "Running" || start == "" {
			return fmt.Errorf("fault phase %q start %q", phase, start)
		}
		return nil
	})
	if out := s.ok(t, "get", "fault", "node-down", "-n", ns, "--no-headers"); !strings.Contains(out, "NodeHeartbeat   node/"+victim+"   Running") {
		t.Errorf("kubectl get fault: %q", out)
	}

	eventually(t, 45*time.Second, func() error {
		out := s.ok(t, "get", "node", victim, "--no-headers")
		if !strings.Contains(out, " NotReady ") {
			return fmt.Errorf("node not NotReady yet: %s", out)
		}
		return nil
	})
	// Evicted, replaced, and all six running on the other two nodes.
	eventually(t, 45*time.Second, func() error {
		c := podNodes()
		if c[victim] != 0 {
			return fmt.Errorf("pods per node %v", c)
		}
		total := 0
		for _, k := range c {
			total += k
		}
		if total != 6 {
			return fmt.Errorf("want 6 running pods elsewhere, have %v", c)
		}
		return nil
	})
	// The controller records the event (asynchronously) as it deletes the pod: it may land after
	// the replacements run.
	eventually(t, 10*time.Second, func() error {
		if out := s.ok(t, "get", "events", "-n", ns, "--field-selector=reason=TaintManagerEviction", "--no-headers"); !strings.Contains(out, "Marking for deletion Pod") {
			return fmt.Errorf("no TaintManagerEviction events:\n%s", out)
		}
		return nil
	})

	// The fault ends on time and the node is Ready again.
	eventually(t, 60*time.Second, func() error {
		phase, start, end := faultStatus(t, s, ns, "node-down")
		if phase != "Succeeded" || end == "" {
			return fmt.Errorf("fault phase %q start %q end %q", phase, start, end)
		}
		st, err1 := time.Parse(time.RFC3339, start)
		en, err2 := time.Parse(time.RFC3339, end)
		if err1 != nil || err2 != nil || en.Sub(st) != 45*time.Second {
			t.Errorf("startTime %s endTime %s: want 45s apart", start, end)
		}
		return nil
	})
	eventually(t, 30*time.Second, func() error {
		out := s.ok(t, "get", "node", victim, "--no-headers")
		if !strings.Contains(out, " Ready ") {
			return fmt.Errorf("node not Ready again: %s", out)
		}
		return nil
	})
	out = s.ok(t, "get", "fault", "node-down", "-n", ns, "-o", "wide")
	if !strings.Contains(out, "STARTED") || !strings.Contains(out, "renews its Lease and posts its status again after 45s") {
		t.Errorf("kubectl get fault -o wide:\n%s", out)
	}
}

// TestFaultOnRealNode: on a node with real containers, a PodKill Fault kills a pod's container
// through the runtime and the node restarts it (restartCount grows, exit code 137); an ImagePull
// Fault makes pulls fail with ErrImagePull until it ends, then the pod starts; a NodeHeartbeat
// Fault makes the real node NotReady until it ends, then Ready again with its pods.
func TestFaultOnRealNode(t *testing.T) {
	longScenario(t)
	dir := t.TempDir()
	s := startSkiffT(t, dir, "--agent=true", "--node-name=fault-node", "--node-port=0",
		"--pod-cidr=10.244.211.0/24", "--images-src", moduleRoot(),
		"--node-monitor-grace-period=15s", "--node-monitor-period=1s")
	eventually(t, 90*time.Second, func() error {
		out := s.kubectl(t, "get", "node", "fault-node", "--no-headers")
		if out.err != nil || !strings.Contains(out.stdout, " Ready ") {
			return fmt.Errorf("node fault-node not Ready: %s%s", out.stdout, out.stderr)
		}
		return nil
	})
	addr, err := os.ReadFile(filepath.Join(dir, "registry.addr"))
	if err != nil {
		t.Fatal(err)
	}
	busybox := strings.TrimSpace(string(addr)) + "/skiff/busybox:latest"
	ns := s.namespace(t)
	// The pods go before the cluster stops: containers outlive containerd, as with a kubelet.
	t.Cleanup(func() { s.kubectl(t, "delete", "pods", "--all", "-n", ns, "--timeout=60s") })

	s.ok(t, "run", "victim", "-n", ns, "--image="+busybox, "--restart=Always", "--labels=app=victim", "--", "sh", "-c", "sleep 3600")
	s.ok(t, "wait", "-n", ns, "--for=condition=Ready", "pod/victim", "--timeout=90s")
	if rc := s.ok(t, "get", "pod", "victim", "-n", ns, "-o", "jsonpath={.status.containerStatuses[0].restartCount}"); rc != "0" {
		t.Fatalf("restartCount before the fault: %s", rc)
	}
	s.okIn(t, `apiVersion: chaos.skiff.dev/v1alpha1
kind: Fault
metadata:
  name: kill-victim
spec:
  type: PodKill
  podKill:
    selector:
      matchLabels: {app: victim}
`, "apply", "-n", ns, "-f", "-")
	eventually(t, 60*time.Second, func() error {
		phase, start, end := faultStatus(t, s, ns, "kill-victim")
		if phase != "Succeeded" || start == "" || end == "" {
			return fmt.Errorf("fault phase %q start %q end %q", phase, start, end)
		}
		return nil
	})
	if out := s.ok(t, "get", "fault", "kill-victim", "-n", ns, "-o", "jsonpath={.status.pods[0].name} {.status.pods[0].containers[0]} {.status.message}"); out != "victim victim Killed the containers of 1 pod(s)" {
		t.Errorf("fault status: %q", out)
	}
	eventually(t, 60*time.Second, func() error {
		out := s.ok(t, "get", "pod", "victim", "-n", ns, "-o",
			`jsonpath={.status.containerStatuses[0].restartCount} {.status.containerStatuses[0].lastState.terminated.exitCode} {.status.containerStatuses[0].ready}`)
		if out != "1 137 true" {
			return fmt.Errorf("victim: %q, want restartCount 1, last exit code 137, ready", out)
		}
		return nil
	})
	if out := s.ok(t, "get", "events", "-n", ns, "--field-selector=involvedObject.name=victim,reason=Killing", "--no-headers"); !strings.Contains(out, "(Fault "+ns+"/kill-victim)") {
		t.Errorf("no Killing event naming the fault:\n%s", out)
	}

	// Image pulls of skiff/busybox fail on the node for 20 s.
	s.okIn(t, `apiVersion: chaos.skiff.dev/v1alpha1
kind: Fault
metadata:
  name: registry-down
spec:
  type: ImagePull
  imagePull:
    nodeName: fault-node
    images: [skiff/busybox]
  duration: 20s
`, "apply", "-n", ns, "-f", "-")
	eventually(t, 10*time.Second, func() error {
		if phase, _, _ := faultStatus(t, s, ns, "registry-down"); phase != "Running" {
			return fmt.Errorf("fault phase %q", phase)
		}
		return nil
	})
	s.ok(t, "run", "pull-me", "-n", ns, "--image="+busybox, "--image-pull-policy=Always", "--restart=Never", "--", "sleep", "3600")
	eventually(t, 30*time.Second, func() error {
		out := s.ok(t, "get", "pod", "pull-me", "-n", ns, "-o", "jsonpath={.status.containerStatuses[0].state.waiting.reason}|{.status.containerStatuses[0].state.waiting.message}")
		reason, msg, _ := strings.Cut(out, "|")
		if (reason != "ErrImagePull" && reason != "ImagePullBackOff") || !strings.Contains(msg, "injected by Fault "+ns+"/registry-down") {
			return fmt.Errorf("pull-me waiting: %q", out)
		}
		return nil
	})
	// After the fault the back-off retry pulls and the pod runs.
	s.ok(t, "wait", "-n", ns, "--for=condition=Ready", "pod/pull-me", "--timeout=90s")
	if phase, _, end := faultStatus(t, s, ns, "registry-down"); phase != "Succeeded" || end == "" {
		t.Errorf("registry-down: phase %q end %q", phase, end)
	}

	// The real agent stops its Lease and status for 30 s: NotReady, then Ready again, and its
	// pods (marked not ready by the node lifecycle controller meanwhile) Ready again too.
	s.okIn(t, `apiVersion: chaos.skiff.dev/v1alpha1
kind: Fault
metadata:
  name: node-down
spec:
  type: NodeHeartbeat
  nodeHeartbeat: {nodeName: fault-node}
  duration: 30s
`, "apply", "-n", ns, "-f", "-")
	eventually(t, 45*time.Second, func() error {
		if out := s.ok(t, "get", "node", "fault-node", "--no-headers"); !strings.Contains(out, " NotReady ") {
			return fmt.Errorf("node not NotReady yet: %s", out)
		}
		return nil
	})
	eventually(t, 60*time.Second, func() error {
		if phase, _, _ := faultStatus(t, s, ns, "node-down"); phase != "Succeeded" {
			return fmt.Errorf("node-down phase %q", phase)
		}
		if out := s.ok(t, "get", "node", "fault-node", "--no-headers"); !strings.Contains(out, " Ready ") {
			return fmt.Errorf("node not Ready again: %s", out)
		}
		return nil
	})
	s.ok(t, "wait", "-n", ns, "--for=condition=Ready", "pod/victim", "--timeout=60s")
}
