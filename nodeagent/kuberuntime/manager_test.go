package kuberuntime

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"

	"github.com/skiff-dev/skiff/nodeagent/status"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func testPod(policy corev1.RestartPolicy, inits []string, apps ...string) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", UID: "u1"}}
	p.Spec.RestartPolicy = policy
	for _, n := range inits {
		p.Spec.InitContainers = append(p.Spec.InitContainers, corev1.Container{Name: n, Image: "busybox:1", ImagePullPolicy: corev1.PullIfNotPresent})
	}
	for _, n := range apps {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: n, Image: "nginx:1", ImagePullPolicy: corev1.PullIfNotPresent})
	}
	return p
}

func setup() (*fakeCRI, *Manager, *clocktesting.FakeClock) {
	clk := clocktesting.NewFakeClock(t0)
	f := newFakeCRI(clk)
	m := NewManager(Config{Runtime: f, Images: f, Clock: clk})
	return f, m, clk
}

func doSync(t *testing.T, m *Manager, pod *corev1.Pod) (SyncResult, corev1.PodStatus) {
	t.Helper()
	res := m.SyncPod(context.Background(), pod)
	rt, err := m.PodRuntime(context.Background(), string(pod.UID))
	if err != nil {
		t.Fatal(err)
	}
	st := status.Generate(status.Input{Pod: pod, Runtime: rt, StartFailures: res.StartFailures, Now: m.cfg.Clock.Now()})
	pod.Status = st
	return res, st
}

func TestFirstStartOrder(t *testing.T) {
	f, m, _ := setup()
	pod := testPod(corev1.RestartPolicyAlways, []string{"i1", "i2"}, "a", "b")
	_, st := doSync(t, m, pod)
	want := []string{"RunPodSandbox", "PullImage busybox:1", "CreateContainer i1", "StartContainer i1"}
	if got := f.takeCalls(); !reflect.DeepEqual(got, want) {
		t.Fatalf("calls = %v, want %v", got, want)
	}
	if st.Phase != corev1.PodPending || st.ContainerStatuses[0].State.Waiting.Reason != status.PodInitializing {
		t.Fatalf("status = %+v", st)
	}
	// i1 still running: nothing to do.
	doSync(t, m, pod)
	if got := f.takeCalls(); len(got) != 0 {
		t.Fatalf("calls while init running = %v", got)
	}
	f.exit("i1", 0, "")
	doSync(t, m, pod)
	if got, want := f.takeCalls(), []string{"CreateContainer i2", "StartContainer i2"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("calls = %v, want %v", got, want)
	}
	f.exit("i2", 0, "")
	_, st = doSync(t, m, pod)
	if got, want := f.takeCalls(), []string{"PullImage nginx:1", "CreateContainer a", "StartContainer a", "CreateContainer b", "StartContainer b"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("calls = %v, want %v", got, want)
	}
	_, st = doSync(t, m, pod)
	if st.Phase != corev1.PodRunning || !st.ContainerStatuses[0].Ready || st.PodIP == "" || st.ContainerStatuses[1].ContainerID == "" {
		t.Fatalf("status = %+v", st)
	}
	// the CRI objects carry upstream's labels and annotations.
	for _, c := range f.containers {
		if c.cfg.Labels[PodUIDLabel] != "u1" || c.cfg.Labels[ContainerNameLabel] == "" || c.cfg.Annotations[ContainerHashAnnotation] == "" || c.cfg.Annotations[ContainerRestartCountAnnotation] != "0" || c.cfg.LogPath != c.cfg.Metadata.Name+"/0.log" {
			t.Errorf("container config = %+v", c.cfg)
		}
	}
	for _, sb := range f.sandboxes {
		if sb.cfg.LogDirectory != "/var/log/pods/default_web_u1" || sb.cfg.Hostname != "web" || sb.cfg.Labels[PodNameLabel] != "web" {
			t.Errorf("sandbox config = %+v", sb.cfg)
		}
	}
}

