package imagegc

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	cri "k8s.io/cri-api/pkg/apis"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"

	"github.com/skiff-dev/skiff/nodeagent/stats"
)

// Defaults of Config, upstream's.
const (
	DefaultHighThresholdPercent = 85
	DefaultLowThresholdPercent  = 80
	DefaultMinAge               = 2 * time.Minute
	DefaultPeriod               = 5 * time.Minute
)

// Event reasons, upstream's (pkg/kubelet/events).
const (
	ReasonFreeDiskSpaceFailed = "FreeDiskSpaceFailed"
	ReasonImageGCFailed       = "ImageGCFailed"
	ReasonInvalidDiskCapacity = "InvalidDiskCapacity"
)

// Config configures a Manager; Runtime and Images are required.
type Config struct {
	Runtime cri.RuntimeService
	Images  cri.ImageManagerService
	// HighThresholdPercent (85) and LowThresholdPercent (80) of the image file system's use;
	// they are taken as given when either is set (validate them with ValidateThresholds).
	HighThresholdPercent, LowThresholdPercent int
	// MinAge (2 min) and Period (5 min).
	MinAge, Period time.Duration
	// Protected reports the image names never removed (the node's builtin images).
	Protected func(name string) bool
	// StatFS reads the file system of the image fs's mount point (default stats.StatFS).
	StatFS func(path string) (stats.FsUsage, error)
	// Event records a warning on the Node (FreeDiskSpaceFailed, ImageGCFailed).
	Event func(eventType, reason, message string)
	Clock clock.WithTicker
}

// ValidateThresholds is upstream's validation of the thresholds, with its messages.
func ValidateThresholds(high, low int) error {
	var errs []error
	if high < 0 || high > 100 {
		errs = append(errs, fmt.Errorf("invalid configuration: imageGCHighThresholdPercent (--image-gc-high-threshold) %v must be between 0 and 100, inclusive", high))
	}
	if low < 0 || low > 100 {
		errs = append(errs, fmt.Errorf("invalid configuration: imageGCLowThresholdPercent (--image-gc-low-threshold) %v must be between 0 and 100, inclusive", low))
	}
	if low >= high {
		errs = append(errs, fmt.Errorf("invalid configuration: imageGCLowThresholdPercent (--image-gc-low-threshold) %v must be less than imageGCHighThresholdPercent (--image-gc-high-threshold) %v", low, high))
	}
	return errors.Join(errs...)
}

// record is what the collector remembers of an image between collections.
type record struct {
	firstDetected, lastUsed time.Time
}

// Manager collects the node's unused images.
type Manager struct {
	cfg     Config
	mu      sync.Mutex
	records map[string]*record
}

