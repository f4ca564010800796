package stats_test

import (
	"context"
	"errors"
	"os"
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
