package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/skiff-dev/skiff/test/poll"
)

// TestLifecycleHooksAndDeadline runs containers' postStart and preStop hooks and a pod's
// activeDeadlineSeconds on the local node, with real containers: a preStop exec's side effect
// is there before the container gets its stop signal (the container itself checks, in its TERM
// trap), a preStop httpGet reaches another pod's server, a failing postStart gives
// FailedPostStartHook and a restart, and a pod whose activeDeadlineSeconds is lowered fails
// with DeadlineExceeded.
func TestLifecycleHooksAndDeadline(t *testing.T) {
	longScenario(t)
	dir := t.TempDir()
	s := startNodeT(t, dir, "hooks-node", "10.244.222.0/24")
	ns := s.namespace(t)
	t.Cleanup(func() { s.kubectl(t, "delete", "pods", "--all", "-n", ns, "--timeout=90s") })
	// the hostPath the pods write their markers to.
	marks := filepath.Join(dir, "marks")
	if err := os.MkdirAll(marks, 0o777); err != nil {
		t.Fatal(err)
	}
	phase := func(pod string) string {
		return s.ok(t, "get", "pod", pod, "-n", ns, "-o", "jsonpath={.status.phase}/{.status.reason}")
	}
	events := func(pod, reason string) string {
		return s.ok(t, "get", "events", "-n", ns, "--field-selector", "involvedObject.name="+pod+",reason="+reason,
			"-o", "jsonpath={range .items[*]}{.type} {.involvedObject.fieldPath} {.message}{\"\\n\"}{end}")
	}

	t.Run("preStop exec runs before the stop signal", func(t *testing.T) {
		s.okIn(t, fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: prestop-exec, namespace: %s}
spec:
  terminationGracePeriodSeconds: 30
  volumes: [{name: m, hostPath: {path: %s}}]
  containers:
  - name: main
    image: busybox
    volumeMounts: [{name: m, mountPath: /m}]
    command: [sh, -c, 'trap "if [ -f /m/prestop ]; then echo after-prestop > /m/term; else echo before-prestop > /m/term; fi; exit 0" TERM; while true; do sleep 1; done']
    lifecycle:
      preStop:
        exec: {command: [sh, -c, "sleep 2; date +%%s > /m/prestop"]}
`, ns, marks), "apply", "-f", "-")
		s.ok(t, "wait", "-n", ns, "--for=condition=Ready", "pod/prestop-exec", "--timeout=90s")
		start := time.Now()
		s.ok(t, "delete", "pod", "prestop-exec", "-n", ns, "--timeout=60s")
		took := time.Since(start)
		b, err := os.ReadFile(filepath.Join(marks, "term"))
		if err != nil {
			t.Fatalf("the container's TERM trap wrote nothing: %v", err)
		}
		if got := strings.TrimSpace(string(b)); got != "after-prestop" {
			t.Fatalf("the container got its stop signal %s the preStop hook's marker", strings.TrimSuffix(got, "-prestop"))
		}
		if took < 2*time.Second || took > 30*time.Second {
			t.Errorf("deletion took %v: want the hook's 2 s and not the grace period", took)
		}
	})

	t.Run("preStop httpGet reaches another pod", func(t *testing.T) {
		s.okIn(t, fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: server, namespace: %s}
spec:
  containers:
  - name: web
    image: skiff/skiff-http
    ports: [{name: http, containerPort: 8080}]
    readinessProbe: {httpGet: {path: /healthz, port: http}, periodSeconds: 1, failureThreshold: 1}
`, ns), "apply", "-f", "-")
		s.ok(t, "wait", "-n", ns, "--for=condition=Ready", "pod/server", "--timeout=90s")
		ip := s.ok(t, "get", "pod", "server", "-n", ns, "-o", "jsonpath={.status.podIP}")
		s.okIn(t, fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: prestop-http, namespace: %s}
spec:
  containers:
  - name: main
    image: busybox
    command: [sleep, "3600"]
    lifecycle:
      preStop:
        httpGet: {host: %q, port: 8080, path: /fail, httpHeaders: [{name: X-Hook, value: prestop}]}
`, ns, ip), "apply", "-f", "-")
		s.ok(t, "wait", "-n", ns, "--for=condition=Ready", "pod/prestop-http", "--timeout=90s")
		if got := s.ok(t, "get", "pod", "server", "-n", ns, "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status}`); got != "True" {
			t.Fatalf("server Ready = %q before the hook", got)
		}
		s.ok(t, "delete", "pod", "prestop-http", "-n", ns, "--wait=false")
		poll.Until(t, 60*time.Second, "the server failing its readiness after the preStop hook's GET /fail", poll.Check(func() (bool, string) {
			got := s.ok(t, "get", "pod", "server", "-n", ns, "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status}`)
			return got == "False", ""
		}))
	})

	t.Run("postStart failure", func(t *testing.T) {
		s.okIn(t, fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: poststart-fails, namespace: %s}
spec:
  terminationGracePeriodSeconds: 5
  containers:
  - name: main
    image: busybox
    command: [sleep, "3600"]
    lifecycle:
      postStart:
        exec: {command: [sh, -c, "echo no; exit 3"]}
`, ns), "apply", "-f", "-")
		poll.Until(t, 90*time.Second, "a FailedPostStartHook event and a restart", poll.Check(func() (bool, string) {
			ev := events("poststart-fails", "FailedPostStartHook")
			restarts := s.ok(t, "get", "pod", "poststart-fails", "-n", ns, "-o", "jsonpath={.status.containerStatuses[0].restartCount}")
			if !strings.Contains(ev, "Warning spec.containers{main} PostStartHook failed") || restarts == "" || restarts == "0" {
				return false, fmt.Sprintf("events %q, restarts %q", ev, restarts)
			}
			return true, ""
		}))
		if w := s.ok(t, "get", "pod", "poststart-fails", "-n", ns, "-o", "jsonpath={.status.containerStatuses[0].lastState.terminated.exitCode}"); w == "" {
			t.Errorf("no terminated last state after the kill")
		}
		if ev := events("poststart-fails", "Killing"); !strings.Contains(ev, "FailedPostStartHook") {
			t.Errorf("Killing events %q", ev)
		}
	})

	t.Run("activeDeadlineSeconds lowered", func(t *testing.T) {
		s.ok(t, "run", "deadline", "-n", ns, "--image=busybox", "--restart=Always", "--", "sleep", "3600")
		s.ok(t, "wait", "-n", ns, "--for=condition=Ready", "pod/deadline", "--timeout=90s")
		s.ok(t, "patch", "pod", "deadline", "-n", ns, "-p", `{"spec":{"activeDeadlineSeconds":3600}}`)
		if got := phase("deadline"); got != "Running/" {
			t.Fatalf("phase %q before the deadline", got)
		}
		s.ok(t, "patch", "pod", "deadline", "-n", ns, "-p", `{"spec":{"activeDeadlineSeconds":5}}`)
		poll.Until(t, 60*time.Second, "the pod Failed with DeadlineExceeded", poll.Check(func() (bool, string) {
			got := phase("deadline")
			return got == "Failed/DeadlineExceeded", got
		}))
		if msg := s.ok(t, "get", "pod", "deadline", "-n", ns, "-o", "jsonpath={.status.message}"); msg != "Pod was active on the node longer than the specified deadline" {
			t.Errorf("message %q", msg)
		}
		if ev := events("deadline", "DeadlineExceeded"); !strings.Contains(ev, "Normal  Pod was active on the node longer than the specified deadline") {
			t.Errorf("DeadlineExceeded events %q", ev)
		}
		poll.Until(t, 60*time.Second, "the container stopped", poll.Check(func() (bool, string) {
			got := s.ok(t, "get", "pod", "deadline", "-n", ns, "-o", "jsonpath={.status.containerStatuses[0].state}")
			return strings.Contains(got, "terminated"), got
		}))
	})
}
