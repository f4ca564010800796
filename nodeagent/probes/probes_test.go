package probes

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	cri "k8s.io/cri-api/pkg/apis"
	remote "k8s.io/cri-client/pkg"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
)

type fakeProber struct {
	next  []Result
	calls int
}

func (f *fakeProber) Probe(context.Context, *corev1.Pod, *corev1.PodStatus, *corev1.Container, string, *corev1.Probe) (Result, string, error) {
	f.calls++
	r := f.next[0]
	if len(f.next) > 1 {
		f.next = f.next[1:]
	}
	return r, "boom", nil
}

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func setup(kind Kind, probe *corev1.Probe, startup bool) (*Manager, *worker, *fakeProber, *clocktesting.FakeClock, *[]string, *int) {
	clk := clocktesting.NewFakeClock(t0)
	fp := &fakeProber{next: []Result{Success}}
	var events []string
	changes := 0
	m := NewManager(Config{Prober: fp, Clock: clk,
		Event:    func(_ *corev1.Pod, c, typ, reason, msg string) { events = append(events, reason+": "+msg) },
		OnChange: func(types.UID) { changes++ }})
	c := corev1.Container{Name: "c"}
	switch kind {
	case Liveness:
		c.LivenessProbe = probe
	case Readiness:
		c.ReadinessProbe = probe
	case Startup:
		c.StartupProbe = probe
	}
	if startup && kind != Startup {
		c.StartupProbe = &corev1.Probe{}
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "u"}, Spec: corev1.PodSpec{Containers: []corev1.Container{c}}}
	w := newWorker(m, pod, &pod.Spec.Containers[0], kind, probeOf(&pod.Spec.Containers[0], kind))
	return m, w, fp, clk, &events, &changes
}

func running(m *Manager, id string, started time.Time, startedProbe bool) {
	m.UpdatePodStatus("u", &corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{{
		Name: "c", ContainerID: "containerd://" + id, Started: ptr.To(startedProbe),
		State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(started)}}}}})
}

func TestReadinessInitialDelayAndThresholds(t *testing.T) {
	m, w, fp, clk, _, _ := setup(Readiness, &corev1.Probe{InitialDelaySeconds: 5, PeriodSeconds: 1, SuccessThreshold: 2, FailureThreshold: 2}, false)
	ctx := context.Background()
	// no status yet: keep waiting, no result
	if !w.doProbe(ctx) || m.Result("1", Readiness) != Unknown {
		t.Fatal("no status: want keep going and no result")
	}
	running(m, "1", t0, true)
	w.doProbe(ctx)
	if got := m.Result("containerd://1", Readiness); got != Failure {
		t.Fatalf("initial readiness %v, want Failure", got)
	}
	if fp.calls != 0 {
		t.Fatalf("probed during initialDelaySeconds")
	}
	clk.Step(5 * time.Second)
	fp.next = []Result{Success}
	w.doProbe(ctx)
	if m.Result("1", Readiness) != Failure {
		t.Fatal("one success below successThreshold 2 changed the result")
	}
	w.doProbe(ctx)
	if m.Result("1", Readiness) != Success {
		t.Fatal("two successes: want Success")
	}
	fp.next = []Result{Failure}
	w.doProbe(ctx)
	if m.Result("1", Readiness) != Success {
		t.Fatal("one failure below failureThreshold 2 changed the result")
	}
	w.doProbe(ctx)
	if m.Result("1", Readiness) != Failure {
		t.Fatal("two failures: want Failure")
	}
	if m.Failed("1") != "" {
		t.Fatal("readiness failure must not restart the container")
	}
}

func TestLivenessFailureHoldsUntilNewContainer(t *testing.T) {
	m, w, fp, _, events, _ := setup(Liveness, &corev1.Probe{PeriodSeconds: 1, FailureThreshold: 3}, false)
	ctx := context.Background()
	running(m, "1", t0, true)
	w.doProbe(ctx)
	if m.Result("1", Liveness) != Success {
		t.Fatalf("liveness starts as Success")
	}
	fp.next = []Result{Failure}
	for i := 0; i < 2; i++ {
		w.doProbe(ctx)
	}
	if m.Failed("1") != "" {
		t.Fatal("failed before failureThreshold")
	}
	w.doProbe(ctx)
	if got := m.Failed("1"); got != "failed liveness probe" {
		t.Fatalf("Failed = %q", got)
	}
	if len(*events) != 3 || (*events)[0] != "Unhealthy: Liveness probe failed: boom" {
		t.Fatalf("events %q", *events)
	}
	calls := fp.calls
	w.doProbe(ctx)
	if fp.calls != calls {
		t.Fatal("probed while on hold")
	}
	// the container is restarted: a new ID starts afresh
	running(m, "2", t0, true)
	fp.next = []Result{Success}
	w.doProbe(ctx)
	if m.Failed("2") != "" || m.Result("1", Liveness) != Unknown || fp.calls != calls+1 {
		t.Fatalf("new container: Failed %q, old result %v, calls %d", m.Failed("2"), m.Result("1", Liveness), fp.calls)
	}
}

