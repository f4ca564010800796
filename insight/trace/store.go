package trace

import (
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// Span is one finished span as the store keeps it and as /insight/v1/traces serves it.
type Span struct {
	TraceID      string `json:"traceID"`
	SpanID       string `json:"spanID"`
	ParentSpanID string `json:"parentSpanID,omitempty"`
	// LinkSpanID is the span of another trace that caused this one (a client's span whose
	// traceparent the API server took as a link rather than a parent).
	LinkSpanID string            `json:"linkSpanID,omitempty"`
	Name       string            `json:"name"`
	Component  string            `json:"component"`
	Caller     string            `json:"caller,omitempty"`
	Start      time.Time         `json:"start"`
	End        time.Time         `json:"end"`
	Attributes map[string]string `json:"attributes,omitempty"`
}

// Duration is End - Start.
func (s Span) Duration() time.Duration { return s.End.Sub(s.Start) }

// DefaultBufferSize is how many spans a Store keeps unless configured otherwise.
const DefaultBufferSize = 20000

// Store is a span processor that keeps the last finished spans in a ring buffer.
type Store struct {
	mu sync.RWMutex
	// buf holds the SDK's own read-only spans, converted only when queried (OnEnd stays cheap),
	// or spans added as they are.
	buf     []entry
	next    int
	full    bool
	dropped uint64
}

var _ sdktrace.SpanProcessor = (*Store)(nil)

// NewStore keeps up to size spans (DefaultBufferSize when size <= 0).
func NewStore(size int) *Store {
	if size <= 0 {
		size = DefaultBufferSize
	}
	return &Store{buf: make([]entry, size)}
}

type entry struct {
	ro sdktrace.ReadOnlySpan
	sp Span
}

func (e entry) span() Span {
	if e.ro != nil {
		return FromReadOnly(e.ro)
	}
	return e.sp
}

// OnStart names the component of the API server's etcd3 storage spans, which k8s.io/apiserver
// starts itself.
func (s *Store) OnStart(_ context.Context, sp sdktrace.ReadWriteSpan) {
	if strings.HasSuffix(sp.Name(), " etcd3") {
		sp.SetAttributes(Component(ComponentEtcd), Caller(ComponentAPIServer))
	}
}

// OnEnd keeps the span, overwriting the oldest when the buffer is full.
func (s *Store) OnEnd(sp sdktrace.ReadOnlySpan) {
	if filterSpans[sp.Name()] {
		return
	}
	for _, a := range sp.Attributes() {
		if a.Key == Discard.Key {
			return
		}
	}
	s.add(entry{ro: sp})
}

// Add keeps a span (tests, and spans gathered from elsewhere).
func (s *Store) Add(sp Span) { s.add(entry{sp: sp}) }

func (s *Store) add(e entry) {
	s.mu.Lock()
	if s.full {
		s.dropped++
	}
	s.buf[s.next] = e
	s.next++
	if s.next == len(s.buf) {
		s.next, s.full = 0, true
	}
	s.mu.Unlock()
}

// Shutdown does nothing: the spans stay readable.
func (s *Store) Shutdown(context.Context) error { return nil }

// ForceFlush does nothing: spans are stored as they end.
func (s *Store) ForceFlush(context.Context) error { return nil }

// Dropped is how many spans were overwritten.
func (s *Store) Dropped() uint64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.dropped
}

// Len is how many spans the store holds.
func (s *Store) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.full {
		return len(s.buf)
	}
	return s.next
}

// snapshot copies the held spans, oldest first.
func (s *Store) snapshot() []Span {
	s.mu.RLock()
	var held []entry
	if !s.full {
		held = append(held, s.buf[:s.next]...)
	} else {
		held = make([]entry, 0, len(s.buf))
		held = append(held, s.buf[s.next:]...)
		held = append(held, s.buf[:s.next]...)
	}
	s.mu.RUnlock()
	out := make([]Span, len(held))
	for i, e := range held {
		out[i] = e.span()
	}
	return out
}

// Query returns the spans about the objects with these UIDs and of the ancestors' own work
// (see Select), sorted by start.
func (s *Store) Query(uids, ancestors []string) []Span {
	return Select(s.snapshot(), uids, ancestors)
}

// Select picks from all the spans about the objects with these UIDs: spans naming one of them
// (k8s.object.uid or skiff.related_uids), then, transitively, the spans of objects owned by a
// selected object (k8s.object.owner_uids), and finally every span of the traces selected spans
// belong to, and the spans they are linked to (the client's span behind an API request).
// Ancestors (a pod's ReplicaSet and Deployment) add the spans that name them, without their
// other descendants. Callers missing from the spans are derived from their parent or link
// span. The result is sorted by start time.
func Select(all []Span, uids, ancestors []string) []Span {
	want := map[string]bool{}
	for _, u := range uids {
		if u != "" {
			want[u] = true
		}
	}
	// Owned objects, transitively: a Deployment's ReplicaSets, their pods.
	for changed := true; changed; {
		changed = false
		for _, sp := range all {
			uid := sp.Attributes[AttrUID]
			if uid == "" || want[uid] {
				continue
			}
			for _, o := range splitList(sp.Attributes[AttrOwnerUIDs]) {
				if want[o] {
					want[uid], changed = true, true
					break
				}
			}
		}
	}
	for _, u := range ancestors {
		if u != "" {
			want[u] = true
		}
	}
	traces := map[string]bool{}
	links := map[string]bool{}
	for _, sp := range all {
		if want[sp.Attributes[AttrUID]] || anyIn(splitList(sp.Attributes[AttrRelatedUIDs]), want) {
			traces[sp.TraceID] = true
			if sp.LinkSpanID != "" {
				links[sp.LinkSpanID] = true
			}
		}
	}
	components := make(map[string]string, len(all))
	for _, sp := range all {
		components[sp.SpanID] = sp.Component
	}
	var out []Span
	seen := map[string]bool{}
	for _, sp := range all {
		if !traces[sp.TraceID] && !links[sp.SpanID] || seen[sp.SpanID] {
			continue
		}
		seen[sp.SpanID] = true
		if sp.Caller == "" {
			sp.Caller = callerOf(sp, components)
		}
		out = append(out, sp)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Start.Before(out[j].Start) })
	return out
}

// callerOf is the component of the span's parent or link when it differs from its own.
func callerOf(sp Span, components map[string]string) string {
	for _, id := range []string{sp.ParentSpanID, sp.LinkSpanID} {
		if c := components[id]; id != "" && c != "" && c != sp.Component {
			return c
		}
	}
	return ""
}

func anyIn(list []string, set map[string]bool) bool {
	for _, v := range list {
		if set[v] {
			return true
		}
	}
	return false
}

// splitList reads a list attribute as the store keeps it (comma-separated).
func splitList(v string) []string {
	if v == "" {
		return nil
	}
	return strings.Split(v, ",")
}

// Path is where the API server and the node agents serve spans: GET Path?uid=UID[&uid=...].
const Path = "/insight/v1/traces"

// Response is the body of Path.
type Response struct {
	Spans []Span `json:"spans"`
}

// ServeHTTP answers Path from this store alone (the node agents' server).
func (s *Store) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	uids := r.URL.Query()["uid"]
	if len(uids) == 0 {
		http.Error(w, "uid is required", http.StatusBadRequest)
		return
	}
	WriteResponse(w, s.Query(uids, r.URL.Query()["ancestor"]))
}

// WriteResponse writes spans as Path's JSON body.
func WriteResponse(w http.ResponseWriter, spans []Span) {
	if spans == nil {
		spans = []Span{}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(Response{Spans: spans})
}
