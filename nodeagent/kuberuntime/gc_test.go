package kuberuntime

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	clocktesting "k8s.io/utils/clock/testing"
)

func TestPlanGC(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 3, 0, 0, 0, time.UTC)
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	const (
		exited  = runtimeapi.ContainerState_CONTAINER_EXITED
		running = runtimeapi.ContainerState_CONTAINER_RUNNING
		created = runtimeapi.ContainerState_CONTAINER_CREATED
	)
	live := func(uid string) bool { return uid == "live" }
	for _, tc := range []struct {
		name string
		ctrs []GCContainer
		sbs  []GCSandbox
		dirs []string
		want GCPlan
	}{
		{name: "two attempts of each name are kept, older exited ones go",
			ctrs: []GCContainer{
				{ID: "a1", SandboxID: "s1", PodUID: "live", Name: "a", CreatedAt: at(1), State: exited},
				{ID: "a3", SandboxID: "s1", PodUID: "live", Name: "a", CreatedAt: at(3), State: running},
				{ID: "a2", SandboxID: "s1", PodUID: "live", Name: "a", CreatedAt: at(2), State: exited},
				{ID: "a0", SandboxID: "s1", PodUID: "live", Name: "a", CreatedAt: at(0), State: exited},
				{ID: "b1", SandboxID: "s1", PodUID: "live", Name: "b", CreatedAt: at(1), State: exited},
				{ID: "b2", SandboxID: "s1", PodUID: "live", Name: "b", CreatedAt: at(2), State: exited},
			},
			sbs:  []GCSandbox{{ID: "s1", PodUID: "live", CreatedAt: at(0), Ready: true}},
			dirs: []string{"ns_p_live"},
			want: GCPlan{Containers: []string{"a0", "a1"}}},
		{name: "dead sandboxes of a live pod go but the newest",
			ctrs: []GCContainer{
				{ID: "c-old", SandboxID: "s-old", PodUID: "live", Name: "c", CreatedAt: at(0), State: exited},
				{ID: "c-older", SandboxID: "s-older", PodUID: "live", Name: "c", CreatedAt: at(-1), State: exited},
				{ID: "c-oldest", SandboxID: "s-oldest", PodUID: "live", Name: "c", CreatedAt: at(-2), State: exited},
			},
			sbs: []GCSandbox{
				{ID: "s-new", PodUID: "live", CreatedAt: at(5)},
				{ID: "s-old", PodUID: "live", CreatedAt: at(0)},
				{ID: "s-older", PodUID: "live", CreatedAt: at(-1)},
				{ID: "s-oldest", PodUID: "live", CreatedAt: at(-2)},
			},
			// s-old and s-older keep their containers (the two attempts kept): they stay.
			want: GCPlan{Containers: []string{"c-oldest"}, Sandboxes: []string{"s-oldest"}}},
		{name: "a deleted pod loses its exited containers, dead sandboxes and log dir",
			ctrs: []GCContainer{
				{ID: "d1", SandboxID: "sd", PodUID: "gone", Name: "c", CreatedAt: at(1), State: exited},
				{ID: "d2", SandboxID: "sd", PodUID: "gone", Name: "c", CreatedAt: at(2), State: exited},
			},
			sbs:  []GCSandbox{{ID: "sd", PodUID: "gone", CreatedAt: at(0)}},
			dirs: []string{"ns_p_gone", "ns_q_live"},
			want: GCPlan{Containers: []string{"d1", "d2"}, Sandboxes: []string{"sd"}, LogDirs: []string{"ns_p_gone"}}},
		{name: "a deleted pod's running or created containers, ready sandbox and logs stay",
			ctrs: []GCContainer{
				{ID: "r", SandboxID: "sr", PodUID: "gone", Name: "c", CreatedAt: at(2), State: running},
				{ID: "n", SandboxID: "sr", PodUID: "gone", Name: "d", CreatedAt: at(2), State: created},
			},
			sbs:  []GCSandbox{{ID: "sr", PodUID: "gone", CreatedAt: at(0), Ready: true}},
			dirs: []string{"ns_p_gone"},
			want: GCPlan{}},
		{name: "containers and sandboxes without a pod uid are not the GC's",
			ctrs: []GCContainer{{ID: "x", SandboxID: "sx", Name: "c", CreatedAt: at(1), State: exited}},
			sbs:  []GCSandbox{{ID: "sx", CreatedAt: at(0)}},
			want: GCPlan{}},
		{name: "a log dir without a pod goes; names without a uid stay",
			dirs: []string{"ns_p_gone", "stray", "ns_p_live"},
			want: GCPlan{LogDirs: []string{"ns_p_gone"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := PlanGC(tc.ctrs, tc.sbs, tc.dirs, live)
			if !slices.Equal(got.Containers, tc.want.Containers) || !slices.Equal(got.Sandboxes, tc.want.Sandboxes) || !slices.Equal(got.LogDirs, tc.want.LogDirs) {
				t.Errorf("PlanGC:\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// TestGarbageCollect: restarts leave two attempts and their log files; once the pod is gone
// its containers, sandbox and log directory go.
func TestGarbageCollect(t *testing.T) {
	ctx := context.Background()
	clk := clocktesting.NewFakeClock(t0)
	f := newFakeCRI(clk)
	logsDir := t.TempDir()
	m := NewManager(Config{Runtime: f, Images: f, Clock: clk, PodLogsDir: logsDir, BackoffInitial: time.Millisecond, BackoffMax: time.Millisecond})
	pod := testPod(corev1.RestartPolicyAlways, nil, "a")
	podDir := BuildPodLogsDirectory(logsDir, pod)
	// Each attempt writes its log file, as the runtime does.
	writeLogs := func() {
		t.Helper()
		rt, err := m.PodRuntime(ctx, string(pod.UID))
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range rt.Containers {
			st, err := f.ContainerStatus(ctx, c.ID, false)
			if err != nil {
				t.Fatal(err)
			}
			p := st.GetStatus().GetLogPath()
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte("x\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	doSync(t, m, pod)
	for range 4 {
		writeLogs()
		clk.Step(time.Second)
		f.exit("a", 1, "Error")
		doSync(t, m, pod)
	}
	writeLogs()
	names := func() []string {
		entries, _ := os.ReadDir(filepath.Join(podDir, "a"))
		var out []string
		for _, e := range entries {
			out = append(out, e.Name())
		}
		return out
	}
	if got := names(); !slices.Equal(got, []string{"3.log", "4.log"}) {
		t.Fatalf("log files of the kept attempts: %v", got)
	}
	if err := m.GarbageCollect(ctx, func(string) bool { return true }); err != nil {
		t.Fatal(err)
	}
	if rt, _ := m.PodRuntime(ctx, string(pod.UID)); len(rt.Containers) != 2 || len(rt.Sandboxes) != 1 {
		t.Fatalf("a live pod lost attempts: %d containers, %d sandboxes", len(rt.Containers), len(rt.Sandboxes))
	}

	if err := m.KillPod(ctx, pod, nil); err != nil {
		t.Fatal(err)
	}
	if err := m.GarbageCollect(ctx, func(string) bool { return false }); err != nil {
		t.Fatal(err)
	}
	if rt, _ := m.PodRuntime(ctx, string(pod.UID)); len(rt.Containers) != 0 || len(rt.Sandboxes) != 0 {
		t.Fatalf("a deleted pod kept %d containers, %d sandboxes", len(rt.Containers), len(rt.Sandboxes))
	}
	if _, err := os.Stat(podDir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the deleted pod's log directory: %v", err)
	}
}
