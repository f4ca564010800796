package podworkers

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"

	"github.com/skiff-dev/skiff/test/poll"
)

func pod(uid, rv string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p" + uid, Namespace: "default", UID: types.UID(uid), ResourceVersion: rv}}
}

type recorder struct {
	mu       sync.Mutex
	syncs    map[types.UID][]string
	inFlight map[types.UID]*int32
	maxSeen  int32
	block    map[types.UID]chan struct{}
	started  chan types.UID
	failures int
}

func newRecorder() *recorder {
	return &recorder{syncs: map[types.UID][]string{}, inFlight: map[types.UID]*int32{}, block: map[types.UID]chan struct{}{}, started: make(chan types.UID, 100)}
}

func (r *recorder) sync(ctx context.Context, p *corev1.Pod) (bool, error) {
	r.mu.Lock()
	n, ok := r.inFlight[p.UID]
	if !ok {
		n = new(int32)
		r.inFlight[p.UID] = n
	}
	b := r.block[p.UID]
	fail := r.failures > 0
	if fail {
		r.failures--
	}
	r.mu.Unlock()
	if c := atomic.AddInt32(n, 1); c > 1 {
		r.mu.Lock()
		r.maxSeen = c
		r.mu.Unlock()
	}
	defer atomic.AddInt32(n, -1)
	r.started <- p.UID
	if b != nil {
		select {
		case <-b:
		case <-ctx.Done():
		}
	}
	r.mu.Lock()
	r.syncs[p.UID] = append(r.syncs[p.UID], p.ResourceVersion)
	r.mu.Unlock()
	if fail {
		return false, errors.New("boom")
	}
	return false, nil
}

func (r *recorder) get(uid types.UID) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.syncs[uid]...)
}

