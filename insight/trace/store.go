package trace

import (
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
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
	ro  sdktrace.ReadOnlySpan
	api *apiSpan
	sp  Span
}

func (e entry) span() Span {
	switch {
	case e.ro != nil:
		return FromReadOnly(e.ro)
	case e.api != nil:
		return e.api.span()
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
	if keepEnded(sp.Name(), sp.Attributes()) {
		s.add(entry{ro: sp})
	}
}

// keepEnded says whether the Store keeps an ended span: not a filter's or SerializeObject, not
// discarded, not the API server's work on a Lease or an Event (a request and its etcd3
// spans): the sampler cannot always tell at a request's start (k8s.io/apiserver may name
// the span after routing), so the store leaves them out when they end; a node's story shows
// its silence with the node lifecycle controller's span instead.
func keepEnded(name string, attrs []attribute.KeyValue) bool {
	if filterSpans[name] || Noise(name, nil) {
		return false
	}
	for _, a := range attrs {
		switch a.Key {
		case Discard.Key:
			return false
		case "resource":
			if v := a.Value.AsString(); v == "leases" || v == "events" {
				return false
			}
		case AttrKind:
			if v := a.Value.AsString(); v == "Lease" || v == "Event" {
				return false
			}
		}
	}
	return true
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
// (k8s.object.uid, skiff.related_uids, skiff.effect_uids or skiff.cause_uids), then,
// transitively, the spans of objects owned by a selected object (k8s.object.owner_uids) and of
// the objects the story goes on with (follow: from the time it reaches them, so that a node's
// story shows its pods' eviction and replacement, not their creation), and finally every span
// of the traces selected spans belong to, and the spans they are linked to (the client's span
// behind an API request). Ancestors (a pod's ReplicaSet and Deployment) add the spans that name
// them, without their other descendants. Callers missing from the spans are derived from their
// parent or link span. The result is sorted by start time.
func Select(all []Span, uids, ancestors []string) []Span {
	want := story{}
	for _, u := range uids {
		want.add(u, time.Time{})
	}
	for changed := true; changed; {
		changed = false
		for _, sp := range all {
			changed = want.follow(sp) || changed
		}
	}
	for _, u := range ancestors {
		want.add(u, time.Time{})
	}
	traces := map[string]bool{}
	links := map[string]bool{}
	for _, sp := range all {
		if want.names(sp) {
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

// story is the objects a query is about, each from the time the story reaches it (zero: its
// whole life).
type story map[string]time.Time

// add puts uid in the story from t on (or from an earlier time it already had); it reports
// whether that changed the story.
func (w story) add(uid string, t time.Time) bool {
	if uid == "" {
		return false
	}
	if old, ok := w[uid]; ok && !t.Before(old) {
		return false
	}
	w[uid] = t
	return true
}

// covers says whether the story includes uid at time t.
func (w story) covers(uid string, t time.Time) bool {
	since, ok := w[uid]
	return ok && !t.Before(since)
}

func (w story) coversAny(uids []string, t time.Time) bool {
	for _, u := range uids {
		if w.covers(u, t) {
			return true
		}
	}
	return false
}

// names says whether the span is about the story's objects: its object, related objects,
// effects or causes, at the span's start.
func (w story) names(sp Span) bool {
	return w.covers(sp.Attributes[AttrUID], sp.Start) || w.coversAny(splitList(sp.Attributes[AttrRelatedUIDs]), sp.Start) ||
		w.coversAny(splitList(sp.Attributes[AttrEffectUIDs]), sp.Start) || w.coversAny(splitList(sp.Attributes[AttrCauseUIDs]), sp.Start)
}

// follow adds what a span brings to the story and reports whether the story changed: the
// span's object when one of its owners is in the story (from the owner's time); its effects,
// from the span's start, when the span is in the story through its object or one of its causes
// (the pods a node's eviction deleted, the pod created to replace one); its causes when one of
// its effects is in the story (the pod the replacement replaced, from the replacement's time).
func (w story) follow(sp Span) bool {
	changed := false
	uid := sp.Attributes[AttrUID]
	if uid != "" {
		for _, o := range splitList(sp.Attributes[AttrOwnerUIDs]) {
			if since, ok := w[o]; ok {
				changed = w.add(uid, since) || changed
			}
		}
	}
	effects, causes := splitList(sp.Attributes[AttrEffectUIDs]), splitList(sp.Attributes[AttrCauseUIDs])
	if len(effects) == 0 {
		return changed
	}
	if w.covers(uid, sp.Start) || w.coversAny(causes, sp.Start) {
		for _, e := range effects {
			changed = w.add(e, sp.Start) || changed
		}
	}
	for _, e := range effects {
		if w.covers(e, sp.Start) {
			for _, c := range causes {
				changed = w.add(c, w[e]) || changed
			}
		}
	}
	return changed
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

// splitList reads a list attribute as the store keeps it (comma-separated).
func splitList(v string) []string {
	if v == "" {
		return nil
	}
	return strings.Split(v, ",")
}

// Resolve finds, for an object that may be gone, the UID of the latest object of that kind,
// namespace and name the spans name, and its owners' UIDs, transitively (nearest first), as the
// spans name them; "" when no span names it.
func (s *Store) Resolve(kind, namespace, name string) (uid string, ancestors []string) {
	return ResolveName(s.snapshot(), kind, namespace, name)
}

// ResolveName is Resolve over spans.
func ResolveName(spans []Span, kind, namespace, name string) (uid string, ancestors []string) {
	var latest time.Time
	owners := map[string][]string{}
	for _, sp := range spans {
		u := sp.Attributes[AttrUID]
		if u == "" {
			continue
		}
		if o := splitList(sp.Attributes[AttrOwnerUIDs]); len(o) > 0 {
			owners[u] = o
		}
		if sp.Attributes[AttrKind] == kind && sp.Attributes[AttrName] == name && sp.Attributes[AttrNamespace] == namespace &&
			!sp.Start.Before(latest) {
			uid, latest = u, sp.Start
		}
	}
	seen := map[string]bool{uid: true}
	for cur := uid; cur != "" && len(owners[cur]) > 0 && !seen[owners[cur][0]]; {
		cur = owners[cur][0]
		seen[cur] = true
		ancestors = append(ancestors, cur)
	}
	return uid, ancestors
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
