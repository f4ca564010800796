package replicaset

import (
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/utils/clock"
)

// ExpectationsTimeout is how long unobserved creates and deletes are waited for before the
// controller acts again anyway (upstream's ExpectationsTimeout).
const ExpectationsTimeout = 5 * time.Minute

// Expectations remembers, per ReplicaSet key, the pod creations and deletions the controller
// issued but has not yet seen in its cache. While some are outstanding the controller must not
// compute a new diff from the (stale) cache.
type Expectations struct {
	mu    sync.Mutex
	clock clock.PassiveClock
	ttl   time.Duration
	m     map[string]*expectation
}

type expectation struct {
	adds      int
	deletes   sets.Set[string] // keys of pods whose deletion is not yet observed
	timestamp time.Time
}

// NewExpectations returns an empty tracker that expires records after ttl.
func NewExpectations(c clock.PassiveClock, ttl time.Duration) *Expectations {
	if c == nil {
		c = clock.RealClock{}
	}
	return &Expectations{clock: c, ttl: ttl, m: map[string]*expectation{}}
}

// Satisfied reports whether the controller may sync key: nothing is outstanding, or the record
// has expired.
func (e *Expectations) Satisfied(key string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	x, ok := e.m[key]
	if !ok {
		return true
	}
	if x.adds <= 0 && x.deletes.Len() == 0 {
		return true
	}
	return e.clock.Since(x.timestamp) > e.ttl
}

// Pending returns the outstanding creates and deletes for key.
func (e *Expectations) Pending(key string) (adds, deletes int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if x, ok := e.m[key]; ok {
		return x.adds, x.deletes.Len()
	}
	return 0, 0
}

// ExpectCreations records that n creations were issued for key.
func (e *Expectations) ExpectCreations(key string, n int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.m[key] = &expectation{adds: n, deletes: sets.New[string](), timestamp: e.clock.Now()}
}

// ExpectDeletions records that the given pods' deletions were issued for key.
func (e *Expectations) ExpectDeletions(key string, podKeys []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.m[key] = &expectation{deletes: sets.New(podKeys...), timestamp: e.clock.Now()}
}

// CreationObserved lowers the outstanding creations for key by one.
func (e *Expectations) CreationObserved(key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if x, ok := e.m[key]; ok && x.adds > 0 {
		x.adds--
	}
}

// DeletionObserved marks podKey's deletion as seen for key.
func (e *Expectations) DeletionObserved(key, podKey string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if x, ok := e.m[key]; ok {
		x.deletes.Delete(podKey)
	}
}

// Delete forgets key (its ReplicaSet is gone).
func (e *Expectations) Delete(key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.m, key)
}

// Expect records both creations and the given pods' deletions issued for key in one sync (the
// DaemonSet controller creates and deletes together).
func (e *Expectations) Expect(key string, adds int, podKeys []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.m[key] = &expectation{adds: adds, deletes: sets.New(podKeys...), timestamp: e.clock.Now()}
}