// NewManager checks cfg and fills in its defaults.
func NewManager(cfg Config) (*Manager, error) {
	if cfg.Runtime == nil || cfg.Images == nil {
		return nil, fmt.Errorf("the image garbage collector needs a runtime and an image service")
	}
	if cfg.HighThresholdPercent == 0 && cfg.LowThresholdPercent == 0 {
		cfg.HighThresholdPercent, cfg.LowThresholdPercent = DefaultHighThresholdPercent, DefaultLowThresholdPercent
	}
	if err := ValidateThresholds(cfg.HighThresholdPercent, cfg.LowThresholdPercent); err != nil {
		return nil, err
	}
	if cfg.MinAge == 0 {
		cfg.MinAge = DefaultMinAge
	}
	if cfg.Period == 0 {
		cfg.Period = DefaultPeriod
	}
	if cfg.Protected == nil {
		cfg.Protected = func(string) bool { return false }
	}
	if cfg.StatFS == nil {
		cfg.StatFS = stats.StatFS
	}
	if cfg.Event == nil {
		cfg.Event = func(string, string, string) {}
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	return &Manager{cfg: cfg, records: map[string]*record{}}, nil
}

// Start collects every Period until ctx ends (not at all with HighThresholdPercent 100, as
// upstream). As the kubelet, the first failure is only logged (the runtime may not be ready),
// a failure after a failure also recorded as an ImageGCFailed event.
func (m *Manager) Start(ctx context.Context) {
	log := klog.FromContext(ctx)
	if m.cfg.HighThresholdPercent == 100 {
		log.V(2).Info("ImageGCHighThresholdPercent is set 100, Disable image GC")
		return
	}
	t := m.cfg.Clock.NewTicker(m.cfg.Period)
	defer t.Stop()
	prevFailed := false
	for {
		if _, err := m.GarbageCollect(ctx); err != nil {
			if prevFailed {
				log.Error(err, "Image garbage collection failed multiple times in a row")
				m.cfg.Event(corev1.EventTypeWarning, ReasonImageGCFailed, err.Error())
			} else {
				log.Error(err, "Image garbage collection failed once. Stats initialization may not have completed yet")
			}
			prevFailed = true
		} else {
			prevFailed = false
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		}
	}
}

// detect lists the images and the containers, updates the records and returns the images as
// EvictionOrder takes them.
func (m *Manager) detect(ctx context.Context, now time.Time) ([]Image, error) {
	imgs, err := m.cfg.Images.ListImages(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("listing images: %w", err)
	}
	ctrs, err := m.cfg.Runtime.ListContainers(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("listing containers: %w", err)
	}
	inUse := map[string]bool{}
	for _, c := range ctrs {
		inUse[c.GetImageRef()] = true
		inUse[c.GetImage().GetImage()] = true
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	present := map[string]bool{}
	var out []Image
	for _, img := range imgs {
		id := img.GetId()
		present[id] = true
		r := m.records[id]
		if r == nil {
			r = &record{firstDetected: now}
			m.records[id] = r
		}
		used := inUse[id]
		protected := false
		for _, n := range append(append([]string{}, img.GetRepoTags()...), img.GetRepoDigests()...) {
			used = used || inUse[n]
			protected = protected || m.cfg.Protected(n)
		}
		if used {
			r.lastUsed = now
		}
		out = append(out, Image{ID: id, Tags: img.GetRepoTags(), Size: int64(img.GetSize()), FirstDetected: r.firstDetected,
			LastUsed: r.lastUsed, InUse: used, Pinned: img.GetPinned(), Protected: protected})
	}
	for id := range m.records {
		if !present[id] {
			delete(m.records, id)
		}
	}
	return out, nil
}

// imageFs is the image file system's capacity and available bytes (stats.ImageFsUsage).
func (m *Manager) imageFs(ctx context.Context) (capacity, available int64, err error) {
	u, err := stats.ImageFsUsage(ctx, m.cfg.Images, m.cfg.StatFS)
	if err != nil {
		return 0, 0, err
	}
	return int64(u.CapacityBytes), int64(u.AvailableBytes), nil
}

// Result is what one collection did.
type Result struct {
	UsagePercent int
	AmountToFree int64
	Freed        int64
	Removed      []string
}

// GarbageCollect is one collection, upstream's GarbageCollect without the maximum age.
func (m *Manager) GarbageCollect(ctx context.Context) (Result, error) {
	log := klog.FromContext(ctx)
	var res Result
	now := m.cfg.Clock.Now()
	imgs, err := m.detect(ctx, now)
	if err != nil {
		return res, err
	}
	capacity, available, err := m.imageFs(ctx)
	if err != nil {
		return res, err
	}
	res.UsagePercent, res.AmountToFree, err = AmountToFree(capacity, available, m.cfg.HighThresholdPercent, m.cfg.LowThresholdPercent)
	if err != nil {
		m.cfg.Event(corev1.EventTypeWarning, ReasonInvalidDiskCapacity, err.Error())
		return res, err
	}
	if res.AmountToFree <= 0 {
		return res, nil
	}
	log.Info("Disk usage on image filesystem is over the high threshold, trying to free bytes down to the low threshold",
		"usage", res.UsagePercent, "highThreshold", m.cfg.HighThresholdPercent, "amountToFree", res.AmountToFree, "lowThreshold", m.cfg.LowThresholdPercent)
	var errs []error
	for _, img := range EvictionOrder(imgs, now, m.cfg.MinAge) {
		log.Info("Removing image to free bytes", "imageID", img.ID, "size", img.Size)
		if err := m.cfg.Images.RemoveImage(ctx, &runtimeapi.ImageSpec{Image: img.ID}); err != nil {
			errs = append(errs, err)
			continue
		}
		m.mu.Lock()
		delete(m.records, img.ID)
		m.mu.Unlock()
		res.Freed += img.Size
		res.Removed = append(res.Removed, img.ID)
		if res.Freed >= res.AmountToFree {
			break
		}
	}
	if len(errs) > 0 {
		return res, fmt.Errorf("wanted to free %d bytes, but freed %d bytes space with errors in image deletion: %w", res.AmountToFree, res.Freed, errors.Join(errs...))
	}
	if res.Freed < res.AmountToFree {
		msg := fmt.Sprintf("Insufficient free disk space on the node's image filesystem (%d%% of %s used). "+
			"Failed to free sufficient space by deleting unused images (freed %d bytes). "+
			"Investigate disk usage, as it could be used by active images, logs, volumes, or other data.",
			res.UsagePercent, formatSize(capacity), res.Freed)
		m.cfg.Event(corev1.EventTypeWarning, ReasonFreeDiskSpaceFailed, msg)
		return res, errors.New(msg)
	}
	return res, nil
}
