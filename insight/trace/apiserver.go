package trace

import (
	"context"
	"encoding/binary"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	oteltrace "go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/embedded"
	"go.opentelemetry.io/otel/trace/noop"
)

// APIServer is the provider for k8s.io/apiserver's config (its TracerProvider). It records
// what `skiff trace` reads of a request at a fraction of the SDK's cost (issue 16's goal:
// tracing under 5%), with spans of its own (apiSpan) that the Store keeps as they are and
// that are exported over OTLP when the Provider exports:
//   - the per-filter spans (authentication, audit, authorization, impersonation,
//     priorityandfairness: one per filter of every request, timing what the request span
//     already covers) are not started at all rather than dropped by the sampler, because the
//     spans under a dropped span would be dropped too (the request span is under
//     "authentication");
//   - nor are the endpoint handlers' spans between the request span and the storage spans
//     (Create, Update, Patch, Delete, SerializeObject: foldedSpans): the storage spans
//     ("Create etcd3", ...) are the request span's children, and the admission annotator
//     (apiserver/insight/traces) names the object on the request span;
//   - the request span keeps the attributes something reads (method, path, user agent,
//     status, audit ID, the object's) and leaves out the connection's (unreadAttributes)
//     unless it is exported; no span keeps events unless exported (none is then).
//
// The request span decides as the Provider's sampler does: writes are kept (not reads, Lease
// or Event writes), with the spans under them.
func (p *Provider) APIServer() APIServerProvider { return APIServerProvider{p} }

// APIServerProvider is the TracerProvider of a Provider's API server (see APIServer).
type APIServerProvider struct{ *Provider }

// filterLatencyScope is the instrumentation scope of k8s.io/apiserver's filter spans
// (k8s.io/apiserver/pkg/endpoints/filterlatency).
const filterLatencyScope = "k8s.op/apiserver/pkg/endpoints/filterlatency"

// Tracer is the API server's tracer of the scope, one that starts nothing for the filter
// latencies' scope.
func (p APIServerProvider) Tracer(name string, opts ...oteltrace.TracerOption) oteltrace.Tracer {
	if name == filterLatencyScope {
		return noFilterSpans{}
	}
	return apiTracer{p: p.Provider, scope: name}
}

// noFilterSpans starts no span and leaves the context as it is, so that the spans under a
// filter have the filter's parent as theirs.
type noFilterSpans struct{ noop.Tracer }

var noSpan oteltrace.Span = noop.Span{}

func (noFilterSpans) Start(ctx context.Context, _ string, _ ...oteltrace.SpanStartOption) (context.Context, oteltrace.Span) {
	return ctx, noSpan
}

// foldedSpans are the spans the API server does not start (see APIServer): k8s.io/apiserver's
// write handlers' and the response's encoding.
var foldedSpans = map[string]bool{"Create": true, "Update": true, "Patch": true, "Delete": true, leafSpan: true}

// unreadAttributes are otelhttp's and k8s.io/apiserver's attributes of a request span that
// nothing in Skiff reads (the connection's addresses and ports, sizes, the target that
// url.path already gives): an API server span keeps them only when it is exported.
var unreadAttributes = map[attribute.Key]bool{"network.peer.address": true, "network.peer.port": true,
	"network.protocol.version": true, "server.address": true, "server.port": true, "url.scheme": true,
	"client.address": true, "http.request.body.size": true, "http.response.body.size": true, "http.target": true}

// maxAPIAttributes caps an API server span's attributes (the SDK's default limit).
const maxAPIAttributes = 128

type apiTracer struct {
	embedded.Tracer
	p     *Provider
	scope string
}

// Start starts an apiSpan, or none (foldedSpans: the context as it is), or a non-recording span
// when the sampler's rules drop it (a read, a Lease or Event write, under such a span).
func (t apiTracer) Start(ctx context.Context, name string, opts ...oteltrace.SpanStartOption) (context.Context, oteltrace.Span) {
	if foldedSpans[name] {
		return ctx, noSpan
	}
	cfg := oteltrace.NewSpanStartConfig(opts...)
	parent := oteltrace.SpanContextFromContext(ctx)
	if cfg.NewRoot() {
		parent = oteltrace.SpanContext{}
	}
	sc := oteltrace.SpanContextConfig{TraceID: parent.TraceID(), SpanID: newSpanID(), TraceState: parent.TraceState()}
	if !parent.IsValid() {
		sc.TraceID = newTraceID()
	}
	if !keep(ctx, parent, name, cfg.Attributes()) {
		// The spans under it see a valid, unsampled, non-recording parent: dropped too.
		ctx = oteltrace.ContextWithSpanContext(ctx, oteltrace.NewSpanContext(sc))
		return ctx, oteltrace.SpanFromContext(ctx)
	}
	if t.p.export != nil {
		sc.TraceFlags = oteltrace.FlagsSampled
	}
	sp := &apiSpan{p: t.p, scope: t.scope, sc: oteltrace.NewSpanContext(sc), name: name, kind: cfg.SpanKind(),
		start: cfg.Timestamp(), attrs: cfg.Attributes()}
	if parent.IsValid() {
		sp.parent = parent
	}
	if sp.start.IsZero() {
		sp.start = time.Now()
	}
	if links := cfg.Links(); len(links) > 0 {
		sp.link = links[0].SpanContext
	}
	if t.p.export == nil {
		sp.attrs = readAttributes(sp.attrs)
	}
	return oteltrace.ContextWithSpan(ctx, sp), sp
}