func TestCrashLoopBackoff(t *testing.T) {
	f, m, clk := setup()
	pod := testPod(corev1.RestartPolicyAlways, nil, "a")
	doSync(t, m, pod)
	f.takeCalls()
	// first crash restarts at once (upstream: backoff starts at the first restart).
	clk.Step(time.Second)
	f.exit("a", 1, "Error")
	doSync(t, m, pod)
	if got := f.takeCalls(); !reflect.DeepEqual(got, []string{"CreateContainer a", "StartContainer a"}) {
		t.Fatalf("calls = %v", got)
	}
	for _, wantBackoff := range []string{"10s", "20s", "40s"} {
		clk.Step(time.Second)
		f.exit("a", 1, "Error")
		_, st := doSync(t, m, pod)
		w := st.ContainerStatuses[0].State.Waiting
		want := "back-off " + wantBackoff + " restarting failed container=a pod=web_default(u1)"
		if w == nil || w.Reason != status.CrashLoopBackOff || w.Message != want {
			t.Fatalf("state = %+v, want CrashLoopBackOff %q", st.ContainerStatuses[0].State, want)
		}
		if lt := st.ContainerStatuses[0].LastTerminationState.Terminated; lt == nil || lt.ExitCode != 1 {
			t.Fatalf("lastState = %+v", st.ContainerStatuses[0].LastTerminationState)
		}
		if got := f.takeCalls(); len(got) != 0 {
			t.Fatalf("restarted during back-off: %v", got)
		}
		d, _ := time.ParseDuration(wantBackoff)
		clk.Step(d - time.Second/2)
		doSync(t, m, pod)
		if got := f.takeCalls(); len(got) != 0 {
			t.Fatalf("restarted before back-off ended: %v", got)
		}
		clk.Step(time.Second)
		_, st = doSync(t, m, pod)
		if got := f.takeCalls(); !reflect.DeepEqual(got, []string{"CreateContainer a", "StartContainer a"}) {
			t.Fatalf("calls after back-off = %v", got)
		}
		if st.ContainerStatuses[0].State.Running == nil {
			t.Fatalf("not running: %+v", st.ContainerStatuses[0].State)
		}
	}
	_, st := doSync(t, m, pod)
	if st.ContainerStatuses[0].RestartCount != 4 {
		t.Fatalf("restartCount = %d", st.ContainerStatuses[0].RestartCount)
	}
	// only two attempts are kept (current + last state).
	if n := len(f.containers); n != 2 {
		t.Fatalf("%d containers kept", n)
	}
	// after 10 minutes of running, the back-off starts over.
	clk.Step(11 * time.Minute)
	f.exit("a", 1, "Error")
	doSync(t, m, pod)
	if got := f.takeCalls(); !reflect.DeepEqual(got, []string{"CreateContainer a", "StartContainer a"}) {
		t.Fatalf("calls after a long run = %v", got)
	}
}

func TestRestartPolicies(t *testing.T) {
	for _, tt := range []struct {
		policy  corev1.RestartPolicy
		code    int32
		restart bool
		phase   corev1.PodPhase
	}{
		{corev1.RestartPolicyNever, 0, false, corev1.PodSucceeded},
		{corev1.RestartPolicyNever, 1, false, corev1.PodFailed},
		{corev1.RestartPolicyOnFailure, 0, false, corev1.PodSucceeded},
		{corev1.RestartPolicyOnFailure, 1, true, corev1.PodRunning},
		{corev1.RestartPolicyAlways, 0, true, corev1.PodRunning},
	} {
		f, m, clk := setup()
		pod := testPod(tt.policy, nil, "a")
		doSync(t, m, pod)
		f.takeCalls()
		clk.Step(time.Second)
		f.exit("a", tt.code, "")
		res, st := doSync(t, m, pod)
		calls := f.takeCalls()
		if restarted := len(calls) > 0 && calls[len(calls)-1] == "StartContainer a"; restarted != tt.restart {
			t.Errorf("%s exit %d: calls %v", tt.policy, tt.code, calls)
		}
		if !tt.restart {
			if !res.Actions.KillPod {
				t.Errorf("%s exit %d: pod not killed (sandbox kept)", tt.policy, tt.code)
			}
			if st.Phase != tt.phase {
				t.Errorf("%s exit %d: phase %s", tt.policy, tt.code, st.Phase)
			}
			// once done, further syncs do nothing (no new sandbox).
			doSync(t, m, pod)
			if calls := f.takeCalls(); len(calls) != 0 {
				t.Errorf("%s exit %d: calls after completion %v", tt.policy, tt.code, calls)
			}
		}
	}
}

