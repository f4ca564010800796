package stats_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/skiff-dev/skiff/nodeagent/stats"
)

const procStat = `cpu  1000 20 300 90000 50 7 8 9 0 0
cpu0 500 10 150 45000 25 3 4 4 0 0
btime 1700000000
`

const meminfo = `MemTotal:        8000 kB
MemFree:         2000 kB
AnonPages:       1000 kB
Inactive(file):  1500 kB
`

func TestReadHost(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files fstest.MapFS
		want  stats.HostStats
		ws    uint64
		err   string
	}{{
		name:  "cgroup v1: proc only",
		files: fstest.MapFS{"proc/stat": {Data: []byte(procStat)}, "proc/meminfo": {Data: []byte(meminfo)}},
		// busy = user+nice+system+irq+softirq+steal = 1000+20+300+7+8+9 jiffies of 10ms.
		want: stats.HostStats{BootTime: time.Unix(1700000000, 0), CPUUsageCoreNanoSeconds: 1344 * 10_000_000,
			MemoryTotalBytes: 8000 * 1024, MemoryUsageBytes: 6000 * 1024, MemoryInactiveFileBytes: 1500 * 1024, MemoryRSSBytes: 1000 * 1024},
		ws: 4500 * 1024,
	}, {
		name: "cgroup v2 root",
		files: fstest.MapFS{"proc/stat": {Data: []byte(procStat)}, "proc/meminfo": {Data: []byte(meminfo)},
			"sys/fs/cgroup/cpu.stat":    {Data: []byte("usage_usec 5000000\nuser_usec 4000000\nsystem_usec 1000000\n")},
			"sys/fs/cgroup/memory.stat": {Data: []byte("anon 2048\nfile 4096\ninactive_file 3072\npgfault 77\npgmajfault 3\n")}},
		want: stats.HostStats{BootTime: time.Unix(1700000000, 0), CPUUsageCoreNanoSeconds: 5 * 1e9,
			MemoryTotalBytes: 8000 * 1024, MemoryUsageBytes: 6000 * 1024, MemoryInactiveFileBytes: 3072, MemoryRSSBytes: 2048,
			PageFaults: 77, MajorPageFaults: 3},
		ws: 6000*1024 - 3072,
	}, {
		name:  "no meminfo",
		files: fstest.MapFS{"proc/stat": {Data: []byte(procStat)}},
		err:   "proc/meminfo",
	}, {
		name:  "no btime",
		files: fstest.MapFS{"proc/stat": {Data: []byte("cpu 1 2 3 4 5 6 7 8\n")}, "proc/meminfo": {Data: []byte(meminfo)}},
		err:   "no cpu or btime line",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := stats.FSHost{FS: tc.files}.ReadHost()
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if got.WorkingSetBytes() != tc.ws {
				t.Errorf("working set %d, want %d", got.WorkingSetBytes(), tc.ws)
			}
		})
	}
}

func TestNanoCores(t *testing.T) {
	t0 := time.Unix(100, 0)
	for _, tc := range []struct {
		name       string
		prev, cur  uint64
		after      time.Duration
		want       uint64
		wantAbsent bool
	}{
		{name: "half a core", prev: 1e9, cur: 6e9, after: 10 * time.Second, want: 5e8},
		{name: "same time", prev: 1, cur: 2, after: 0, wantAbsent: true},
		{name: "counter reset", prev: 5e9, cur: 1e9, after: time.Second, wantAbsent: true},
	} {
		got := stats.NanoCores(tc.prev, t0, tc.cur, t0.Add(tc.after))
		if tc.wantAbsent != (got == nil) || got != nil && *got != tc.want {
			t.Errorf("%s: %v, want %d (absent %v)", tc.name, got, tc.want, tc.wantAbsent)
		}
	}
}

func u64(v uint64) *runtimeapi.UInt64Value { return &runtimeapi.UInt64Value{Value: v} }

