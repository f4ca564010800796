package kuberuntime

import (
	"sync"
	"time"

	"k8s.io/utils/clock"
)

// Backoff is a per-key exponential back-off with the semantics of client-go's
// flowcontrol.Backoff, which upstream's kubelet uses for container restarts and image pulls: the
// first Next sets the initial duration, each further one doubles it up to max, and a key whose
// last update is more than 2*max before the event starts over.
type Backoff struct {
	mu      sync.Mutex
	clock   clock.Clock
	initial time.Duration
	max     time.Duration
	entries map[string]*backoffEntry
}

type backoffEntry struct {
	backoff    time.Duration
	lastUpdate time.Time
}

// NewBackoff returns a back-off starting at initial and capped at max.
func NewBackoff(initial, max time.Duration, c clock.Clock) *Backoff {
	if c == nil {
		c = clock.RealClock{}
	}
	return &Backoff{clock: c, initial: initial, max: max, entries: map[string]*backoffEntry{}}
}

func (b *Backoff) expired(eventTime, lastUpdate time.Time) bool {
	return eventTime.Sub(lastUpdate) > b.max*2
}

// Get returns the current back-off of id (0 if none).
func (b *Backoff) Get(id string) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	if e, ok := b.entries[id]; ok {
		return e.backoff
	}
	return 0
}

// Next records an event for id at eventTime and grows its back-off.
func (b *Backoff) Next(id string, eventTime time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	e, ok := b.entries[id]
	if !ok || b.expired(eventTime, e.lastUpdate) {
		e = &backoffEntry{backoff: b.initial}
		b.entries[id] = e
	} else {
		e.backoff = min(e.backoff*2, b.max)
	}
	e.lastUpdate = b.clock.Now()
}

// IsInBackOffSince reports whether now is still within id's back-off counted from eventTime.
func (b *Backoff) IsInBackOffSince(id string, eventTime time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	e, ok := b.entries[id]
	if !ok || b.expired(eventTime, e.lastUpdate) {
		return false
	}
	return b.clock.Since(eventTime) < e.backoff
}

// IsInBackOffSinceUpdate reports whether eventTime is within id's back-off counted from its
// last update.
func (b *Backoff) IsInBackOffSinceUpdate(id string, eventTime time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	e, ok := b.entries[id]
	if !ok || b.expired(eventTime, e.lastUpdate) {
		return false
	}
	return eventTime.Sub(e.lastUpdate) < e.backoff
}

// Reset forgets id.
func (b *Backoff) Reset(id string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.entries, id)
}

// GC forgets keys idle for more than 2*max.
func (b *Backoff) GC() {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.clock.Now()
	for id, e := range b.entries {
		if now.Sub(e.lastUpdate) > b.max*2 {
			delete(b.entries, id)
		}
	}
}
