package logs

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	cri "k8s.io/cri-api/pkg/apis"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
)

// Defaults of Config, upstream's containerLogMaxSize, containerLogMaxFiles and
// containerLogMonitorInterval.
const (
	DefaultMaxSize       = 10 * 1024 * 1024
	DefaultMaxFiles      = 5
	DefaultMonitorPeriod = 10 * time.Second
)

// Config configures a Manager; Runtime is required.
type Config struct {
	Runtime cri.RuntimeService
	// MaxSize is the size in bytes at which a log file is rotated (10Mi); MaxFiles how many
	// files of one container's log are kept, the current one included (5, at least 2).
	MaxSize  int64
	MaxFiles int
	// MonitorPeriod is how often the logs are looked at (10 s).
	MonitorPeriod time.Duration
	Clock         clock.WithTicker
}

// Manager rotates the logs of the runtime's running containers.
type Manager struct {
	cfg Config
}

// NewManager checks cfg and fills in its defaults.
func NewManager(cfg Config) (*Manager, error) {
	if cfg.Runtime == nil {
		return nil, fmt.Errorf("the container log manager needs a runtime")
	}
	if cfg.MaxSize == 0 {
		cfg.MaxSize = DefaultMaxSize
	}
	if cfg.MaxFiles == 0 {
		cfg.MaxFiles = DefaultMaxFiles
	}
	if cfg.MaxSize < 0 {
		return nil, fmt.Errorf("invalid container log max size %d: must be positive", cfg.MaxSize)
	}
	if cfg.MaxFiles <= 1 {
		// upstream's validation message
		return nil, fmt.Errorf("invalid configuration: containerLogMaxFiles must be greater than 1")
	}
	if cfg.MonitorPeriod == 0 {
		cfg.MonitorPeriod = DefaultMonitorPeriod
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	return &Manager{cfg: cfg}, nil
}

// Start rotates logs every MonitorPeriod until ctx ends.
func (m *Manager) Start(ctx context.Context) {
	log := klog.FromContext(ctx)
	log.Info("Initializing container log rotate workers", "workers", 1, "monitorPeriod", m.cfg.MonitorPeriod)
	t := m.cfg.Clock.NewTicker(m.cfg.MonitorPeriod)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		}
		if err := m.RotateLogs(ctx); err != nil {
			log.Error(err, "Failed to rotate container logs")
		}
	}
}

// RotateLogs looks once at the log of every running container and rotates those at MaxSize.
// A container's failure is logged and the others go on; listing the containers failing is the
// error.
func (m *Manager) RotateLogs(ctx context.Context) error {
	log := klog.FromContext(ctx)
	ctrs, err := m.cfg.Runtime.ListContainers(ctx, &runtimeapi.ContainerFilter{
		State: &runtimeapi.ContainerStateValue{State: runtimeapi.ContainerState_CONTAINER_RUNNING}})
	if err != nil {
		return fmt.Errorf("failed to list containers: %w", err)
	}
	for _, c := range ctrs {
		// Non-running containers write nothing more: an empty current log would be of no use.
		if c.GetState() != runtimeapi.ContainerState_CONTAINER_RUNNING {
			continue
		}
		if err := m.processContainer(ctx, c.GetId()); err != nil {
			log.Error(err, "Failed to rotate log for container", "containerID", c.GetId())
		}
	}
	return nil
}

func (m *Manager) processContainer(ctx context.Context, id string) error {
	resp, err := m.cfg.Runtime.ContainerStatus(ctx, id, false)
	if err != nil {
		return fmt.Errorf("failed to get container status: %w", err)
	}
	path := resp.GetStatus().GetLogPath()
	if path == "" {
		return nil // the container logs nowhere
	}
	info, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		// Removed from under the runtime (or a rotation ended before its reopen): reopen.
		if err := m.cfg.Runtime.ReopenContainerLog(ctx, id); err != nil {
			return fmt.Errorf("container log %s doesn't exist, reopen container log failed: %w", path, err)
		}
		info, err = os.Stat(path)
	}
	if err != nil {
		return fmt.Errorf("failed to stat container log: %w", err)
	}
	if info.Size() < m.cfg.MaxSize {
		return nil
	}
	return m.rotate(ctx, id, path)
}

// rotate carries out PlanRotation for the container's log file path.
func (m *Manager) rotate(ctx context.Context, id, path string) error {
	rotated, err := filepath.Glob(path + ".*")
	if err != nil {
		return fmt.Errorf("failed to list all log files with pattern %q: %w", path+".*", err)
	}
	p := PlanRotation(path, rotated, m.cfg.MaxFiles, m.cfg.Clock.Now())
	for _, l := range p.Remove {
		if err := os.Remove(l); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("failed to remove log %q: %w", l, err)
		}
	}
	for _, l := range p.Compress {
		if err := compress(l); err != nil {
			return fmt.Errorf("failed to compress log %q: %w", l, err)
		}
	}
	if err := os.Rename(path, p.Rotated); err != nil {
		return fmt.Errorf("failed to rotate log %q to %q: %w", path, p.Rotated, err)
	}
	if err := m.cfg.Runtime.ReopenContainerLog(ctx, id); err != nil {
		// Rename it back, to rotate it again next round.
		if rerr := os.Rename(p.Rotated, path); rerr != nil {
			klog.FromContext(ctx).Error(rerr, "Failed to rename rotated log", "rotatedLog", p.Rotated, "newLog", path, "containerID", id)
		}
		return fmt.Errorf("failed to reopen container log %q: %w", id, err)
	}
	klog.FromContext(ctx).V(2).Info("Rotated container log", "containerID", id, "path", path, "rotated", p.Rotated)
	return nil
}

// compress gzips log to log.gz (written as log.tmp first, renamed when complete) and removes log.
func compress(log string) (err error) {
	r, err := os.Open(log)
	if err != nil {
		return err
	}
	defer r.Close()
	info, err := r.Stat()
	if err != nil {
		return err
	}
	tmp := log + TmpSuffix
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, info.Mode())
	if err != nil {
		return fmt.Errorf("failed to create temporary log %q: %w", tmp, err)
	}
	defer os.Remove(tmp) // best effort, when the rename below did not happen
	defer f.Close()
	w := gzip.NewWriter(f)
	if _, err := io.Copy(w, r); err != nil {
		return fmt.Errorf("failed to compress %q to %q: %w", log, tmp, err)
	}
	if err := w.Close(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, log+CompressSuffix); err != nil {
		return err
	}
	return os.Remove(log)
}

// RemoveLogFiles removes a container's log file and its rotated files (<path>.*), as upstream's
// log manager's Clean when the container is removed. A missing file is no error.
func RemoveLogFiles(path string) error {
	if path == "" {
		return nil
	}
	rotated, err := filepath.Glob(path + ".*")
	if err != nil {
		return fmt.Errorf("failed to list all log files with pattern %q: %w", path+".*", err)
	}
	var errs []error
	for _, l := range append(rotated, path) {
		if err := os.Remove(l); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
