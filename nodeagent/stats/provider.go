package stats

import (
	"context"
	"fmt"
	"sync"

	internalapi "k8s.io/cri-api/pkg/apis"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	"k8s.io/klog/v2"
	statsv1alpha1 "k8s.io/kubelet/pkg/apis/stats/v1alpha1"
	"k8s.io/utils/clock"
)

// Config configures a Provider.
type Config struct {
	// NodeName names the node in the Summary.
	NodeName string
	// Runtime is the CRI runtime service the pods run on.
	Runtime internalapi.RuntimeService
	// Host reads the host's CPU and memory (FSHost{os.DirFS("/")} on a real node).
	Host HostReader
	// Clock stamps the host's readings (the real clock when nil).
	Clock clock.PassiveClock
}

// Provider reads the node's statistics from the host and the runtime.
type Provider struct {
	cfg Config

	mu       sync.Mutex
	lastHost *HostSample
}

// NewProvider checks cfg.
func NewProvider(cfg Config) (*Provider, error) {
	if cfg.NodeName == "" || cfg.Runtime == nil || cfg.Host == nil {
		return nil, fmt.Errorf("stats provider needs a node name, a runtime and a host reader")
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	return &Provider{cfg: cfg}, nil
}

// Summary reads the host and the runtime and returns the node's Summary.
func (p *Provider) Summary(ctx context.Context) (*statsv1alpha1.Summary, error) {
	host, err := p.readHost()
	if err != nil {
		return nil, err
	}
	rs := p.cfg.Runtime
	var cri CRIStats
	if cri.Sandboxes, err = rs.ListPodSandbox(ctx, nil); err != nil {
		return nil, fmt.Errorf("listing pod sandboxes: %w", err)
	}
	if cri.Containers, err = rs.ListContainers(ctx, &runtimeapi.ContainerFilter{
		State: &runtimeapi.ContainerStateValue{State: runtimeapi.ContainerState_CONTAINER_RUNNING}}); err != nil {
		return nil, fmt.Errorf("listing containers: %w", err)
	}
	if cri.ContainerStats, err = rs.ListContainerStats(ctx, &runtimeapi.ContainerStatsFilter{}); err != nil {
		return nil, fmt.Errorf("listing container stats: %w", err)
	}
	// Pod-level statistics are optional in CRI: without them a pod is the sum of its containers.
	if cri.PodStats, err = rs.ListPodSandboxStats(ctx, &runtimeapi.PodSandboxStatsFilter{}); err != nil {
		klog.FromContext(ctx).V(4).Info("No pod sandbox stats from the runtime", "err", err)
		cri.PodStats = nil
	}
	s := BuildSummary(p.cfg.NodeName, host, cri)
	return &s, nil
}

// readHost reads the host, with the CPU rate since the reading before.
func (p *Provider) readHost() (HostSample, error) {
	st, err := p.cfg.Host.ReadHost()
	if err != nil {
		return HostSample{}, err
	}
	sample := HostSample{HostStats: st, Time: p.cfg.Clock.Now()}
	p.mu.Lock()
	defer p.mu.Unlock()
	if prev := p.lastHost; prev != nil {
		sample.UsageNanoCores = NanoCores(prev.CPUUsageCoreNanoSeconds, prev.Time, st.CPUUsageCoreNanoSeconds, sample.Time)
		if sample.UsageNanoCores == nil && prev.UsageNanoCores != nil && !sample.Time.After(prev.Time) {
			sample.UsageNanoCores = prev.UsageNanoCores
		}
	}
	p.lastHost = &sample
	return sample, nil
}