func TestStartupGatesLiveness(t *testing.T) {
	m, w, fp, _, _, _ := setup(Liveness, &corev1.Probe{PeriodSeconds: 1}, true)
	ctx := context.Background()
	running(m, "1", t0, false)
	w.doProbe(ctx)
	if fp.calls != 0 {
		t.Fatal("liveness probed before the startup probe succeeded")
	}
	running(m, "1", t0, true)
	w.doProbe(ctx)
	if fp.calls != 1 {
		t.Fatal("liveness not probed once started")
	}

	m2, sw, fp2, _, _, _ := setup(Startup, &corev1.Probe{PeriodSeconds: 1, FailureThreshold: 2}, false)
	running(m2, "1", t0, false)
	fp2.next = []Result{Failure}
	sw.doProbe(ctx)
	if m2.Result("1", Startup) != Unknown {
		t.Fatalf("startup after one failure: %v", m2.Result("1", Startup))
	}
	sw.doProbe(ctx)
	if m2.Failed("1") != "failed startup probe" {
		t.Fatalf("startup failure: Failed = %q", m2.Failed("1"))
	}
}

func TestExitedContainer(t *testing.T) {
	m, w, _, _, _, _ := setup(Readiness, &corev1.Probe{}, false)
	m.UpdatePodStatus("u", &corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{Name: "c", ContainerID: "containerd://1",
		State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1}}}}})
	w.pod.Spec.RestartPolicy = corev1.RestartPolicyNever
	if w.doProbe(context.Background()) {
		t.Fatal("worker of a terminated container that will not restart keeps going")
	}
	if m.Result("1", Readiness) != Failure {
		t.Fatal("terminated container must not be ready")
	}
}

func TestHTTPAndTCP(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("User-Agent") != "kube-probe/1.37" || r.Header.Get("X-Test") != "1" {
			http.Error(w, "bad headers", http.StatusBadRequest)
			return
		}
		if r.URL.Path == "/fail" {
			http.Error(w, "no", http.StatusInternalServerError)
			return
		}
		w.Write([]byte("ok"))
	}))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	host, port := u.Hostname(), u.Port()
	c := &corev1.Container{Name: "c", Ports: []corev1.ContainerPort{{Name: "web", ContainerPort: int32(mustAtoi(t, port))}}}
	st := &corev1.PodStatus{PodIP: host}
	p := &CRIProber{}
	hdr := []corev1.HTTPHeader{{Name: "X-Test", Value: "1"}}
	r, out, err := p.Probe(context.Background(), nil, st, c, "", withDefaults(&corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/ok", Port: intstr.FromString("web"), HTTPHeaders: hdr}}}))
	if r != Success || err != nil {
		t.Fatalf("http ok: %v %q %v", r, out, err)
	}
	r, out, _ = p.Probe(context.Background(), nil, st, c, "", withDefaults(&corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/fail", Port: intstr.FromString("web"), HTTPHeaders: hdr}}}))
	if r != Failure || out != "HTTP probe failed with statuscode: 500" {
		t.Fatalf("http fail: %v %q", r, out)
	}
	r, _, _ = p.Probe(context.Background(), nil, st, c, "", withDefaults(&corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromString("web")}}}))
	if r != Success {
		t.Fatalf("tcp: %v", r)
	}
	srv.Close()
	r, out, _ = p.Probe(context.Background(), nil, st, c, "", withDefaults(&corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromString("web")}}}))
	if r != Failure || out == "" {
		t.Fatalf("tcp to a closed port: %v %q", r, out)
	}
	if _, err := ResolvePort(intstr.FromString("nope"), c); err == nil {
		t.Fatal("unknown named port resolved")
	}
}

func mustAtoi(t *testing.T, s string) int {
	var n int
	for _, ch := range s {
		n = n*10 + int(ch-'0')
	}
	return n
}

func TestReadyContainerKeepsReadinessUntilProbed(t *testing.T) {
	m, w, fp, _, _, _ := setup(Readiness, &corev1.Probe{PeriodSeconds: 1, InitialDelaySeconds: 100}, false)
	m.UpdatePodStatus("u", &corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{{
		Name: "c", ContainerID: "containerd://1", Ready: true,
		State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(t0)}}}}})
	w.doProbe(context.Background())
	if m.Result("1", Readiness) != Success || fp.calls != 0 {
		t.Fatalf("a container already ready (agent restart) starts %v", m.Result("1", Readiness))
	}
}

