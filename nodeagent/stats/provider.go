package stats

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"time"

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

	// Images is the runtime's image service, for the image file system (none when nil).
	Images internalapi.ImageManagerService
	// RootDir is a directory on the node's file system, the agent's data directory (the
	// kubelet's nodefs; none when "").
	RootDir string
	// PodDir is a pod's directory by UID, with its volumes in volumes/<plugin>/<name> (no volume
	// statistics when nil).
	PodDir func(uid string) string
	// PodLogDir is a pod's log directory, a directory per container in it (no log statistics
	// when nil).
	PodLogDir func(namespace, name, uid string) string
	// StatFS and MeasureDir read file systems and directory trees (the package's StatFS and
	// MeasureDir when nil).
	StatFS     func(path string) (FsUsage, error)
	MeasureDir func(path string) (DirUsage, error)
	// DiskPeriod is how long a directory's measurement is reused (a minute when 0, as the
	// kubelet's volume statistics period): walking every pod's volumes and logs at every scrape
	// would cost more than the statistics are worth.
	DiskPeriod time.Duration
}

// Provider reads the node's statistics from the host and the runtime.
type Provider struct {
	cfg Config

	mu       sync.Mutex
	lastHost *HostSample
	dirs     *dirCache
}

// NewProvider checks cfg.
func NewProvider(cfg Config) (*Provider, error) {
	if cfg.NodeName == "" || cfg.Runtime == nil || cfg.Host == nil {
		return nil, fmt.Errorf("stats provider needs a node name, a runtime and a host reader")
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	if cfg.StatFS == nil {
		cfg.StatFS = StatFS
	}
	if cfg.MeasureDir == nil {
		cfg.MeasureDir = MeasureDir
	}
	if cfg.DiskPeriod == 0 {
		cfg.DiskPeriod = time.Minute
	}
	return &Provider{cfg: cfg, dirs: &dirCache{measure: cfg.MeasureDir, clock: cfg.Clock, ttl: cfg.DiskPeriod}}, nil
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
	s := BuildSummary(p.cfg.NodeName, host, cri, p.readDisks(ctx, cri.Sandboxes))
	return &s, nil
}

// readDisks reads the node's and the runtime's file systems and measures the ready pods' log
// directories and volumes. What cannot be read is left out (and logged): the rest of the
// summary stands without it.
func (p *Provider) readDisks(ctx context.Context, sandboxes []*runtimeapi.PodSandbox) Disks {
	log := klog.FromContext(ctx)
	d := Disks{Time: p.cfg.Clock.Now(), Logs: map[string]map[string]DirUsage{}, Volumes: map[string]map[string]DirUsage{}}
	if p.cfg.RootDir != "" {
		if u, err := p.cfg.StatFS(p.cfg.RootDir); err != nil {
			log.V(2).Info("No node file system statistics", "err", err)
		} else {
			d.NodeFs = &u
		}
	}
	if p.cfg.Images != nil {
		if u, err := p.imageFs(ctx); err != nil {
			log.V(2).Info("No image file system statistics", "err", err)
		} else {
			d.ImageFs = u
		}
	}
	measure := func(path string) (DirUsage, bool) {
		u, err := p.dirs.get(path)
		if err != nil {
			log.V(4).Info("Directory not measured", "path", path, "err", err)
			return u, false
		}
		return u, true
	}
	for uid, sb := range readySandboxes(sandboxes) {
		md := sb.GetMetadata()
		if p.cfg.PodLogDir != nil {
			dir := p.cfg.PodLogDir(md.GetNamespace(), md.GetName(), uid)
			for _, c := range listDirs(dir) {
				if u, ok := measure(filepath.Join(dir, c)); ok {
					if d.Logs[uid] == nil {
						d.Logs[uid] = map[string]DirUsage{}
					}
					d.Logs[uid][c] = u
				}
			}
		}
		if p.cfg.PodDir != nil {
			vols := filepath.Join(p.cfg.PodDir(uid), "volumes")
			for _, plugin := range listDirs(vols) {
				for _, name := range listDirs(filepath.Join(vols, plugin)) {
					if u, ok := measure(filepath.Join(vols, plugin, name)); ok {
						if d.Volumes[uid] == nil {
							d.Volumes[uid] = map[string]DirUsage{}
						}
						d.Volumes[uid][name] = u
					}
				}
			}
		}
	}
	p.dirs.sweep()
	return d
}

// imageFs is the runtime's image file system (ImageFsUsage).
func (p *Provider) imageFs(ctx context.Context) (*FsUsage, error) {
	u, err := ImageFsUsage(ctx, p.cfg.Images, p.cfg.StatFS)
	if err != nil {
		return nil, err
	}
	return &u, nil
}

// ImageFsUsage is the runtime's image file system: what its images use, from CRI ImageFsInfo,
// on the file system of its mount point, read with statFS (capacity and available bytes).
func ImageFsUsage(ctx context.Context, images internalapi.ImageManagerService, statFS func(string) (FsUsage, error)) (FsUsage, error) {
	resp, err := images.ImageFsInfo(ctx)
	if err != nil {
		return FsUsage{}, fmt.Errorf("image fs info: %w", err)
	}
	if len(resp.GetImageFilesystems()) == 0 {
		return FsUsage{}, fmt.Errorf("the runtime reports no image file system")
	}
	img := resp.GetImageFilesystems()[0]
	u, err := statFS(img.GetFsId().GetMountpoint())
	if err != nil {
		return FsUsage{}, err
	}
	u.UsedBytes, u.InodesUsed = img.GetUsedBytes().GetValue(), img.GetInodesUsed().GetValue()
	return u, nil
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
