package kuberuntime

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	"k8s.io/utils/ptr"

	"github.com/skiff-dev/skiff/nodeagent/status"
	"github.com/skiff-dev/skiff/test/poll"
)

func sidecarPod(policy corev1.RestartPolicy, inits []string, sidecars map[string]bool, apps ...string) *corev1.Pod {
	p := testPod(policy, inits, apps...)
	for i := range p.Spec.InitContainers {
		if sidecars[p.Spec.InitContainers[i].Name] {
			p.Spec.InitContainers[i].RestartPolicy = ptr.To(corev1.ContainerRestartPolicyAlways)
		}
	}
	return p
}

func initStatus(t *testing.T, st corev1.PodStatus, name string) corev1.ContainerStatus {
	t.Helper()
	for _, cs := range st.InitContainerStatuses {
		if cs.Name == name {
			return cs
		}
	}
	t.Fatalf("no init container status %q in %+v", name, st.InitContainerStatuses)
	return corev1.ContainerStatus{}
}

func condition(st corev1.PodStatus, typ corev1.PodConditionType) corev1.ConditionStatus {
	for _, c := range st.Conditions {
		if c.Type == typ {
			return c.Status
		}
	}
	return ""
}

// TestSidecarLifecycle runs a Job-like pod (restartPolicy Never) with a sidecar before a regular
// init container: the sidecar starts first, the init container once it runs, the app once
// that completed; the sidecar is restarted when it exits (whatever the pod's policy) and
// stopped when the app completed, and the pod Succeeds.
func TestSidecarLifecycle(t *testing.T) {
	f, m, clk := setup()
	pod := sidecarPod(corev1.RestartPolicyNever, []string{"side", "init"}, map[string]bool{"side": true}, "a")

	_, st := doSync(t, m, pod)
	if got, want := f.takeCalls(), []string{"RunPodSandbox", "PullImage busybox:1", "CreateContainer side", "StartContainer side"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("calls = %v, want %v", got, want)
	}
	if st.Phase != corev1.PodPending || condition(st, corev1.PodInitialized) != corev1.ConditionFalse {
		t.Fatalf("phase %s, initialized %s", st.Phase, condition(st, corev1.PodInitialized))
	}
	if cs := initStatus(t, st, "side"); cs.State.Running == nil || !*cs.Started || !cs.Ready {
		t.Fatalf("sidecar status = %+v", cs)
	}

	// the sidecar runs: the next init container starts without waiting for it to exit.
	doSync(t, m, pod)
	if got, want := f.takeCalls(), []string{"CreateContainer init", "StartContainer init"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("calls = %v, want %v", got, want)
	}
	f.exit("init", 0, "")
	_, st = doSync(t, m, pod)
	if got, want := f.takeCalls(), []string{"PullImage nginx:1", "CreateContainer a", "StartContainer a"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("calls = %v, want %v", got, want)
	}
	_, st = doSync(t, m, pod)
	if st.Phase != corev1.PodRunning || condition(st, corev1.PodInitialized) != corev1.ConditionTrue || condition(st, corev1.PodReady) != corev1.ConditionTrue {
		t.Fatalf("phase %s, conditions %+v", st.Phase, st.Conditions)
	}

	// the sidecar exits: restarted even with restartPolicy Never; the app is left alone.
	clk.Step(time.Second)
	f.exit("side", 1, "Error")
	_, st = doSync(t, m, pod)
	if got, want := f.takeCalls(), []string{"CreateContainer side", "StartContainer side"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("calls = %v, want %v", got, want)
	}
	if cs := initStatus(t, st, "side"); cs.RestartCount != 1 || cs.State.Running == nil || cs.LastTerminationState.Terminated == nil {
		t.Fatalf("sidecar status after restart = %+v", cs)
	}
	if st.Phase != corev1.PodRunning {
		t.Fatalf("phase = %s", st.Phase)
	}
	// a second exit waits out the back-off: CrashLoopBackOff, the pod stays Running.
	clk.Step(time.Second)
	f.exit("side", 1, "Error")
	_, st = doSync(t, m, pod)
	if got := f.takeCalls(); len(got) != 0 {
		t.Fatalf("restarted during back-off: %v", got)
	}
	if cs := initStatus(t, st, "side"); cs.State.Waiting == nil || cs.State.Waiting.Reason != status.CrashLoopBackOff || cs.Ready {
		t.Fatalf("sidecar status in back-off = %+v", cs)
	}
	if st.Phase != corev1.PodRunning || condition(st, corev1.PodReady) != corev1.ConditionFalse || condition(st, corev1.PodInitialized) != corev1.ConditionTrue {
		t.Fatalf("phase %s, conditions %+v", st.Phase, st.Conditions)
	}
	clk.Step(11 * time.Second)
	doSync(t, m, pod)
	if got, want := f.takeCalls(), []string{"CreateContainer side", "StartContainer side"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("calls = %v, want %v", got, want)
	}

	// the app completes: the sidecar is stopped, not restarted, and the pod Succeeds.
	f.exit("a", 0, "")
	_, st = doSync(t, m, pod)
	if got, want := f.takeCalls(), []string{"StopContainer side", "StopPodSandbox"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("calls = %v, want %v", got, want)
	}
	if st.Phase != corev1.PodSucceeded {
		t.Fatalf("phase = %s, statuses %+v", st.Phase, st.InitContainerStatuses)
	}
	if cs := initStatus(t, st, "side"); cs.State.Terminated == nil || cs.Ready {
		t.Fatalf("sidecar status = %+v", cs)
	}
}