// readAttributes leaves the unreadAttributes out of attrs, in place.
func readAttributes(attrs []attribute.KeyValue) []attribute.KeyValue {
	out := attrs[:0]
	for _, a := range attrs {
		if !unreadAttributes[a.Key] {
			out = append(out, a)
		}
	}
	return out
}

func newTraceID() oteltrace.TraceID {
	var id oteltrace.TraceID
	binary.LittleEndian.PutUint64(id[:8], rand.Uint64())
	binary.LittleEndian.PutUint64(id[8:], rand.Uint64()|1)
	return id
}

func newSpanID() oteltrace.SpanID {
	var id oteltrace.SpanID
	binary.LittleEndian.PutUint64(id[:], rand.Uint64()|1)
	return id
}

// apiSpan is a span of the API server: what the Store and an OTLP export need, without the
// SDK's per-span limits, copies and events.
type apiSpan struct {
	embedded.Span
	p     *Provider
	scope string
	// sc, parent, kind and start are set at the start; link is the first link's.
	sc, parent, link oteltrace.SpanContext
	kind             oteltrace.SpanKind
	start            time.Time

	mu     sync.Mutex
	name   string
	attrs  []attribute.KeyValue
	status sdktrace.Status
	end    time.Time
	ended  bool
}

var _ oteltrace.Span = (*apiSpan)(nil)

// End ends the span: the Store keeps it unless it is a Lease's or an Event's (which the
// sampler could not tell at the request's start) or discarded, and it is exported when the
// Provider exports.
func (s *apiSpan) End(opts ...oteltrace.SpanEndOption) {
	end := time.Now()
	if len(opts) > 0 {
		if cfg := oteltrace.NewSpanEndConfig(opts...); !cfg.Timestamp().IsZero() {
			end = cfg.Timestamp()
		}
	}
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return
	}
	s.ended, s.end = true, end
	s.mu.Unlock()
	if s.p.export != nil {
		s.p.export.OnEnd(s.stub().Snapshot())
	}
	if keepEnded(s.name, s.attrs) {
		s.p.Store.add(entry{api: s})
	}
}

// stub is the ended span as the SDK's exporters take it.
func (s *apiSpan) stub() tracetest.SpanStub {
	st := tracetest.SpanStub{Name: s.name, SpanContext: s.sc, Parent: s.parent, SpanKind: s.kind, StartTime: s.start,
		EndTime: s.end, Attributes: s.attrs, Status: s.status, Resource: s.p.resource,
		InstrumentationScope: instrumentation.Scope{Name: s.scope}}
	if s.link.IsValid() {
		st.Links = []sdktrace.Link{{SpanContext: s.link}}
	}
	if c, ok := etcdSpan(s.name); ok {
		st.Attributes = append(st.Attributes[:len(st.Attributes):len(st.Attributes)], c...)
	}
	return st
}

// span converts an ended span.
func (s *apiSpan) span() Span {
	out := fromParts(s.sc, s.parent, s.link, s.name, s.start, s.end, s.attrs)
	if _, ok := etcdSpan(s.name); ok {
		out.Component, out.Caller = ComponentEtcd, ComponentAPIServer
	}
	return out
}

// etcdSpan says whether name is k8s.io/apiserver's span of an etcd3 call ("Create etcd3"), and
// gives its component's attributes.
func etcdSpan(name string) ([]attribute.KeyValue, bool) {
	if !strings.HasSuffix(name, " etcd3") {
		return nil, false
	}
	return etcdAttributes, true
}

var etcdAttributes = []attribute.KeyValue{Component(ComponentEtcd), Caller(ComponentAPIServer)}

func (s *apiSpan) AddEvent(string, ...oteltrace.EventOption)   {}
func (s *apiSpan) AddLink(oteltrace.Link)                      {}
func (s *apiSpan) RecordError(error, ...oteltrace.EventOption) {}
func (s *apiSpan) SpanContext() oteltrace.SpanContext          { return s.sc }
func (s *apiSpan) TracerProvider() oteltrace.TracerProvider    { return APIServerProvider{s.p} }
func (s *apiSpan) IsRecording() bool                           { s.mu.Lock(); defer s.mu.Unlock(); return !s.ended }

func (s *apiSpan) SetStatus(code codes.Code, description string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended || code < s.status.Code {
		return
	}
	s.status = sdktrace.Status{Code: code}
	if code == codes.Error {
		s.status.Description = description
	}
}

func (s *apiSpan) SetName(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.ended {
		s.name = name
	}
}

// SetAttributes adds attributes (a later one of the same key wins when the span is read), up
// to maxAPIAttributes.
func (s *apiSpan) SetAttributes(kv ...attribute.KeyValue) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended {
		return
	}
	for _, a := range kv {
		if len(s.attrs) < maxAPIAttributes && a.Valid() && (s.p.export != nil || !unreadAttributes[a.Key]) {
			s.attrs = append(s.attrs, a)
		}
	}
}
