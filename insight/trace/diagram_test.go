package trace

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// podPath is a pod's start as the components record it (times in ms from t0).
func podPath() []Span {
	t0 := time.Date(2026, 12, 6, 5, 0, 0, 0, time.UTC)
	sp := func(id, parent, link, name, comp, caller string, from, to float64) Span {
		ms := func(v float64) time.Time { return t0.Add(time.Duration(v * float64(time.Millisecond))) }
		return Span{TraceID: "t-" + id, SpanID: id, ParentSpanID: parent, LinkSpanID: link, Name: name, Component: comp,
			Caller: caller, Start: ms(from), End: ms(to)}
	}
	s := []Span{
		sp("rc", "", "", "reconcile ReplicaSet", "controller:replicaset", "", 0, 6),
		sp("create", "rc", "", "POST pods", "apiserver", "controller:replicaset", 1, 5),
		sp("etcd", "create", "", "Create etcd3", "etcd", "apiserver", 2, 4),
		sp("sched", "", "", "schedule", "scheduler", "", 6, 20),
		sp("wait", "sched", "", "queue wait", "scheduler", "", 6, 8),
		sp("filter", "sched", "", "filter", "scheduler", "", 8, 10),
		sp("score", "sched", "", "score", "scheduler", "", 10, 11),
		sp("bind", "sched", "", "bind", "scheduler", "", 11, 20),
		sp("binding", "", "bind", "POST pods/binding", "apiserver", "scheduler", 12, 19),
		sp("etcd2", "binding", "", "GuaranteedUpdate etcd3", "etcd", "apiserver", 13, 18),
		sp("sync", "", "", "sync pod", "agent:n1", "", 21, 900),
		sp("sandbox", "sync", "", "RunPodSandbox", "runtime", "agent:n1", 21, 400),
		sp("pull", "sync", "", "PullImage", "runtime", "agent:n1", 400, 420),
		sp("cstart", "sync", "", "CreateContainer+StartContainer", "runtime", "agent:n1", 420, 800),
		sp("status", "sync", "", "PUT pods/status", "apiserver", "agent:n1", 800, 900),
		sp("proxy", "", "", "sync rules", "proxy", "", 950, 990),
	}
	return s
}

// servicePath is podPath for a pod behind a Service: the watch events that reach the
// controllers, the readiness probe that succeeds, the endpoints controller's slice write and the
// proxy's sync that program it.
func servicePath() []Span {
	s := podPath()
	t0 := s[0].Start
	sp := func(id, parent, name, comp, caller string, from, to float64, attrs ...string) Span {
		ms := func(v float64) time.Time { return t0.Add(time.Duration(v * float64(time.Millisecond))) }
		a := map[string]string{}
		for i := 0; i+1 < len(attrs); i += 2 {
			a[attrs[i]] = attrs[i+1]
		}
		return Span{TraceID: "t-" + id, SpanID: id, ParentSpanID: parent, Name: name, Component: comp, Caller: caller,
			Start: ms(from), End: ms(to), Attributes: a}
	}
	for i := range s {
		if s[i].SpanID == "status" {
			s[i].Start, s[i].End = t0.Add(1000*time.Millisecond), t0.Add(1010*time.Millisecond)
		}
		if s[i].SpanID == "sync" {
			s[i].End = t0.Add(1010 * time.Millisecond)
		}
		if s[i].SpanID == "proxy" {
			s[i] = sp("proxy", "", "program rules: web-1 ready", "proxy", "", 1030, 1040, AttrRelatedUIDs, "pod")
		}
	}
	s = append(s,
		sp("w1", "", "watch Pod event", "controller:replicaset", "apiserver", 5.5, 5.6),
		sp("w2", "", "watch Pod event", "controller:endpoints", "apiserver", 5.5, 5.7),
		sp("probe", "", "Readiness probe succeeded", "agent:n1", "", 990, 995),
		sp("rsvc", "", "reconcile Service", "controller:endpoints", "", 1012, 1025),
		sp("write", "rsvc", "update EndpointSlice web-x: web-1 ready", "controller:endpoints", "", 1014, 1024,
			AttrRelatedUIDs, "pod"),
		sp("put", "write", "PUT endpointslices", "apiserver", "controller:endpoints", 1015, 1023),
	)
	sort.SliceStable(s, func(i, j int) bool { return s[i].Start.Before(s[j].Start) })
	return s
}

