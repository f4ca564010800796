package kuberuntime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"

	"github.com/skiff-dev/skiff/test/poll"
)

// hookRecorder fakes the hook runners and records what they did, in order with the CRI calls.
type hookRecorder struct {
	mu      sync.Mutex
	f       *fakeCRI
	clk     *clocktesting.FakeClock
	ran     []string
	reqs    []*http.Request
	execErr error
	httpErr error
	// took is how long each hook runs (the fake clock is stepped).
	took   time.Duration
	events []string
}

func (h *hookRecorder) note(s string) {
	h.mu.Lock()
	h.ran = append(h.ran, s)
	h.mu.Unlock()
	h.f.mu.Lock()
	h.f.calls = append(h.f.calls, s)
	h.f.mu.Unlock()
	h.clk.Step(h.took)
}

func setupHooks() (*fakeCRI, *Manager, *hookRecorder) {
	clk := clocktesting.NewFakeClock(t0)
	f := newFakeCRI(clk)
	h := &hookRecorder{f: f, clk: clk}
	m := NewManager(Config{Runtime: f, Images: f, Clock: clk,
		Event: func(_ *corev1.Pod, c, typ, reason, msg string) {
			h.mu.Lock()
			h.events = append(h.events, fmt.Sprintf("%s %s %s: %s", typ, c, reason, msg))
			h.mu.Unlock()
		},
		Hooks: HookRunners{
			Exec: func(_ context.Context, id string, cmd []string) ([]byte, error) {
				h.note("exec " + strings.Join(cmd, " "))
				return []byte("out"), h.execErr
			},
			HTTP: func(req *http.Request) (*http.Response, error) {
				h.mu.Lock()
				h.reqs = append(h.reqs, req)
				h.mu.Unlock()
				h.note("GET " + req.URL.String())
				if h.httpErr != nil {
					return nil, h.httpErr
				}
				return &http.Response{StatusCode: 500, Body: io.NopCloser(strings.NewReader("x"))}, nil
			},
			Sleep: func(_ context.Context, d time.Duration) error {
				h.note(fmt.Sprintf("sleep %s", d))
				return nil
			},
		}})
	return f, m, h
}

func TestRunHookMessages(t *testing.T) {
	pod := testPod(corev1.RestartPolicyAlways, nil, "a")
	c := &pod.Spec.Containers[0]
	cases := []struct {
		name    string
		h       corev1.LifecycleHandler
		execErr error
		httpErr error
		ctxDone bool
		want    string
	}{
		{name: "exec ok", h: corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}}},
		{name: "exec fails", h: corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{"sh", "-c", "exit 1"}}}, execErr: errors.New("command terminated with exit code 1"),
			want: `Exec lifecycle hook ([sh -c exit 1]) for Container "a" in Pod "web_default(u1)" failed - error: command terminated with exit code 1, message: "out"`},
		{name: "http status does not matter", h: corev1.LifecycleHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/x", Port: intstr.FromInt32(80)}}},
		{name: "http fails", h: corev1.LifecycleHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/x", Port: intstr.FromInt32(80)}}, httpErr: errors.New("connection refused"),
			want: `HTTP lifecycle hook (/x) for Container "a" in Pod "web_default(u1)" failed - error: connection refused`},
		{name: "http named port missing", h: corev1.LifecycleHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/x", Port: intstr.FromString("web")}},
			want: `HTTP lifecycle hook (/x) for Container "a" in Pod "web_default(u1)" failed - error: port web not found in container a`},
		{name: "sleep", h: corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: 3}}},
		{name: "sleep cut short", h: corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: 3}}, ctxDone: true,
			want: `Sleep lifecycle hook (3) for Container "a" in Pod "web_default(u1)" failed - error: container terminated before sleep hook finished`},
		{name: "no handler", want: "Cannot run handler: invalid handler: "},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, m, h := setupHooks()
			h.execErr, h.httpErr = tc.execErr, tc.httpErr
			m.cfg.Hooks.PodIP = func(context.Context, *corev1.Pod) (string, error) { return "10.0.0.9", nil }
			if tc.ctxDone {
				m.cfg.Hooks.Sleep = func(ctx context.Context, d time.Duration) error { return context.Canceled }
			}
			msg, err := m.runHook(context.Background(), pod, c, "c1", &tc.h)
			if (err != nil) != (tc.want != "") || !strings.HasPrefix(msg, tc.want) {
				t.Fatalf("runHook = %q, %v; want %q", msg, err, tc.want)
			}
		})
	}
}