// criFixture: pod web (two containers, one restarted: the old attempt exited) with sandbox
// stats, pod job (no sandbox stats: the sum of its container), an older sandbox of web and a
// not-ready sandbox.
func criFixture() stats.CRIStats {
	ts := time.Unix(1700000100, 0).UnixNano()
	sb := func(id, name, uid string, created int64, state runtimeapi.PodSandboxState) *runtimeapi.PodSandbox {
		return &runtimeapi.PodSandbox{Id: id, State: state, CreatedAt: created,
			Metadata: &runtimeapi.PodSandboxMetadata{Name: name, Namespace: "default", Uid: uid}}
	}
	ctr := func(id, sandbox, name string, created int64, state runtimeapi.ContainerState) *runtimeapi.Container {
		return &runtimeapi.Container{Id: id, PodSandboxId: sandbox, State: state, CreatedAt: created, Metadata: &runtimeapi.ContainerMetadata{Name: name}}
	}
	cstat := func(id string, cpuNs, ws uint64) *runtimeapi.ContainerStats {
		return &runtimeapi.ContainerStats{Attributes: &runtimeapi.ContainerAttributes{Id: id},
			Cpu:    &runtimeapi.CpuUsage{Timestamp: ts, UsageCoreNanoSeconds: u64(cpuNs)},
			Memory: &runtimeapi.MemoryUsage{Timestamp: ts, WorkingSetBytes: u64(ws), UsageBytes: u64(ws + 100)}}
	}
	start := time.Unix(1700000000, 0).UnixNano()
	return stats.CRIStats{
		Sandboxes: []*runtimeapi.PodSandbox{
			sb("web-old", "web", "uid-web", start-10, runtimeapi.PodSandboxState_SANDBOX_NOTREADY),
			sb("web-1", "web", "uid-web", start, runtimeapi.PodSandboxState_SANDBOX_READY),
			sb("job-1", "job", "uid-job", start, runtimeapi.PodSandboxState_SANDBOX_READY),
			sb("gone-1", "gone", "uid-gone", start, runtimeapi.PodSandboxState_SANDBOX_NOTREADY),
		},
		Containers: []*runtimeapi.Container{
			ctr("c-app-0", "web-1", "app", start+1, runtimeapi.ContainerState_CONTAINER_EXITED),
			ctr("c-app-1", "web-1", "app", start+2e9, runtimeapi.ContainerState_CONTAINER_RUNNING),
			ctr("c-side", "web-1", "sidecar", start+1e9, runtimeapi.ContainerState_CONTAINER_RUNNING),
			ctr("c-job", "job-1", "main", start+3e9, runtimeapi.ContainerState_CONTAINER_RUNNING),
		},
		ContainerStats: []*runtimeapi.ContainerStats{
			cstat("c-app-0", 9e9, 9), cstat("c-app-1", 2e9, 2000), cstat("c-side", 5e8, 500), cstat("c-job", 3e9, 3000),
		},
		PodStats: []*runtimeapi.PodSandboxStats{{Attributes: &runtimeapi.PodSandboxAttributes{Id: "web-1"},
			Linux: &runtimeapi.LinuxPodSandboxStats{
				Cpu:    &runtimeapi.CpuUsage{Timestamp: ts, UsageCoreNanoSeconds: u64(2600000000)},
				Memory: &runtimeapi.MemoryUsage{Timestamp: ts, WorkingSetBytes: u64(2600)}}}},
	}
}

func hostSample() stats.HostSample {
	return stats.HostSample{Time: time.Unix(1700000100, 0),
		HostStats: stats.HostStats{BootTime: time.Unix(1600000000, 0), CPUUsageCoreNanoSeconds: 123_500_000_000,
			MemoryTotalBytes: 8 << 30, MemoryUsageBytes: 3 << 30, MemoryInactiveFileBytes: 1 << 30}}
}

