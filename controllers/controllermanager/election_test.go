package controllermanager

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/leaderelection/resourcelock"

	"github.com/skiff-dev/skiff/test/poll"
)

// memLock is a Lease in memory: the election's resourcelock.Interface without an API server.
type memLock struct {
	id string
	// holding reports whether a term runs now (checked at each release).
	holding func() bool

	mu  sync.Mutex
	rec *resourcelock.LeaderElectionRecord
	// version counts the writes; seen is the one the elector last read or wrote (an update
	// from an older one conflicts, as a Lease's resourceVersion).
	version, seen int
	// releasedWhileRunning counts releases of the Lease while a term still ran.
	releasedWhileRunning int
}

func (l *memLock) Get(context.Context) (*resourcelock.LeaderElectionRecord, []byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.rec == nil {
		return nil, nil, apierrors.NewNotFound(schema.GroupResource{Group: "coordination.k8s.io", Resource: "leases"}, "test")
	}
	r := *l.rec
	l.seen = l.version
	raw, _ := json.Marshal(r)
	return &r, raw, nil
}

func (l *memLock) Create(_ context.Context, r resourcelock.LeaderElectionRecord) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.rec != nil {
		return apierrors.NewAlreadyExists(schema.GroupResource{Group: "coordination.k8s.io", Resource: "leases"}, "test")
	}
	l.rec = &r
	l.version++
	l.seen = l.version
	return nil
}

func (l *memLock) Update(_ context.Context, r resourcelock.LeaderElectionRecord) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.seen != l.version {
		return apierrors.NewConflict(schema.GroupResource{Group: "coordination.k8s.io", Resource: "leases"}, "test", fmt.Errorf("modified"))
	}
	if r.HolderIdentity == "" && l.holding() {
		l.releasedWhileRunning++
	}
	l.rec = &r
	l.version++
	l.seen = l.version
	return nil
}

func (l *memLock) RecordEvent(string) {}
func (l *memLock) Identity() string   { return l.id }
func (l *memLock) Describe() string   { return "kube-system/test" }
func (l *memLock) record() (r resourcelock.LeaderElectionRecord) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.rec != nil {
		r = *l.rec
	}
	return r
}

// steal makes another process the holder, for the lease duration.
func (l *memLock) steal(holder string, d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := metav1.NewTime(time.Now())
	l.rec = &resourcelock.LeaderElectionRecord{HolderIdentity: holder, LeaseDurationSeconds: int(d / time.Second), AcquireTime: now,
		RenewTime: now, LeaderTransitions: l.rec.LeaderTransitions + 1}
	l.version++
}

// terms counts the terms that ran and the most that ran at once; each term takes stopDelay to
// stop after its context ended, as controllers finishing their reconciles.
type terms struct {
	stopDelay    time.Duration
	started      atomic.Int32
	running, max atomic.Int32
}

func (ts *terms) run(ctx context.Context, n int) error {
	ts.started.Add(1)
	r := ts.running.Add(1)
	for m := ts.max.Load(); r > m && !ts.max.CompareAndSwap(m, r); m = ts.max.Load() {
	}
	<-ctx.Done()
	time.Sleep(ts.stopDelay)
	ts.running.Add(-1)
	return nil
}

func TestElectionCampaignsAgainAfterLoss(t *testing.T) {
	before := runtime.NumGoroutine()
	ts := &terms{stopDelay: 300 * time.Millisecond}
	lock := &memLock{id: "me", holding: func() bool { return ts.running.Load() > 0 }}
	e := election{lock: lock, leaseDuration: time.Second, renewDeadline: 500 * time.Millisecond, retryPeriod: 100 * time.Millisecond,
		retryAfterLoss: 100 * time.Millisecond, term: ts.run}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- e.run(ctx) }()

	wait := func(t *testing.T, what string, cond func() bool) {
		t.Helper()
		poll.Until(t, 10*time.Second, what, poll.Check(func() (bool, string) { return cond(), "" }))
	}
	wait(t, "first term", func() bool { return ts.started.Load() == 1 && lock.record().HolderIdentity == "me" })

	t.Run("lost lease stops the term and campaigns again", func(t *testing.T) {
		// Another process takes the Lease (as after renewals that timed out for RenewDeadline):
		// the term stops, and the next begins once the thief's Lease expired.
		lock.steal("thief", time.Second)
		wait(t, "term stopped", func() bool { return ts.running.Load() == 0 })
		wait(t, "second term", func() bool { return ts.started.Load() == 2 && ts.running.Load() == 1 })
		if r := lock.record(); r.HolderIdentity != "me" || r.LeaderTransitions != 2 {
			t.Errorf("Lease after the second campaign: holder %q, transitions %d; want me, 2", r.HolderIdentity, r.LeaderTransitions)
		}
		if m := ts.max.Load(); m != 1 {
			t.Errorf("%d terms ran at once, want 1", m)
		}
	})

	t.Run("end releases the lease after the term stopped", func(t *testing.T) {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("run did not return after its context ended")
		}
		if n := ts.running.Load(); n != 0 {
			t.Errorf("%d terms still running after run returned", n)
		}
		if r := lock.record(); r.HolderIdentity != "" {
			t.Errorf("Lease held by %q after the end, want released", r.HolderIdentity)
		}
		if lock.releasedWhileRunning != 0 {
			t.Errorf("Lease released while a term still ran")
		}
	})
	// No goroutine left behind (the elector's, the terms').
	poll.Until(t, 5*time.Second, "goroutines back to before", poll.Check(func() (bool, string) {
		n := runtime.NumGoroutine()
		buf := make([]byte, 1<<16)
		return n <= before, fmt.Sprintf("%d goroutines, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
	}))
}

func TestElectionEndsWhileAnotherHolds(t *testing.T) {
	ts := &terms{}
	lock := &memLock{id: "me", holding: func() bool { return ts.running.Load() > 0 }}
	lock.rec = &resourcelock.LeaderElectionRecord{}
	lock.steal("other", time.Hour)
	e := election{lock: lock, leaseDuration: time.Second, renewDeadline: 500 * time.Millisecond, retryPeriod: 100 * time.Millisecond,
		retryAfterLoss: 100 * time.Millisecond, term: ts.run}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	if err := e.run(ctx); err != nil {
		t.Fatalf("run: %v", err)
	}
	if n := ts.started.Load(); n != 0 {
		t.Errorf("%d terms ran while another process held the Lease", n)
	}
	if r := lock.record(); r.HolderIdentity != "other" {
		t.Errorf("Lease holder %q, want other's untouched", r.HolderIdentity)
	}
}
