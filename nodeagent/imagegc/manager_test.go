package imagegc

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	cri "k8s.io/cri-api/pkg/apis"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/skiff-dev/skiff/nodeagent/stats"
	"github.com/skiff-dev/skiff/test/poll"
)

// fakeCRI has images of given sizes on a file system of 1000 bytes whose use is theirs plus
// other; containers name images by ID (ImageRef) and by name.
type fakeCRI struct {
	cri.RuntimeService
	cri.ImageManagerService
	mu         sync.Mutex
	images     []*runtimeapi.Image
	containers []*runtimeapi.Container
	other      int64
	removeErr  map[string]error
	removed    []string
}

func (f *fakeCRI) Close(context.Context) error { return nil }

const capacity = 1000

func (f *fakeCRI) ListImages(context.Context, *runtimeapi.ImageFilter) ([]*runtimeapi.Image, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.images), nil
}

func (f *fakeCRI) ListContainers(context.Context, *runtimeapi.ContainerFilter) ([]*runtimeapi.Container, error) {
	return f.containers, nil
}

func (f *fakeCRI) ImageFsInfo(context.Context) (*runtimeapi.ImageFsInfoResponse, error) {
	return &runtimeapi.ImageFsInfoResponse{ImageFilesystems: []*runtimeapi.FilesystemUsage{
		{FsId: &runtimeapi.FilesystemIdentifier{Mountpoint: "/images"}}}}, nil
}

func (f *fakeCRI) statFS(path string) (stats.FsUsage, error) {
	if path != "/images" {
		return stats.FsUsage{}, fmt.Errorf("statfs of %s", path)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	used := uint64(f.other)
	for _, im := range f.images {
		used += im.Size
	}
	return stats.FsUsage{CapacityBytes: capacity, AvailableBytes: capacity - used, UsedBytes: used}, nil
}

func (f *fakeCRI) RemoveImage(_ context.Context, spec *runtimeapi.ImageSpec) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.removeErr[spec.Image]; err != nil {
		return err
	}
	f.images = slices.DeleteFunc(f.images, func(im *runtimeapi.Image) bool { return im.Id == spec.Image })
	f.removed = append(f.removed, spec.Image)
	return nil
}

type event struct{ eventType, reason, message string }

