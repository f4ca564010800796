package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/skiff-dev/skiff/test/poll"
)

// TestNativeSidecars runs sidecars (init containers with restartPolicy Always) in real
// containers: the next init container starts while the sidecar runs and the pod becomes Ready
// with the sidecar's readiness; the sidecar outlives restarts of the app container; a pod with
// restartPolicy Never completes as Succeeded with its sidecar stopped.
func TestNativeSidecars(t *testing.T) {
	longScenario(t)
	s := startNodeT(t, t.TempDir(), "e2e-sidecars", "10.244.223.0/24")
	ns := s.namespace(t)
	client := kubernetes.NewForConfigOrDie(s.restConfig(t))
	// The pods go before the cluster stops: containers outlive containerd, as with a kubelet.
	t.Cleanup(func() { s.kubectl(t, "delete", "pods", "--all", "-n", ns, "--timeout=60s") })
	pod := func(t *testing.T, name string) *corev1.Pod {
		t.Helper()
		p, err := client.CoreV1().Pods(ns).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}

	t.Run("ready", func(t *testing.T) {
		// the sidecar writes a file the regular init container waits for: the init container
		// can only complete while the sidecar runs.
		s.okIn(t, `apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  volumes: [{name: shared, emptyDir: {}}]
  initContainers:
  - name: proxy
    image: busybox
    restartPolicy: Always
    command: [sh, -c, "trap 'exit 0' TERM; touch /shared/up; sleep 3600 & wait"]
    volumeMounts: [{name: shared, mountPath: /shared}]
    startupProbe: {exec: {command: [test, -f, /shared/up]}, periodSeconds: 1}
    readinessProbe: {exec: {command: [test, -f, /shared/up]}, periodSeconds: 1}
  - name: wait-proxy
    image: busybox
    command: [sh, -c, "until test -f /shared/up; do sleep 0.2; done"]
    volumeMounts: [{name: shared, mountPath: /shared}]
  containers:
  - name: app
    image: busybox
    command: [sh, -c, "trap 'exit 0' TERM; sleep 3600 & wait"]
`, "apply", "-n", ns, "-f", "-")
		s.ok(t, "wait", "-n", ns, "--for=condition=Ready", "pod/web", "--timeout=120s")
		p := pod(t, "web")
		if p.Status.Phase != corev1.PodRunning || len(p.Status.InitContainerStatuses) != 2 {
			t.Fatalf("phase %s, init statuses %+v", p.Status.Phase, p.Status.InitContainerStatuses)
		}
		side, init := p.Status.InitContainerStatuses[0], p.Status.InitContainerStatuses[1]
		if side.Name != "proxy" || side.State.Running == nil || side.Started == nil || !*side.Started || !side.Ready {
			t.Errorf("sidecar status = %+v", side)
		}
		if init.State.Terminated == nil || init.State.Terminated.ExitCode != 0 || !init.Ready {
			t.Errorf("init container status = %+v", init)
		}
		for _, c := range p.Status.Conditions {
			if (c.Type == corev1.PodInitialized || c.Type == corev1.ContainersReady) && c.Status != corev1.ConditionTrue {
				t.Errorf("condition %s = %s (%s)", c.Type, c.Status, c.Message)
			}
		}
		// kubectl shows the sidecar in READY (2/2) as upstream's printer does.
		if out := s.ok(t, "get", "pod", "web", "-n", ns, "--no-headers"); len(fields(out)) < 3 || fields(out)[1] != "2/2" || fields(out)[2] != "Running" {
			t.Errorf("kubectl get pod: %q", out)
		}
	})

	t.Run("sidecar outlives app restarts", func(t *testing.T) {
		s.okIn(t, `apiVersion: v1
kind: Pod
metadata: {name: restarts}
spec:
  initContainers:
  - name: logger
    image: busybox
    restartPolicy: Always
    command: [sh, -c, "trap 'exit 0' TERM; sleep 3600 & wait"]
  containers:
  - name: app
    image: busybox
    command: [sh, -c, "sleep 1; exit 1"]
`, "apply", "-n", ns, "-f", "-")
		var first corev1.ContainerStatus
		poll.Until(t, 90*time.Second, "sidecar running", func() error {
			p := pod(t, "restarts")
			if len(p.Status.InitContainerStatuses) == 0 || p.Status.InitContainerStatuses[0].State.Running == nil {
				return fmt.Errorf("init statuses %+v", p.Status.InitContainerStatuses)
			}
			first = p.Status.InitContainerStatuses[0]
			return nil
		})
		var p *corev1.Pod
		poll.Until(t, 90*time.Second, "app restarted twice", func() error {
			p = pod(t, "restarts")
			if len(p.Status.ContainerStatuses) == 0 || p.Status.ContainerStatuses[0].RestartCount < 2 {
				return fmt.Errorf("app status %+v", p.Status.ContainerStatuses)
			}
			return nil
		})
		side := p.Status.InitContainerStatuses[0]
		if side.ContainerID != first.ContainerID || side.State.Running == nil || !side.State.Running.StartedAt.Equal(&first.State.Running.StartedAt) || side.RestartCount != 0 {
			t.Errorf("sidecar changed across app restarts: before %+v, after %+v", first, side)
		}
		if p.Status.Phase != corev1.PodRunning {
			t.Errorf("phase = %s", p.Status.Phase)
		}
	})

	t.Run("job-like pod succeeds", func(t *testing.T) {
		s.okIn(t, `apiVersion: v1
kind: Pod
metadata: {name: job}
spec:
  restartPolicy: Never
  initContainers:
  - name: proxy
    image: busybox
    restartPolicy: Always
    command: [sh, -c, "trap 'exit 0' TERM; sleep 3600 & wait"]
  containers:
  - name: work
    image: busybox
    command: [sh, -c, "sleep 2; echo done"]
`, "apply", "-n", ns, "-f", "-")
		var p *corev1.Pod
		poll.Until(t, 120*time.Second, "pod Succeeded", func() error {
			p = pod(t, "job")
			if p.Status.Phase != corev1.PodSucceeded {
				return fmt.Errorf("phase %s, init %+v, containers %+v", p.Status.Phase, p.Status.InitContainerStatuses, p.Status.ContainerStatuses)
			}
			return nil
		})
		side, work := p.Status.InitContainerStatuses[0], p.Status.ContainerStatuses[0]
		if side.State.Terminated == nil || side.Ready || side.RestartCount != 0 {
			t.Errorf("sidecar status = %+v", side)
		}
		if work.State.Terminated == nil || work.State.Terminated.ExitCode != 0 {
			t.Fatalf("work status = %+v", work)
		}
		// the sidecar was stopped after the work container ended.
		if side.State.Terminated.FinishedAt.Before(&work.State.Terminated.FinishedAt) {
			t.Errorf("sidecar finished at %s, before the work container (%s)", side.State.Terminated.FinishedAt, work.State.Terminated.FinishedAt)
		}
	})
}