func TestHTTPHookRequest(t *testing.T) {
	pod := testPod(corev1.RestartPolicyAlways, nil, "a")
	c := &pod.Spec.Containers[0]
	c.Ports = []corev1.ContainerPort{{Name: "web", ContainerPort: 8080}}
	cases := []struct {
		name    string
		g       corev1.HTTPGetAction
		url     string
		host    string
		headers http.Header
	}{
		{name: "pod IP, named port, path with query", g: corev1.HTTPGetAction{Path: "/dial?host=10.0.0.1&port=8080", Port: intstr.FromString("web")},
			url: "http://10.244.0.2:8080/dial?host=10.0.0.1&port=8080", headers: http.Header{"User-Agent": {"kube-lifecycle/1.37"}, "Accept": {"*/*"}}},
		{name: "host, https, headers", g: corev1.HTTPGetAction{Host: "example.test", Scheme: corev1.URISchemeHTTPS, Path: "/h", Port: intstr.FromInt32(443),
			HTTPHeaders: []corev1.HTTPHeader{{Name: "X-A", Value: "1"}, {Name: "Host", Value: "v.test"}, {Name: "Accept", Value: ""}}},
			url: "https://example.test:443/h", host: "v.test", headers: http.Header{"User-Agent": {"kube-lifecycle/1.37"}, "X-A": {"1"}, "Host": {"v.test"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, m, h := setupHooks()
			// the default PodIP reads the sandbox from the runtime.
			if _, err := f.RunPodSandbox(context.Background(), m.SandboxConfig(pod, 0), ""); err != nil {
				t.Fatal(err)
			}
			if _, err := m.runHook(context.Background(), pod, c, "c1", &corev1.LifecycleHandler{HTTPGet: &tc.g}); err != nil {
				t.Fatal(err)
			}
			r := h.reqs[0]
			if r.URL.String() != tc.url || r.Host != tc.host || !reflect.DeepEqual(r.Header, tc.headers) {
				t.Fatalf("request %s host %q headers %v; want %s %q %v", r.URL, r.Host, r.Header, tc.url, tc.host, tc.headers)
			}
		})
	}
}

func TestHTTPHookFallsBackToHTTP(t *testing.T) {
	pod := testPod(corev1.RestartPolicyAlways, nil, "a")
	_, m, h := setupHooks()
	m.cfg.Hooks.PodIP = func(context.Context, *corev1.Pod) (string, error) { return "10.0.0.9", nil }
	m.cfg.Hooks.HTTP = func(req *http.Request) (*http.Response, error) {
		h.reqs = append(h.reqs, req)
		if req.URL.Scheme == "https" {
			return nil, &url.Error{Op: "Get", URL: req.URL.String(), Err: errors.New("http: server gave HTTP response to HTTPS client")}
		}
		return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader(""))}, nil
	}
	g := &corev1.HTTPGetAction{Scheme: corev1.URISchemeHTTPS, Path: "/p", Port: intstr.FromInt32(80), HTTPHeaders: []corev1.HTTPHeader{{Name: "Authorization", Value: "x"}}}
	if _, err := m.runHook(context.Background(), pod, &pod.Spec.Containers[0], "c1", &corev1.LifecycleHandler{HTTPGet: g}); err != nil {
		t.Fatal(err)
	}
	if len(h.reqs) != 2 || h.reqs[1].URL.Scheme != "http" || h.reqs[1].Header.Get("Authorization") != "" {
		t.Fatalf("requests = %v", h.reqs)
	}
	if want := []string{"Warning  LifecycleHTTPFallback: request to HTTPS lifecycle hook 10.0.0.9:80 got HTTP response, retry with HTTP succeeded"}; !reflect.DeepEqual(h.events, want) {
		t.Fatalf("events = %q", h.events)
	}
}