func newManager(t *testing.T, f *fakeCRI, clk *clocktesting.FakeClock, events *[]event) *Manager {
	t.Helper()
	m, err := NewManager(Config{Runtime: f, Images: f, StatFS: f.statFS, Clock: clk,
		Protected: func(n string) bool { return n == "registry.k8s.io/pause:3.10" },
		Event:     func(eventType, reason, message string) { *events = append(*events, event{eventType, reason, message}) }})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestGarbageCollect(t *testing.T) {
	ctx := context.Background()
	clk := clocktesting.NewFakeClock(time.Date(2026, 12, 6, 3, 0, 0, 0, time.UTC))
	img := func(id, tag string, size uint64) *runtimeapi.Image {
		return &runtimeapi.Image{Id: id, RepoTags: []string{tag}, Size: size}
	}
	f := &fakeCRI{images: []*runtimeapi.Image{
		img("sha256:pause", "registry.k8s.io/pause:3.10", 100),
		img("sha256:app", "docker.io/library/app:1", 200),
		img("sha256:old", "docker.io/library/old:1", 150),
		img("sha256:older", "docker.io/library/older:1", 150),
		img("sha256:byname", "docker.io/library/byname:1", 100),
	}, containers: []*runtimeapi.Container{
		{Id: "c1", ImageRef: "sha256:app", State: runtimeapi.ContainerState_CONTAINER_RUNNING},
		{Id: "c2", Image: &runtimeapi.ImageSpec{Image: "docker.io/library/byname:1"}, State: runtimeapi.ContainerState_CONTAINER_EXITED},
	}}
	var events []event
	m := newManager(t, f, clk, &events)

	t.Run("under the high threshold nothing is removed", func(t *testing.T) {
		f.other = 100 // 800 of 1000 used: 80%
		res, err := m.GarbageCollect(ctx)
		if err != nil || len(res.Removed) != 0 || res.UsagePercent != 80 {
			t.Fatalf("%+v, %v", res, err)
		}
	})
	t.Run("images younger than the minimum age stay", func(t *testing.T) {
		f.other = 200 // 90%
		res, err := m.GarbageCollect(ctx)
		if err == nil || len(res.Removed) != 0 || res.AmountToFree != 100 {
			t.Fatalf("%+v, %v", res, err)
		}
	})
	t.Run("unused images go, least recently used first, until the low threshold", func(t *testing.T) {
		events = nil
		// old was used by a container that is gone since; older never was.
		f.containers = append(f.containers, &runtimeapi.Container{Id: "c3", ImageRef: "sha256:old"})
		if _, err := m.GarbageCollect(ctx); err == nil {
			t.Fatal("young images were removed")
		}
		f.containers = f.containers[:2]
		events = nil
		clk.Step(3 * time.Minute)
		res, err := m.GarbageCollect(ctx)
		if err != nil || !slices.Equal(res.Removed, []string{"sha256:older"}) || res.Freed != 150 {
			t.Fatalf("%+v, %v", res, err)
		}
		if len(events) != 0 {
			t.Fatalf("events %v", events)
		}
	})
	t.Run("not enough to free: FreeDiskSpaceFailed", func(t *testing.T) {
		f.other = 450 // 100 + 200 + 150 + 100 + 450: all of it used
		res, err := m.GarbageCollect(ctx)
		if err == nil || !slices.Equal(res.Removed, []string{"sha256:old"}) {
			t.Fatalf("%+v, %v", res, err)
		}
		if len(events) != 1 || events[0].reason != ReasonFreeDiskSpaceFailed || events[0].eventType != "Warning" ||
			!strings.HasPrefix(events[0].message, "Insufficient free disk space on the node's image filesystem (100% of 1000 B used). Failed to free sufficient space by deleting unused images (freed 150 bytes).") {
			t.Fatalf("events %+v", events)
		}
		// pause (builtin), app (running) and byname (an exited container's) are left.
		if got := f.removed; !slices.Equal(got, []string{"sha256:older", "sha256:old"}) {
			t.Fatalf("removed %v", got)
		}
	})
}

func TestStartRecordsImageGCFailedOnRepeatedFailure(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	clk := clocktesting.NewFakeClock(time.Date(2026, 12, 6, 3, 0, 0, 0, time.UTC))
	f := &fakeCRI{other: 950}
	var mu sync.Mutex
	var reasons []string
	m, err := NewManager(Config{Runtime: f, Images: f, StatFS: f.statFS, Clock: clk,
		Event: func(_, reason, _ string) { mu.Lock(); reasons = append(reasons, reason); mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); m.Start(ctx) }()
	poll.Eventually(t, "an ImageGCFailed event", poll.Check(func() (bool, string) {
		mu.Lock()
		got := slices.Clone(reasons)
		mu.Unlock()
		if len(got) >= 3 {
			return true, ""
		}
		if clk.HasWaiters() {
			clk.Step(DefaultPeriod)
		}
		return false, fmt.Sprintf("events %v", got)
	}))
	mu.Lock()
	got := slices.Clone(reasons)
	mu.Unlock()
	// first failure: FreeDiskSpaceFailed only; the second: FreeDiskSpaceFailed and ImageGCFailed
	if !slices.Equal(got[:3], []string{ReasonFreeDiskSpaceFailed, ReasonFreeDiskSpaceFailed, ReasonImageGCFailed}) {
		t.Fatalf("events %v", got)
	}
	cancel()
	<-done
}

func TestNewManagerValidates(t *testing.T) {
	f := &fakeCRI{}
	if _, err := NewManager(Config{Runtime: f, Images: f, HighThresholdPercent: 80, LowThresholdPercent: 90}); err == nil {
		t.Fatal("low above high accepted")
	}
}
