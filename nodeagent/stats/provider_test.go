package stats_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	internalapi "k8s.io/cri-api/pkg/apis"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/skiff-dev/skiff/nodeagent/stats"
)

// fakeRuntime answers the CRI calls of the stats provider; errs fails them by name.
type fakeRuntime struct {
	internalapi.RuntimeService
	sandboxes  []*runtimeapi.PodSandbox
	containers []*runtimeapi.Container
	ctrStats   []*runtimeapi.ContainerStats
	podStats   []*runtimeapi.PodSandboxStats
	errs       map[string]error
}

func (f *fakeRuntime) ListPodSandbox(context.Context, *runtimeapi.PodSandboxFilter) ([]*runtimeapi.PodSandbox, error) {
	return f.sandboxes, f.errs["ListPodSandbox"]
}

func (f *fakeRuntime) ListContainers(_ context.Context, filter *runtimeapi.ContainerFilter) ([]*runtimeapi.Container, error) {
	var out []*runtimeapi.Container
	for _, c := range f.containers {
		if filter.GetState() == nil || filter.GetState().GetState() == c.GetState() {
			out = append(out, c)
		}
	}
	return out, f.errs["ListContainers"]
}

func (f *fakeRuntime) ListContainerStats(context.Context, *runtimeapi.ContainerStatsFilter) ([]*runtimeapi.ContainerStats, error) {
	return f.ctrStats, f.errs["ListContainerStats"]
}

func (f *fakeRuntime) ListPodSandboxStats(context.Context, *runtimeapi.PodSandboxStatsFilter) ([]*runtimeapi.PodSandboxStats, error) {
	return f.podStats, f.errs["ListPodSandboxStats"]
}

// stepHost is a host whose CPU counter grows by a second of one core at every read.
type stepHost struct{ cpu uint64 }

func (h *stepHost) ReadHost() (stats.HostStats, error) {
	h.cpu += 1e9
	return stats.HostStats{BootTime: time.Unix(1600000000, 0), CPUUsageCoreNanoSeconds: h.cpu, MemoryTotalBytes: 4 << 30, MemoryUsageBytes: 1 << 30}, nil
}

