package probes

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/skiff-dev/skiff/insight/trace"
)

// slowProber answers the next result after 30 ms of the fake clock.
type slowProber struct {
	*fakeProber
	clk *clocktesting.FakeClock
}

func (p slowProber) Probe(ctx context.Context, pod *corev1.Pod, st *corev1.PodStatus, c *corev1.Container, id string, pr *corev1.Probe) (Result, string, error) {
	p.clk.Step(30 * time.Millisecond)
	return p.fakeProber.Probe(ctx, pod, st, c, id, pr)
}

// Only the runs that change a container's result are spans; periodic runs that confirm it, and
// runs below a threshold, are not.
func TestProbeSpans(t *testing.T) {
	S, F := Success, Failure
	for _, tc := range []struct {
		name    string
		kind    Kind
		probe   corev1.Probe
		results []Result
		want    []string // span name @ run index (1-based)
	}{
		{"readiness goes and comes", Readiness, corev1.Probe{PeriodSeconds: 1, SuccessThreshold: 1, FailureThreshold: 2},
			[]Result{S, S, F, F, S, S}, []string{"Readiness probe succeeded@1", "Readiness probe failed@4", "Readiness probe succeeded@5"}},
		{"readiness below its success threshold", Readiness, corev1.Probe{PeriodSeconds: 1, SuccessThreshold: 3, FailureThreshold: 1},
			[]Result{S, S, F, S, S, S}, []string{"Readiness probe succeeded@6"}},
		{"liveness confirmed then failed", Liveness, corev1.Probe{PeriodSeconds: 1, SuccessThreshold: 1, FailureThreshold: 1},
			[]Result{S, S, S, F, F}, []string{"Liveness probe failed@4"}},
		{"startup", Startup, corev1.Probe{PeriodSeconds: 1, SuccessThreshold: 1, FailureThreshold: 3},
			[]Result{F, F, S, S}, []string{"Startup probe succeeded@3"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := trace.New(context.Background(), trace.Options{})
			if err != nil {
				t.Fatal(err)
			}
			m, w, fp, clk, _, _ := setup(tc.kind, &tc.probe, false)
			m.cfg.Tracer, m.cfg.Component = p.Tracer(trace.ScopeName), trace.Agent("n1")
			m.cfg.Prober = slowProber{fp, clk}
			running(m, "1", t0, tc.kind != Startup)
			ctx := context.Background()
			runAt := map[time.Time]int{}
			for i, r := range tc.results {
				clk.Step(time.Second)
				runAt[clk.Now()] = i + 1
				fp.next = []Result{r}
				w.doProbe(ctx)
			}
			var got []string
			for _, sp := range p.Store.Query([]string{"u"}, nil) {
				got = append(got, fmt.Sprintf("%s@%d", sp.Name, runAt[sp.Start]))
				if sp.Duration() != 30*time.Millisecond || sp.Component != "agent:n1" || sp.Attributes[AttrContainer] != "c" ||
					sp.Attributes[AttrProbeKind] == "" || sp.Attributes[trace.AttrName] != "p" {
					t.Errorf("span %s: duration %v, component %s, attributes %v", sp.Name, sp.Duration(), sp.Component, sp.Attributes)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("spans %q, want %q", got, tc.want)
			}
		})
	}
}

func TestProbeSpanAttributes(t *testing.T) {
	p, err := trace.New(context.Background(), trace.Options{})
	if err != nil {
		t.Fatal(err)
	}
	m, w, fp, clk, _, _ := setup(Readiness, &corev1.Probe{PeriodSeconds: 1, SuccessThreshold: 1, FailureThreshold: 1}, false)
	m.cfg.Tracer, m.cfg.Component = p.Tracer(trace.ScopeName), trace.Agent("n1")
	running(m, "1", t0, true)
	for _, r := range []Result{Success, Failure} {
		clk.Step(time.Second)
		fp.next = []Result{r}
		w.doProbe(context.Background())
	}
	var got []string
	for _, sp := range p.Store.Query([]string{"u"}, nil) {
		got = append(got, fmt.Sprintf("%s: %s %s %q", sp.Name, sp.Attributes[AttrProbeKind], sp.Attributes[AttrProbeResult], sp.Attributes[AttrProbeOutput]))
	}
	want := []string{`Readiness probe succeeded: readiness success ""`, `Readiness probe failed: readiness failure "boom"`}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("spans %q, want %q", got, want)
	}
}