// TestKillPodSidecarOrder pins upstream's termination order: app containers first, then the
// sidecars in reverse order of declaration.
func TestKillPodSidecarOrder(t *testing.T) {
	f, m, _ := setup()
	pod := sidecarPod(corev1.RestartPolicyAlways, []string{"s1", "i", "s2"}, map[string]bool{"s1": true, "s2": true}, "a", "b")
	for range 4 {
		f.exit("i", 0, "")
		doSync(t, m, pod)
	}
	_, st := doSync(t, m, pod)
	if st.Phase != corev1.PodRunning || len(f.containers) != 5 {
		t.Fatalf("phase %s with %d containers", st.Phase, len(f.containers))
	}
	f.takeCalls()
	for range 20 { // goroutines: the order must hold every time
		if err := m.KillPod(context.Background(), pod, nil); err != nil {
			t.Fatal(err)
		}
		calls := f.takeCalls()
		if len(calls) != 5 || !reflect.DeepEqual(calls[2:], []string{"StopContainer s2", "StopContainer s1", "StopPodSandbox"}) {
			t.Fatalf("calls = %v", calls)
		}
		// running again for the next round
		for _, c := range f.containers {
			if c.cfg.Metadata.Name != "i" {
				c.state = runtimeapi.ContainerState_CONTAINER_RUNNING
			}
		}
		for _, sb := range f.sandboxes {
			sb.state = runtimeapi.PodSandboxState_SANDBOX_READY
		}
	}
}

func TestTerminationOrderingGrace(t *testing.T) {
	pod := sidecarPod(corev1.RestartPolicyAlways, []string{"s1"}, map[string]bool{"s1": true}, "a")
	if o := newTerminationOrdering(testPod(corev1.RestartPolicyAlways, []string{"i"}, "a"), []string{"a"}, nil); o != nil {
		t.Fatal("ordering for a pod without sidecars")
	}
	_, m, clk := setup()
	o := newTerminationOrdering(pod, []string{"a", "s1"}, m.cfg.Clock)
	done := make(chan time.Duration)
	go func() { done <- o.waitForTurn("s1", 5*time.Second) }()
	// the app does not stop: the sidecar waits out the grace period, no longer.
	poll.Eventually(t, "sidecar waiting for its turn", poll.Check(func() (bool, string) { return clk.HasWaiters(), "" }))
	clk.Step(5 * time.Second)
	if waited := <-done; waited != 5*time.Second {
		t.Fatalf("waited %s", waited)
	}
	// an app container that was not running is not waited for.
	o = newTerminationOrdering(pod, []string{"s1"}, m.cfg.Clock)
	if waited := o.waitForTurn("s1", 5*time.Second); waited != 0 {
		t.Fatalf("waited %s", waited)
	}
}

// TestSidecarPreStopBeforeItsTurn: as upstream's killContainer, a sidecar runs its preStop hook
// at once and only then waits for the app containers to stop. The app's own preStop waits for
// the sidecar's: with the hook after the wait, the pod could not stop within its grace period.
func TestSidecarPreStopBeforeItsTurn(t *testing.T) {
	f, m, _ := setup()
	pod := sidecarPod(corev1.RestartPolicyAlways, []string{"s1"}, map[string]bool{"s1": true}, "a")
	pod.Spec.InitContainers[0].Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{"sidecar-prestop"}}}}
	pod.Spec.Containers[0].Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{"app-prestop"}}}}
	for range 3 {
		doSync(t, m, pod)
	}
	sidecarHook := make(chan struct{})
	var once sync.Once
	var appHookFailed atomic.Bool
	m.cfg.Hooks.Exec = func(ctx context.Context, _ string, cmd []string) ([]byte, error) {
		switch cmd[0] {
		case "sidecar-prestop":
			once.Do(func() { close(sidecarHook) })
		case "app-prestop":
			select {
			case <-sidecarHook:
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(5 * time.Second):
				appHookFailed.Store(true)
				return nil, errors.New("the sidecar's preStop did not run while the app was stopping")
			}
		}
		return nil, nil
	}
	f.takeCalls()
	done := make(chan error, 1)
	go func() { done <- m.KillPod(context.Background(), pod, nil) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("KillPod did not end")
	}
	if appHookFailed.Load() {
		t.Fatal("the sidecar's preStop waited for the app containers to stop")
	}
	if calls := f.takeCalls(); !reflect.DeepEqual(calls, []string{"StopContainer a", "StopContainer s1", "StopPodSandbox"}) {
		t.Errorf("calls = %v", calls)
	}
}