func TestPlanPreStopAndStopGrace(t *testing.T) {
	withHook := &corev1.Container{Name: "a", Lifecycle: &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: 5}}}}
	plain := &corev1.Container{Name: "a"}
	cases := []struct {
		name    string
		c       *corev1.Container
		running bool
		grace   int64
		took    time.Duration
		wantRun bool
		stop    int64
	}{
		{name: "hook runs, rest of the grace period", c: withHook, running: true, grace: 30, took: 7900 * time.Millisecond, wantRun: true, stop: 23},
		{name: "hook used it all: minimum", c: withHook, running: true, grace: 10, took: 10 * time.Second, wantRun: true, stop: 2},
		{name: "grace 0: no hook", c: withHook, running: true, grace: 0, stop: 2},
		{name: "exited container: no hook", c: withHook, running: false, grace: 30, stop: 30},
		{name: "no hook", c: plain, running: true, grace: 30, stop: 30},
		{name: "unknown spec", running: true, grace: 30, stop: 30},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := PlanPreStop(tc.c, tc.running, tc.grace)
			if p.RunPreStop != tc.wantRun || p.Grace != tc.grace {
				t.Fatalf("plan = %+v", p)
			}
			if !p.RunPreStop {
				tc.took = 0
			}
			if got := StopGrace(tc.grace, tc.took, 2*time.Second); got != tc.stop {
				t.Fatalf("stop grace = %d, want %d", got, tc.stop)
			}
		})
	}
}

func TestPostStartHook(t *testing.T) {
	t.Run("runs right after the start", func(t *testing.T) {
		f, m, _ := setupHooks()
		pod := testPod(corev1.RestartPolicyAlways, nil, "a")
		pod.Spec.Containers[0].Lifecycle = &corev1.Lifecycle{PostStart: &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{"touch", "/ok"}}}}
		res, _ := doSync(t, m, pod)
		if res.Err != nil {
			t.Fatal(res.Err)
		}
		want := []string{"RunPodSandbox", "PullImage nginx:1", "CreateContainer a", "StartContainer a", "exec touch /ok"}
		if got := f.takeCalls(); !reflect.DeepEqual(got, want) {
			t.Fatalf("calls = %v, want %v", got, want)
		}
	})
	t.Run("failure kills the container", func(t *testing.T) {
		f, m, h := setupHooks()
		h.execErr = errors.New("command terminated with exit code 7")
		pod := testPod(corev1.RestartPolicyAlways, nil, "a")
		pod.Spec.TerminationGracePeriodSeconds = ptr.To[int64](20)
		pod.Spec.Containers[0].Lifecycle = &corev1.Lifecycle{PostStart: &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{"false"}}},
			PreStop: &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: 1}}}
		res, st := doSync(t, m, pod)
		if !errors.Is(res.Err, ErrPostStartHook) {
			t.Fatalf("err = %v", res.Err)
		}
		want := []string{"RunPodSandbox", "PullImage nginx:1", "CreateContainer a", "StartContainer a", "exec false", "sleep 1s", "StopContainer a"}
		if got := f.takeCalls(); !reflect.DeepEqual(got, want) {
			t.Fatalf("calls = %v, want %v", got, want)
		}
		for _, g := range f.stopGrace {
			if g != 20 {
				t.Errorf("stopped with %ds, want 20", g)
			}
		}
		wantEv := []string{"Warning a FailedPostStartHook: PostStartHook failed", "Normal a Killing: FailedPostStartHook"}
		var got []string
		for _, e := range h.events {
			if strings.Contains(e, "PostStartHook") {
				got = append(got, e)
			}
		}
		if !reflect.DeepEqual(got, wantEv) {
			t.Fatalf("events = %q", h.events)
		}
		w := st.ContainerStatuses[0].State.Waiting
		if w == nil || w.Reason != "PostStartHookError" || !strings.HasPrefix(w.Message, `Exec lifecycle hook ([false]) for Container "a" in Pod "web_default(u1)" failed - error: command terminated with exit code 7`) {
			t.Fatalf("state = %+v", st.ContainerStatuses[0].State)
		}
		if res.StartFailures["a"].Reason != "PostStartHookError" {
			t.Fatalf("start failures = %v", res.StartFailures)
		}
		// restarted per policy, after the crash back-off.
		m.cfg.Clock.(*clocktesting.FakeClock).Step(11 * time.Second)
		h.execErr = nil
		doSync(t, m, pod)
		if got := f.takeCalls(); !reflect.DeepEqual(got[len(got)-2:], []string{"StartContainer a", "exec false"}) {
			t.Fatalf("restart calls = %v", got)
		}
	})
	t.Run("failure with restartPolicy Never", func(t *testing.T) {
		f, m, h := setupHooks()
		h.execErr = errors.New("boom")
		pod := testPod(corev1.RestartPolicyNever, nil, "a")
		pod.Spec.Containers[0].Lifecycle = &corev1.Lifecycle{PostStart: &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{"false"}}}}
		doSync(t, m, pod)
		f.takeCalls()
		_, st := doSync(t, m, pod)
		for _, c := range f.takeCalls() {
			if strings.HasPrefix(c, "CreateContainer") {
				t.Fatalf("restarted: %s", c)
			}
		}
		if st.Phase != corev1.PodFailed || st.ContainerStatuses[0].State.Terminated == nil {
			t.Fatalf("status = %s %+v", st.Phase, st.ContainerStatuses[0].State)
		}
	})
}