// TestSidecarProbes: a sidecar's (restartable init container's) probes run against its
// initContainerStatuses entry, its startup result tells Started, and it keeps being probed
// after it exits even with restartPolicy Never (it is restarted); regular init containers
// have no probe workers.
func TestSidecarProbes(t *testing.T) {
	clk := clocktesting.NewFakeClock(t0)
	fp := &fakeProber{next: []Result{Success}}
	m := NewManager(Config{Prober: fp, Clock: clk})
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "u"}, Spec: corev1.PodSpec{
		RestartPolicy: corev1.RestartPolicyNever,
		InitContainers: []corev1.Container{
			{Name: "init", StartupProbe: &corev1.Probe{}},
			{Name: "side", RestartPolicy: ptr.To(corev1.ContainerRestartPolicyAlways), StartupProbe: &corev1.Probe{PeriodSeconds: 1}},
		},
		Containers: []corev1.Container{{Name: "c"}}}}
	var names []string
	for _, c := range ProbedContainers(pod) {
		names = append(names, c.Name)
	}
	if len(names) != 2 || names[0] != "c" || names[1] != "side" {
		t.Fatalf("probed containers = %v", names)
	}
	w := newWorker(m, pod, &pod.Spec.InitContainers[1], Startup, pod.Spec.InitContainers[1].StartupProbe)
	st := &corev1.PodStatus{Phase: corev1.PodPending, InitContainerStatuses: []corev1.ContainerStatus{{
		Name: "side", ContainerID: "containerd://s1", Started: ptr.To(false),
		State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(t0)}}}}}
	m.UpdatePodStatus("u", st)
	ctx := context.Background()
	if m.Started("s1") {
		t.Fatal("started before the probe ran")
	}
	w.doProbe(ctx)
	if fp.calls != 1 || !m.Started("s1") || m.Failed("s1") != "" {
		t.Fatalf("calls %d, started %v, failed %q", fp.calls, m.Started("s1"), m.Failed("s1"))
	}
	st.InitContainerStatuses[0].State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1}}
	m.UpdatePodStatus("u", st)
	if !w.doProbe(ctx) {
		t.Fatal("worker of an exited sidecar stopped with restartPolicy Never")
	}
}

type timingOutRuntime struct{ cri.RuntimeService }

func (timingOutRuntime) ExecSync(_ context.Context, _ string, cmd []string, timeout time.Duration) ([]byte, []byte, error) {
	return nil, nil, fmt.Errorf("%w: %q timed out after %s", remote.ErrCommandTimedOut, strings.Join(cmd, " "), timeout)
}

// TestExecProbeTimeout: an exec probe the runtime times out (the CRI client's
// ErrCommandTimedOut) fails, as upstream's prober, rather than erroring.
func TestExecProbeTimeout(t *testing.T) {
	p := &CRIProber{Runtime: timingOutRuntime{}}
	r, out, err := p.Probe(context.Background(), &corev1.Pod{}, &corev1.PodStatus{}, &corev1.Container{Name: "c"}, "id",
		&corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"sleep", "10"}}}, TimeoutSeconds: 1})
	if r != Failure || err != nil || out != `command "sleep 10" timed out` {
		t.Fatalf("result %v, output %q, err %v", r, out, err)
	}
}

// As upstream's HTTP prober: a redirect on the same host is followed, one to another host is
// not, and counts as a success with a ProbeWarning event.
func TestHTTPRedirects(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/local":
			http.Redirect(w, r, "/fail", http.StatusFound)
		case "/elsewhere":
			http.Redirect(w, r, "http://0.0.0.0/", http.StatusFound)
		case "/fail":
			http.Error(w, "no", http.StatusInternalServerError)
		}
	}))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	for _, tc := range []struct {
		path string
		want Result
	}{{"/local", Failure}, {"/elsewhere", Warning}} {
		r, out, err := DoHTTP(context.Background(), u.JoinPath(tc.path), nil, time.Second)
		if r != tc.want || err != nil {
			t.Errorf("%s: %v %q %v, want %v", tc.path, r, out, err, tc.want)
		}
	}

	m, w, fp, _, events, _ := setup(Liveness, &corev1.Probe{PeriodSeconds: 1, FailureThreshold: 1}, false)
	running(m, "1", t0, true)
	fp.next = []Result{Warning}
	w.doProbe(context.Background())
	if got := m.Result("1", Liveness); got != Success || m.Failed("1") != "" {
		t.Fatalf("a warning: result %v, failed %q; want Success", got, m.Failed("1"))
	}
	if len(*events) != 1 || !strings.HasPrefix((*events)[0], "ProbeWarning: Liveness probe warning: ") {
		t.Fatalf("events %q, want one ProbeWarning", *events)
	}
}

// A status showing a running, started container that is not ready triggers its readiness
// probe at once instead of at the next period (upstream's manualTriggerCh).
func TestNotReadyStatusTriggersReadiness(t *testing.T) {
	m, w, _, _, _, _ := setup(Readiness, &corev1.Probe{PeriodSeconds: 30}, false)
	m.workers[key{"u", "c", Readiness}] = w
	running(m, "1", t0, false) // startup probe not yet succeeded: no trigger
	select {
	case <-w.trigger:
		t.Fatal("triggered before the container started")
	default:
	}
	running(m, "1", t0, true)
	select {
	case <-w.trigger:
	default:
		t.Fatal("a started, not ready container did not trigger its readiness probe")
	}
	running(m, "1", t0, true)
	running(m, "1", t0, true) // a run pending already: never blocks
}