func TestImagePullFailure(t *testing.T) {
	f, m, clk := setup()
	pod := testPod(corev1.RestartPolicyAlways, nil, "a")
	pod.Spec.Containers[0].Image = "nginx:bad"
	f.pullErr["nginx:bad"] = errors.New("rpc error: code = NotFound desc = failed to pull and unpack image \"docker.io/library/nginx:bad\": not found")
	_, st := doSync(t, m, pod)
	w := st.ContainerStatuses[0].State.Waiting
	if w == nil || w.Reason != status.ErrImagePull || w.Message != PullErrorMessage(f.pullErr["nginx:bad"]) || st.Phase != corev1.PodPending {
		t.Fatalf("state = %+v", st.ContainerStatuses[0].State)
	}
	f.takeCalls()
	clk.Step(time.Second)
	_, st = doSync(t, m, pod)
	w = st.ContainerStatuses[0].State.Waiting
	want := `Back-off pulling image "nginx:bad": ErrImagePull: ` + PullErrorMessage(f.pullErr["nginx:bad"])
	if w == nil || w.Reason != status.ImagePullBackOff || w.Message != want {
		t.Fatalf("state = %+v, want %q", st.ContainerStatuses[0].State, want)
	}
	if calls := f.takeCalls(); len(calls) != 0 {
		t.Fatalf("pulled during back-off: %v", calls)
	}
	clk.Step(10 * time.Second)
	delete(f.pullErr, "nginx:bad")
	_, st = doSync(t, m, pod)
	if st.ContainerStatuses[0].State.Running == nil {
		t.Fatalf("state = %+v", st.ContainerStatuses[0].State)
	}

	// Never with a missing image.
	f2, m2, _ := setup()
	pod2 := testPod(corev1.RestartPolicyAlways, nil, "a")
	pod2.Spec.Containers[0].ImagePullPolicy = corev1.PullNever
	_, st = doSync(t, m2, pod2)
	if w := st.ContainerStatuses[0].State.Waiting; w == nil || w.Reason != status.ErrImageNeverPull || w.Message != `Container image "nginx:1" is not present with pull policy of Never` {
		t.Fatalf("state = %+v", st.ContainerStatuses[0].State)
	}
	// IfNotPresent with the image present: no pull; Always: pull.
	f2.images["nginx:1"] = "sha256:x"
	pod2.Spec.Containers[0].ImagePullPolicy = corev1.PullIfNotPresent
	f2.takeCalls()
	doSync(t, m2, pod2)
	for _, c := range f2.takeCalls() {
		if c == "PullImage nginx:1" {
			t.Fatalf("pulled a present image with IfNotPresent")
		}
	}
}

func TestSpecChangeRecreates(t *testing.T) {
	f, m, _ := setup()
	pod := testPod(corev1.RestartPolicyNever, nil, "a", "b")
	doSync(t, m, pod)
	f.takeCalls()
	pod.Spec.Containers[0].Image = "nginx:2"
	res, st := doSync(t, m, pod)
	if len(res.Actions.ContainersToKill) != 1 {
		t.Fatalf("actions = %+v", res.Actions)
	}
	for _, k := range res.Actions.ContainersToKill {
		if k.Message != "Container a definition changed, will be restarted" {
			t.Errorf("kill message = %q", k.Message)
		}
	}
	if got, want := f.takeCalls(), []string{"StopContainer a", "PullImage nginx:2", "CreateContainer a", "StartContainer a"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("calls = %v, want %v", got, want)
	}
	_, st = doSync(t, m, pod)
	if st.ContainerStatuses[0].RestartCount != 1 || st.ContainerStatuses[0].State.Running == nil || st.Phase != corev1.PodRunning {
		t.Fatalf("status = %+v", st.ContainerStatuses[0])
	}
}