func TestPreStopHook(t *testing.T) {
	cases := []struct {
		name      string
		handler   corev1.LifecycleHandler
		took      time.Duration
		deletion  *int64
		override  *int64
		wantCalls []string
		wantStop  int64
		wantEv    string
	}{
		{name: "exec before the stop, its time counted", handler: corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{"drain"}}}, took: 12 * time.Second,
			wantCalls: []string{"exec drain", "StopContainer a", "StopPodSandbox"}, wantStop: 18},
		{name: "http to the pod IP", handler: corev1.LifecycleHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/quit", Port: intstr.FromInt32(8080)}},
			wantCalls: []string{"GET http://10.244.0.2:8080/quit", "StopContainer a", "StopPodSandbox"}, wantStop: 30},
		{name: "sleep within the deletion grace period", handler: corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: 4}}, took: 4 * time.Second, deletion: ptr.To[int64](5),
			wantCalls: []string{"sleep 4s", "StopContainer a", "StopPodSandbox"}, wantStop: 2},
		{name: "override 0: no hook", handler: corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: 4}}, override: ptr.To[int64](0),
			wantCalls: []string{"StopContainer a", "StopPodSandbox"}, wantStop: 2},
		{name: "failure is an event, the stop goes on", handler: corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{"false"}}},
			wantCalls: []string{"exec false", "StopContainer a", "StopPodSandbox"}, wantStop: 30, wantEv: "Warning a FailedPreStopHook: PreStopHook failed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, m, h := setupHooks()
			pod := testPod(corev1.RestartPolicyAlways, nil, "a")
			pod.Spec.Containers[0].Lifecycle = &corev1.Lifecycle{PreStop: &tc.handler}
			doSync(t, m, pod)
			f.takeCalls()
			h.took = tc.took
			if tc.wantEv != "" {
				h.execErr = errors.New("exit 1")
			}
			pod.DeletionGracePeriodSeconds = tc.deletion
			if err := m.KillPod(context.Background(), pod, tc.override); err != nil {
				t.Fatal(err)
			}
			if got := f.takeCalls(); !reflect.DeepEqual(got, tc.wantCalls) {
				t.Fatalf("calls = %v, want %v", got, tc.wantCalls)
			}
			for _, g := range f.stopGrace {
				if g != tc.wantStop {
					t.Errorf("stop grace = %d, want %d", g, tc.wantStop)
				}
			}
			var evs []string
			for _, e := range h.events {
				if strings.Contains(e, "PreStop") {
					evs = append(evs, e)
				}
			}
			if (tc.wantEv == "") != (len(evs) == 0) || tc.wantEv != "" && evs[0] != tc.wantEv {
				t.Fatalf("events = %q", h.events)
			}
		})
	}
}

func TestPreStopHookOutlivesGracePeriod(t *testing.T) {
	f, m, _ := setupHooks()
	pod := testPod(corev1.RestartPolicyAlways, nil, "a")
	pod.Spec.TerminationGracePeriodSeconds = ptr.To[int64](3)
	pod.Spec.Containers[0].Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: 600}}}
	doSync(t, m, pod)
	f.takeCalls()
	clk := m.cfg.Clock.(*clocktesting.FakeClock)
	stuck := make(chan struct{})
	m.cfg.Hooks.Sleep = func(ctx context.Context, d time.Duration) error {
		close(stuck)
		<-ctx.Done() // until the stop is done
		return ctx.Err()
	}
	done := make(chan error)
	go func() { done <- m.KillPod(context.Background(), pod, nil) }()
	<-stuck
	poll.Eventually(t, "the preStop deadline timer", poll.Check(func() (bool, string) { return clk.HasWaiters(), "" }))
	clk.Step(3 * time.Second)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := f.takeCalls(); !reflect.DeepEqual(got, []string{"StopContainer a", "StopPodSandbox"}) {
		t.Fatalf("calls = %v", got)
	}
	for _, g := range f.stopGrace {
		if g != 2 {
			t.Errorf("stop grace = %d, want the minimum", g)
		}
	}
}