func TestColumns(t *testing.T) {
	got := Columns(podPath())
	want := []string{"apiserver", "etcd", "controller:replicaset", "scheduler", "agent:n1", "runtime", "proxy"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("Columns = %v, want %v", got, want)
	}
}

func TestCriticalPath(t *testing.T) {
	spans := podPath()
	var names []string
	for _, i := range CriticalPath(spans) {
		names = append(names, spans[i].SpanID)
	}
	// Leaves only (the schedule and sync pod parents give way to their steps); the binding's
	// etcd write ends inside bind, which ends later.
	want := []string{"etcd", "wait", "filter", "score", "bind", "sandbox", "pull", "cstart", "status", "proxy"}
	if fmt.Sprint(names) != fmt.Sprint(want) {
		t.Fatalf("CriticalPath = %v, want %v", names, want)
	}
	if got := Sum(spans, CriticalPath(spans)); got != 2*time.Millisecond+14*time.Millisecond+879*time.Millisecond+40*time.Millisecond {
		t.Errorf("Sum = %v", got)
	}
}

func TestRenderGolden(t *testing.T) {
	for _, tc := range []struct {
		name  string
		spans []Span
	}{
		{"pod", podPath()},
		{"service", servicePath()},
		{"empty", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Render(tc.spans)
			path := filepath.Join("testdata", tc.name+".golden")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("Render:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

// A short unrelated span overlapping the end of a long step and ending after it does not cut
// the long step out of the chain (the one that ended last before the next step would).
func TestCriticalPathSkipsSqueezedWork(t *testing.T) {
	t0 := time.Unix(0, 0)
	ms := func(v int) time.Time { return t0.Add(time.Duration(v) * time.Millisecond) }
	spans := []Span{
		{SpanID: "start", Start: ms(0), End: ms(800)},
		{SpanID: "other", Start: ms(790), End: ms(880)},
		{SpanID: "status", Start: ms(900), End: ms(950)},
	}
	var got []string
	for _, i := range CriticalPath(spans) {
		got = append(got, spans[i].SpanID)
	}
	if fmt.Sprint(got) != "[start status]" {
		t.Fatalf("CriticalPath = %v, want [start status]", got)
	}
}

// The endpoints controller's slice write stays in the diagram though it nests in its reconcile
// and has the API request as its child: its related pods are why it is in a pod's trace.
func TestVisibleKeepsRelated(t *testing.T) {
	var names []string
	for _, sp := range Visible(servicePath()) {
		if sp.Component == "controller:endpoints" || sp.Component == ComponentProxy {
			names = append(names, sp.Name)
		}
	}
	want := []string{"watch Pod event", "reconcile Service", "update EndpointSlice web-x: web-1 ready", "program rules: web-1 ready"}
	if fmt.Sprint(names) != fmt.Sprint(want) {
		t.Errorf("visible endpoints and proxy spans %q, want %q", names, want)
	}
	cols := Columns(servicePath())
	want = []string{"apiserver", "etcd", "controller:replicaset", "controller:endpoints", "scheduler", "agent:n1", "runtime", "proxy"}
	if fmt.Sprint(cols) != fmt.Sprint(want) {
		t.Errorf("Columns = %v, want %v", cols, want)
	}
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0:                        "0",
		850 * time.Microsecond:   "850µs",
		12 * time.Millisecond:    "12ms",
		1500 * time.Microsecond:  "1.5ms",
		12345 * time.Microsecond: "12.3ms",
		340 * time.Millisecond:   "340ms",
		1250 * time.Millisecond:  "1.25s",
		123 * time.Second:        "2m3s",
		-5 * time.Millisecond:    "-5ms",
	} {
		if got := FormatDuration(d); got != want {
			t.Errorf("FormatDuration(%v) = %q, want %q", d, got, want)
		}
	}
}