// TestProviderOnFakeRuntime reads a summary from a fake CRI runtime: the pod's sandbox stats,
// its container's, the node's CPU rate from the reading before; without sandbox stats the pod
// is its containers' sum; a runtime that fails fails the summary.
func TestProviderOnFakeRuntime(t *testing.T) {
	ctx := context.Background()
	created := time.Unix(1700000000, 0).UnixNano()
	ts := time.Unix(1700000100, 0).UnixNano()
	rs := &fakeRuntime{errs: map[string]error{},
		sandboxes: []*runtimeapi.PodSandbox{{Id: "sb1", CreatedAt: created, State: runtimeapi.PodSandboxState_SANDBOX_READY,
			Metadata: &runtimeapi.PodSandboxMetadata{Name: "web", Namespace: "default", Uid: "u1"}}},
		containers: []*runtimeapi.Container{{Id: "c1", PodSandboxId: "sb1", CreatedAt: created,
			State: runtimeapi.ContainerState_CONTAINER_RUNNING, Metadata: &runtimeapi.ContainerMetadata{Name: "app"}}},
		ctrStats: []*runtimeapi.ContainerStats{{Attributes: &runtimeapi.ContainerAttributes{Id: "c1"},
			Cpu:    &runtimeapi.CpuUsage{Timestamp: ts, UsageCoreNanoSeconds: u64(7e9)},
			Memory: &runtimeapi.MemoryUsage{Timestamp: ts, WorkingSetBytes: u64(1 << 20)}}},
		podStats: []*runtimeapi.PodSandboxStats{{Attributes: &runtimeapi.PodSandboxAttributes{Id: "sb1"},
			Linux: &runtimeapi.LinuxPodSandboxStats{Cpu: &runtimeapi.CpuUsage{Timestamp: ts, UsageCoreNanoSeconds: u64(8e9)},
				Memory: &runtimeapi.MemoryUsage{Timestamp: ts, WorkingSetBytes: u64(2 << 20)}}}},
	}
	clk := clocktesting.NewFakePassiveClock(time.Unix(1700000100, 0))
	p, err := stats.NewProvider(stats.Config{NodeName: "n1", Runtime: rs, Host: &stepHost{}, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	s, err := p.Summary(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Pods) != 1 || len(s.Pods[0].Containers) != 1 || *s.Pods[0].CPU.UsageCoreNanoSeconds != 8e9 ||
		*s.Pods[0].Containers[0].CPU.UsageCoreNanoSeconds != 7e9 || s.Node.CPU.UsageNanoCores != nil {
		t.Fatalf("first summary: %+v", s)
	}
	clk.SetTime(clk.Now().Add(4 * time.Second))
	rs.errs["ListPodSandboxStats"] = errors.New("unimplemented")
	if s, err = p.Summary(ctx); err != nil {
		t.Fatal(err)
	}
	// A second of CPU in 4 s: a quarter core.
	if s.Node.CPU.UsageNanoCores == nil || *s.Node.CPU.UsageNanoCores != 25e7 {
		t.Errorf("node nanocores %v", s.Node.CPU.UsageNanoCores)
	}
	if *s.Pods[0].CPU.UsageCoreNanoSeconds != 7e9 || *s.Pods[0].Memory.WorkingSetBytes != 1<<20 {
		t.Errorf("pod without sandbox stats: cpu %d memory %d", *s.Pods[0].CPU.UsageCoreNanoSeconds, *s.Pods[0].Memory.WorkingSetBytes)
	}
	rs.errs["ListPodSandbox"] = errors.New("runtime down")
	if _, err := p.Summary(ctx); err == nil || !strings.Contains(err.Error(), "listing pod sandboxes: runtime down") {
		t.Errorf("failing runtime: %v", err)
	}
}

// TestReadThisHost reads this machine's /proc and cgroup root, as a node does, and logs what
// it found.
func TestReadThisHost(t *testing.T) {
	if _, err := os.Stat("/proc/stat"); err != nil {
		t.Skip("no /proc")
	}
	h, err := stats.FSHost{FS: os.DirFS("/")}.ReadHost()
	if err != nil {
		t.Fatal(err)
	}
	if h.CPUUsageCoreNanoSeconds == 0 || h.MemoryTotalBytes == 0 || h.WorkingSetBytes() == 0 || h.WorkingSetBytes() > h.MemoryTotalBytes || h.BootTime.After(time.Now()) {
		t.Errorf("implausible host stats: %+v", h)
	}
	t.Logf("boot %v, cpu %.1f core-seconds, memory total %d MiB, usage %d MiB, working set %d MiB, rss %d MiB",
		h.BootTime, float64(h.CPUUsageCoreNanoSeconds)/1e9, h.MemoryTotalBytes>>20, h.MemoryUsageBytes>>20, h.WorkingSetBytes()>>20, h.MemoryRSSBytes>>20)
}

// fullRuntime is a fake runtime with pods pods of two running containers, with stats.
func fullRuntime(pods int) *fakeRuntime {
	ts := time.Unix(1700000100, 0).UnixNano()
	rs := &fakeRuntime{errs: map[string]error{}}
	for i := range pods {
		sb := fmt.Sprintf("sb%d", i)
		rs.sandboxes = append(rs.sandboxes, &runtimeapi.PodSandbox{Id: sb, State: runtimeapi.PodSandboxState_SANDBOX_READY, CreatedAt: 1,
			Metadata: &runtimeapi.PodSandboxMetadata{Name: fmt.Sprintf("pod-%d", i), Namespace: "default", Uid: sb}})
		rs.podStats = append(rs.podStats, &runtimeapi.PodSandboxStats{Attributes: &runtimeapi.PodSandboxAttributes{Id: sb},
			Linux: &runtimeapi.LinuxPodSandboxStats{Cpu: &runtimeapi.CpuUsage{Timestamp: ts, UsageCoreNanoSeconds: u64(uint64(i) * 2e9)},
				Memory: &runtimeapi.MemoryUsage{Timestamp: ts, WorkingSetBytes: u64(2 << 20)}}})
		for _, name := range []string{"app", "sidecar"} {
			id := sb + name
			rs.containers = append(rs.containers, &runtimeapi.Container{Id: id, PodSandboxId: sb, State: runtimeapi.ContainerState_CONTAINER_RUNNING,
				CreatedAt: 2, Metadata: &runtimeapi.ContainerMetadata{Name: name}})
			rs.ctrStats = append(rs.ctrStats, &runtimeapi.ContainerStats{Attributes: &runtimeapi.ContainerAttributes{Id: id},
				Cpu: &runtimeapi.CpuUsage{Timestamp: ts, UsageCoreNanoSeconds: u64(uint64(i) * 1e9)}, Memory: &runtimeapi.MemoryUsage{Timestamp: ts, WorkingSetBytes: u64(1 << 20)}})
		}
	}
	return rs
}

// BenchmarkStatsCost is the agent's own cost of serving its statistics (issue 14): one scrape of
// /stats/summary and one of /metrics/resource (what metrics-server or the built-in metrics API
// and a Prometheus read) from the runtime's answers to the bytes served, with 100 pods of two
// containers next to an idle node (no pods) in the same run. The runtime's side (containerd
// reading cgroups) is not the agent's and is faked. Reported: CPU time and bytes allocated per
// scrape pair for each, the 100-pod/idle ratios, and the share of one core the 100-pod node
// spends at metrics-server's default resolution (one scrape pair every 15 s), which must stay
// under 1%.
func BenchmarkStatsCost(b *testing.B) {
	ctx := context.Background()
	newProvider := func(pods int) *stats.Provider {
		p, err := stats.NewProvider(stats.Config{NodeName: "n1", Runtime: fullRuntime(pods), Host: &stepHost{}})
		if err != nil {
			b.Fatal(err)
		}
		return p
	}
	idle, full := newProvider(0), newProvider(100)
	var buf bytes.Buffer
	scrape := func(p *stats.Provider) (time.Duration, uint64) {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		start := time.Now()
		sum, err := p.Summary(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := json.Marshal(sum); err != nil {
			b.Fatal(err)
		}
		sum, err = p.Summary(ctx)
		if err != nil {
			b.Fatal(err)
		}
		buf.Reset()
		if err := stats.WriteText(&buf, stats.ResourceMetrics(sum, false)); err != nil {
			b.Fatal(err)
		}
		d := time.Since(start)
		runtime.ReadMemStats(&after)
		return d, after.TotalAlloc - before.TotalAlloc
	}
	var idleCPU, fullCPU time.Duration
	var idleBytes, fullBytes uint64
	for b.Loop() {
		d, a := scrape(idle)
		idleCPU, idleBytes = idleCPU+d, idleBytes+a
		d, a = scrape(full)
		fullCPU, fullBytes = fullCPU+d, fullBytes+a
	}
	n := float64(b.N)
	b.ReportMetric(float64(idleCPU.Microseconds())/n, "idle-µs/scrape")
	b.ReportMetric(float64(fullCPU.Microseconds())/n, "100pods-µs/scrape")
	b.ReportMetric(float64(idleBytes)/n, "idle-B/scrape")
	b.ReportMetric(float64(fullBytes)/n, "100pods-B/scrape")
	b.ReportMetric(float64(fullCPU)/float64(idleCPU), "100pods/idle-cpu")
	b.ReportMetric(float64(fullBytes)/float64(idleBytes), "100pods/idle-bytes")
	share := float64(fullCPU) / n / float64(15*time.Second) * 100
	b.ReportMetric(share, "100pods-%core@15s")
	if share >= 1 {
		b.Errorf("serving the statistics of 100 pods takes %.3f%% of a core at a 15 s resolution, want < 1%%", share)
	}
}