// TestBuildSummary pins the Summary's pods and containers: ready sandboxes only, the newest
// running container of each name, sandbox stats when the runtime has them, else the sum.
func TestBuildSummary(t *testing.T) {
	s := stats.BuildSummary("n1", hostSample(), criFixture(), stats.Disks{})
	type ctr struct {
		Name      string
		CPU, WS   uint64
		StartUnix float64
	}
	type pod struct {
		Name, UID string
		CPU, WS   uint64
		Ctrs      []ctr
	}
	var got []pod
	for _, p := range s.Pods {
		gp := pod{Name: p.PodRef.Name, UID: p.PodRef.UID, CPU: *p.CPU.UsageCoreNanoSeconds, WS: *p.Memory.WorkingSetBytes}
		for _, c := range p.Containers {
			gp.Ctrs = append(gp.Ctrs, ctr{c.Name, *c.CPU.UsageCoreNanoSeconds, *c.Memory.WorkingSetBytes, float64(c.StartTime.UnixNano()) / 1e9})
		}
		got = append(got, gp)
	}
	want := []pod{
		{Name: "job", UID: "uid-job", CPU: 3e9, WS: 3000, Ctrs: []ctr{{"main", 3e9, 3000, 1700000003}}},
		{Name: "web", UID: "uid-web", CPU: 26e8, WS: 2600, Ctrs: []ctr{{"app", 2e9, 2000, 1700000002}, {"sidecar", 5e8, 500, 1700000001}}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("pods (-want +got):\n%s", diff)
	}
	n := s.Node
	if n.NodeName != "n1" || *n.CPU.UsageCoreNanoSeconds != 123_500_000_000 || *n.Memory.WorkingSetBytes != 2<<30 ||
		*n.Memory.AvailableBytes != 6<<30 || *n.Memory.UsageBytes != 3<<30 || !n.StartTime.Equal(&metaTime) {
		b, _ := json.Marshal(n)
		t.Errorf("node: %s", b)
	}
}

var metaTime = metav1.NewTime(time.Unix(1600000000, 0))

// TestResourceMetrics pins /metrics/resource's text: upstream's names, help, labels, values in
// core-seconds and bytes, timestamps in milliseconds, families and series sorted.
func TestResourceMetrics(t *testing.T) {
	s := stats.BuildSummary("n1", hostSample(), criFixture(), stats.Disks{})
	var buf bytes.Buffer
	if err := stats.WriteText(&buf, stats.ResourceMetrics(&s, false)); err != nil {
		t.Fatal(err)
	}
	want := `# HELP container_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the container in core-seconds
# TYPE container_cpu_usage_seconds_total counter
container_cpu_usage_seconds_total{container="app",namespace="default",pod="web"} 2 1700000100000
container_cpu_usage_seconds_total{container="main",namespace="default",pod="job"} 3 1700000100000
container_cpu_usage_seconds_total{container="sidecar",namespace="default",pod="web"} 0.5 1700000100000
# HELP container_memory_working_set_bytes [STABLE] Current working set of the container in bytes
# TYPE container_memory_working_set_bytes gauge
container_memory_working_set_bytes{container="app",namespace="default",pod="web"} 2000 1700000100000
container_memory_working_set_bytes{container="main",namespace="default",pod="job"} 3000 1700000100000
container_memory_working_set_bytes{container="sidecar",namespace="default",pod="web"} 500 1700000100000
# HELP container_start_time_seconds [STABLE] Start time of the container since unix epoch in seconds
# TYPE container_start_time_seconds gauge
container_start_time_seconds{container="app",namespace="default",pod="web"} 1.700000002e+09
container_start_time_seconds{container="main",namespace="default",pod="job"} 1.700000003e+09
container_start_time_seconds{container="sidecar",namespace="default",pod="web"} 1.700000001e+09
# HELP node_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the node in core-seconds
# TYPE node_cpu_usage_seconds_total counter
node_cpu_usage_seconds_total 123.5 1700000100000
# HELP node_memory_working_set_bytes [STABLE] Current working set of the node in bytes
# TYPE node_memory_working_set_bytes gauge
node_memory_working_set_bytes 2.147483648e+09 1700000100000
# HELP pod_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the pod in core-seconds
# TYPE pod_cpu_usage_seconds_total counter
pod_cpu_usage_seconds_total{namespace="default",pod="job"} 3 1700000100000
pod_cpu_usage_seconds_total{namespace="default",pod="web"} 2.6 1700000100000
# HELP pod_memory_working_set_bytes [STABLE] Current working set of the pod in bytes
# TYPE pod_memory_working_set_bytes gauge
pod_memory_working_set_bytes{namespace="default",pod="job"} 3000 1700000100000
pod_memory_working_set_bytes{namespace="default",pod="web"} 2600 1700000100000
# HELP resource_scrape_error [STABLE] 1 if there was an error while getting container metrics, 0 otherwise
# TYPE resource_scrape_error gauge
resource_scrape_error 0
# HELP scrape_error [ALPHA] (Deprecated since 1.29.0) 1 if there was an error while getting container metrics, 0 otherwise
# TYPE scrape_error gauge
scrape_error 0
`
	if diff := cmp.Diff(want, buf.String()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	buf.Reset()
	if err := stats.WriteText(&buf, stats.ResourceMetrics(nil, true)); err != nil {
		t.Fatal(err)
	}
	if got := buf.String(); !strings.Contains(got, "\nresource_scrape_error 1\n") || !strings.Contains(got, "\nscrape_error 1\n") || strings.Contains(got, "node_cpu") {
		t.Errorf("failed scrape:\n%s", got)
	}
}

// BenchmarkResourceMetrics: a full node (110 pods of two containers) from CRI stats to the
// /metrics/resource text.
func BenchmarkResourceMetrics(b *testing.B) {
	rs := fullRuntime(110) // without its pod sandbox stats: pods are their containers' sums
	cri := stats.CRIStats{Sandboxes: rs.sandboxes, Containers: rs.containers, ContainerStats: rs.ctrStats}
	var buf bytes.Buffer
	for b.Loop() {
		buf.Reset()
		s := stats.BuildSummary("n1", hostSample(), cri, stats.Disks{})
		if err := stats.WriteText(&buf, stats.ResourceMetrics(&s, false)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(buf.Len()), "bytes/scrape")
}