func start(t *testing.T, cfg Config) (*PodWorkers, *clocktesting.FakeClock) {
	clk := clocktesting.NewFakeClock(time.Now())
	cfg.Clock = clk
	if cfg.Terminate == nil {
		cfg.Terminate = func(context.Context, *corev1.Pod, *int64) error { return nil }
	}
	p := New(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- p.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	poll.Until(t, 5*time.Second, "the pod workers started", poll.Check(func() (bool, string) { p.mu.Lock(); defer p.mu.Unlock(); return p.ctx != nil, "" }))
	return p, clk
}

// Many updates while a sync is in flight collapse into one more sync with the latest pod.
func TestUpdatesCollapse(t *testing.T) {
	r := newRecorder()
	release := make(chan struct{})
	r.block["a"] = release
	p, _ := start(t, Config{Sync: r.sync})
	p.UpdatePod(pod("a", "1"))
	<-r.started
	for i := 2; i <= 20; i++ {
		p.UpdatePod(pod("a", string(rune('0'+i%10))+"x"))
	}
	p.UpdatePod(pod("a", "latest"))
	r.mu.Lock()
	delete(r.block, "a")
	r.mu.Unlock()
	close(release)
	poll.Until(t, 5*time.Second, "one more sync", poll.Check(func() (bool, string) { return len(r.get("a")) == 2, fmt.Sprintf("syncs %v", r.get("a")) }))
	time.Sleep(20 * time.Millisecond)
	if got := r.get("a"); len(got) != 2 || got[0] != "1" || got[1] != "latest" {
		t.Fatalf("syncs = %v, want [1 latest]", got)
	}
}

// A pod is never synced twice at once; different pods sync in parallel.
func TestConcurrency(t *testing.T) {
	r := newRecorder()
	release := make(chan struct{})
	r.block["a"], r.block["b"] = release, release
	p, _ := start(t, Config{Sync: r.sync})
	p.UpdatePod(pod("a", "1"))
	p.UpdatePod(pod("b", "1"))
	// both are in flight at once: parallel across pods.
	got := map[types.UID]bool{<-r.started: true, <-r.started: true}
	if !got["a"] || !got["b"] {
		t.Fatalf("started = %v", got)
	}
	for i := 0; i < 50; i++ {
		p.UpdatePod(pod("a", "x"))
	}
	close(release)
	poll.Until(t, 5*time.Second, "the syncs of a and b", poll.Check(func() (bool, string) {
		return len(r.get("a")) == 2 && len(r.get("b")) == 1, fmt.Sprintf("syncs of a %v, of b %v", r.get("a"), r.get("b"))
	}))
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.maxSeen > 1 {
		t.Fatalf("%d concurrent syncs of one pod", r.maxSeen)
	}
}

func TestTerminationAndForget(t *testing.T) {
	r := newRecorder()
	var mu sync.Mutex
	var grace []int64
	var terminated []types.UID
	p, _ := start(t, Config{Sync: r.sync,
		Terminate: func(_ context.Context, _ *corev1.Pod, g *int64) error {
			mu.Lock()
			defer mu.Unlock()
			if g != nil {
				grace = append(grace, *g)
			}
			return nil
		},
		OnTerminated: func(p *corev1.Pod) { mu.Lock(); terminated = append(terminated, p.UID); mu.Unlock() },
	})
	p.UpdatePod(pod("a", "1"))
	poll.Until(t, 5*time.Second, "the first sync", poll.Check(func() (bool, string) { return len(r.get("a")) == 1, fmt.Sprintf("syncs %v", r.get("a")) }))
	del := pod("a", "2")
	del.DeletionTimestamp = &metav1.Time{Time: time.Now()}
	del.DeletionGracePeriodSeconds = ptr.To[int64](5)
	p.UpdatePod(del)
	poll.Until(t, 5*time.Second, "the termination", poll.Check(func() (bool, string) { return p.IsTerminated("a"), "" }))
	mu.Lock()
	if len(grace) != 1 || grace[0] != 5 || len(terminated) != 1 {
		t.Fatalf("grace = %v, terminated = %v", grace, terminated)
	}
	mu.Unlock()
	if len(p.Known()) != 0 {
		t.Fatalf("worker kept: %v", p.Known())
	}
	// updates of a terminated pod are ignored until it is forgotten
	p.UpdatePod(pod("a", "3"))
	time.Sleep(20 * time.Millisecond)
	if got := r.get("a"); len(got) != 1 {
		t.Fatalf("synced after termination: %v", got)
	}
	p.Forget("a")
	p.UpdatePod(pod("a", "4"))
	poll.Until(t, 5*time.Second, "a sync once forgotten", poll.Check(func() (bool, string) { return len(r.get("a")) == 2, fmt.Sprintf("syncs %v", r.get("a")) }))
}

// A terminal sync sends the pod down the termination path.
func TestTerminalSyncTerminates(t *testing.T) {
	var terms atomic.Int32
	p, _ := start(t, Config{
		Sync:      func(context.Context, *corev1.Pod) (bool, error) { return true, nil },
		Terminate: func(context.Context, *corev1.Pod, *int64) error { terms.Add(1); return nil },
	})
	p.UpdatePod(pod("a", "1"))
	poll.Until(t, 5*time.Second, "the termination", poll.Check(func() (bool, string) {
		return p.IsTerminated("a") && terms.Load() == 1, fmt.Sprintf("terminated %v after %d terminations", p.IsTerminated("a"), terms.Load())
	}))
}

func TestResyncAndRetry(t *testing.T) {
	r := newRecorder()
	r.failures = 1
	p, clk := start(t, Config{Sync: r.sync, ResyncPeriod: time.Minute, RetryPeriod: 10 * time.Second})
	p.UpdatePod(pod("a", "1"))
	poll.Until(t, 5*time.Second, "the first sync", poll.Check(func() (bool, string) { return len(r.get("a")) == 1, fmt.Sprintf("syncs %v", r.get("a")) }))
	// the failed sync is retried after RetryPeriod (not before)
	poll.Until(t, 5*time.Second, "the resync ticker and the retry timer", poll.Check(func() (bool, string) {
		return clk.Waiters() == 2, fmt.Sprintf("%d waiters on the clock", clk.Waiters())
	}))
	clk.Step(9 * time.Second)
	time.Sleep(10 * time.Millisecond)
	if n := len(r.get("a")); n != 1 {
		t.Fatalf("retried before RetryPeriod: %d syncs", n)
	}
	clk.Step(time.Second)
	poll.Until(t, 5*time.Second, "the retry", poll.Check(func() (bool, string) { return len(r.get("a")) == 2, fmt.Sprintf("syncs %v", r.get("a")) }))
	// and every pod is resynced each period
	poll.Until(t, 5*time.Second, "the resync ticker alone", poll.Check(func() (bool, string) {
		return clk.Waiters() == 1, fmt.Sprintf("%d waiters on the clock", clk.Waiters())
	}))
	clk.Step(50 * time.Second)
	poll.Until(t, 5*time.Second, "the resync", poll.Check(func() (bool, string) { return len(r.get("a")) == 3, fmt.Sprintf("syncs %v", r.get("a")) }))
}

// An update that arrives while the pod is being terminated (its API object deleted while a
// finished pod's last status is written) gets a second termination with that pod.
func TestUpdateDuringTerminationIsNotLost(t *testing.T) {
	entered, release := make(chan struct{}, 4), make(chan struct{})
	var mu sync.Mutex
	var seen []string
	p, _ := start(t, Config{
		Sync: func(context.Context, *corev1.Pod) (bool, error) { return true, nil },
		Terminate: func(ctx context.Context, pd *corev1.Pod, _ *int64) error {
			mu.Lock()
			seen = append(seen, pd.ResourceVersion)
			first := len(seen) == 1
			mu.Unlock()
			if first {
				entered <- struct{}{}
				select {
				case <-release:
				case <-ctx.Done():
				}
			}
			return nil
		},
	})
	p.UpdatePod(pod("a", "1"))
	<-entered
	p.KillPod(pod("a", "2"), nil)
	close(release)
	poll.Until(t, 5*time.Second, "the termination", poll.Check(func() (bool, string) { return p.IsTerminated("a"), "" }))
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 2 || seen[1] != "2" {
		t.Fatalf("terminations saw resourceVersions %v, want [1 2]", seen)
	}
}

// RefreshPod (the echo of the agent's own status write) does not wake a failing worker before
// its retry, and the retry syncs the refreshed pod.
func TestRefreshPodKeepsBackoff(t *testing.T) {
	r := newRecorder()
	r.failures = 1
	p, clk := start(t, Config{Sync: r.sync, ResyncPeriod: time.Hour, RetryPeriod: 10 * time.Second})
	p.UpdatePod(pod("a", "1"))
	poll.Until(t, 5*time.Second, "the retry timer", poll.Check(func() (bool, string) {
		return clk.Waiters() == 2, fmt.Sprintf("%d waiters on the clock", clk.Waiters())
	}))
	p.RefreshPod(pod("a", "2"))
	p.RefreshPod(pod("unknown", "1")) // no worker: nothing starts
	time.Sleep(20 * time.Millisecond) // nothing may happen: a refresh wakes no worker
	if got := r.get("a"); len(got) != 1 {
		t.Fatalf("a refresh woke the worker: syncs %v", got)
	}
	clk.Step(10 * time.Second)
	poll.Until(t, 5*time.Second, "the retry with the refreshed pod", poll.Check(func() (bool, string) {
		got := r.get("a")
		return len(got) == 2 && got[1] == "2", fmt.Sprintf("syncs %v", got)
	}))
	if known := p.Known(); len(known) != 1 || known[0] != "a" {
		t.Errorf("workers %v after RefreshPod of an unknown pod", known)
	}
}