func TestKillPodGracePeriod(t *testing.T) {
	f, m, _ := setup()
	pod := testPod(corev1.RestartPolicyAlways, nil, "a", "b")
	pod.Spec.TerminationGracePeriodSeconds = ptr.To[int64](30)
	doSync(t, m, pod)
	f.takeCalls()
	pod.DeletionGracePeriodSeconds = ptr.To[int64](5)
	pod.DeletionTimestamp = &metav1.Time{Time: t0}
	if err := m.KillPod(context.Background(), pod, nil); err != nil {
		t.Fatal(err)
	}
	calls := f.takeCalls()
	if len(calls) != 3 || calls[2] != "StopPodSandbox" {
		t.Fatalf("calls = %v (containers first, then the sandbox)", calls)
	}
	for id, g := range f.stopGrace {
		if g != 5 {
			t.Errorf("container %s stopped with %ds", id, g)
		}
	}
	// override below the minimum is raised to 2s
	f.stopGrace = map[string]int64{}
	for _, c := range f.containers {
		c.state = 1 // running again
	}
	if err := m.KillPod(context.Background(), pod, ptr.To[int64](0)); err != nil {
		t.Fatal(err)
	}
	for id, g := range f.stopGrace {
		if g != 2 {
			t.Errorf("container %s stopped with %ds, want the 2s minimum", id, g)
		}
	}
	rt, _ := m.PodRuntime(context.Background(), "u1")
	st := status.Generate(status.Input{Pod: pod, Runtime: rt, PodIsTerminal: true, Now: t0})
	if st.Phase != corev1.PodFailed {
		t.Errorf("phase after kill = %s", st.Phase)
	}
	if err := m.RemovePod(context.Background(), "u1"); err != nil || len(f.containers)+len(f.sandboxes) != 0 {
		t.Fatalf("remove: %v, %d left", err, len(f.containers)+len(f.sandboxes))
	}
}

func TestSandboxDiedIsRecreated(t *testing.T) {
	f, m, _ := setup()
	pod := testPod(corev1.RestartPolicyAlways, []string{"i"}, "a")
	doSync(t, m, pod)
	f.exit("i", 0, "")
	doSync(t, m, pod)
	f.takeCalls()
	for _, sb := range f.sandboxes {
		sb.state = 1 // NOTREADY
	}
	res, _ := doSync(t, m, pod)
	if !res.Actions.KillPod || !res.Actions.CreateSandbox || res.Actions.Attempt != 1 || len(res.Actions.InitContainersToStart) != 1 || res.Actions.InitContainersToStart[0] != 0 {
		t.Fatalf("actions = %+v", res.Actions)
	}
	calls := f.takeCalls()
	if calls[len(calls)-1] != "StartContainer i" {
		t.Fatalf("calls = %v", calls)
	}
}

func TestResources(t *testing.T) {
	c := &corev1.Container{Resources: corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m")},
		Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("128Mi")},
	}}
	r := LinuxResources(c)
	if r.CpuShares != 256 || r.CpuQuota != 50000 || r.CpuPeriod != 100000 || r.MemoryLimitInBytes != 128<<20 {
		t.Errorf("resources = %+v", r)
	}
	if r := LinuxResources(&corev1.Container{}); r.CpuShares != 2 || r.CpuQuota != 0 || r.MemoryLimitInBytes != 0 {
		t.Errorf("best effort = %+v", r)
	}
	if q := MilliCPUToQuota(1, QuotaPeriod); q != 1000 {
		t.Errorf("min quota = %d", q)
	}
	if got := Expand("$(A)-$(B)-$$(A)", map[string]string{"A": "x"}); got != "x-$(B)-$(A)" {
		t.Errorf("expand = %q", got)
	}
}
