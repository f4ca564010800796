package trace

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	oteltrace "go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// Options configure a Provider.
type Options struct {
	// BufferSize is how many finished spans the Store keeps (DefaultBufferSize when 0).
	BufferSize int
	// OTLPEndpoint, when set (host:port), also exports every span over OTLP/gRPC.
	OTLPEndpoint string
	// OTLPInsecure exports without TLS.
	OTLPInsecure bool
	// ServiceName is the OpenTelemetry service.name of the spans (default "skiff").
	ServiceName string
}

// Provider is a process's TracerProvider and its Store.
type Provider struct {
	*sdktrace.TracerProvider
	Store *Store
}

// New builds a Provider. The sampler keeps writes and drops the API server's reads (GET, LIST,
// WATCH) and its Lease and Event writes, which would only push the work on objects out of the
// buffer; spans under a kept parent are kept. A Lease or Event write the sampler could not tell
// at its start (its name given after routing) is left out by the Store when it ends.
func New(ctx context.Context, o Options) (*Provider, error) {
	store := NewStore(o.BufferSize)
	name := o.ServiceName
	if name == "" {
		name = "skiff"
	}
	opts := []sdktrace.TracerProviderOption{
		sdktrace.WithSpanProcessor(store),
		sdktrace.WithSampler(sampler{export: o.OTLPEndpoint != ""}),
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", name))),
	}
	if o.OTLPEndpoint == "" {
		// Nothing reads span events but an OTLP collector (k8s.io/apiserver adds a few per
		// request): the Store keeps none.
		limits := sdktrace.NewSpanLimits()
		limits.EventCountLimit, limits.AttributePerEventCountLimit = 0, 0
		opts = append(opts, sdktrace.WithRawSpanLimits(limits))
	} else {
		eo := []otlptracegrpc.Option{otlptracegrpc.WithEndpoint(o.OTLPEndpoint)}
		if o.OTLPInsecure {
			eo = append(eo, otlptracegrpc.WithInsecure())
		}
		exp, err := otlptracegrpc.New(ctx, eo...)
		if err != nil {
			return nil, fmt.Errorf("OTLP exporter for %s: %w", o.OTLPEndpoint, err)
		}
		opts = append(opts, sdktrace.WithBatcher(exp))
	}
	return &Provider{TracerProvider: sdktrace.NewTracerProvider(opts...), Store: store}, nil
}

// APIServer is the provider for k8s.io/apiserver's config (its TracerProvider): the same
// provider without the per-filter spans (authentication, audit, authorization, impersonation,
// priorityandfairness: one per filter of every request, timing what the request span already
// covers). They are not started at all rather than dropped by the sampler, because the spans
// under a dropped span would be dropped too (the request span is under "authentication").
func (p *Provider) APIServer() APIServerProvider { return APIServerProvider{p} }

// APIServerProvider is a Provider whose tracer of k8s.io/apiserver's filter latencies starts no
// spans.
type APIServerProvider struct{ *Provider }

// filterLatencyScope is the instrumentation scope of k8s.io/apiserver's filter spans
// (k8s.io/apiserver/pkg/endpoints/filterlatency).
const filterLatencyScope = "k8s.op/apiserver/pkg/endpoints/filterlatency"

// Tracer is the provider's tracer, or one that starts nothing for the filter latencies' scope.
func (p APIServerProvider) Tracer(name string, opts ...oteltrace.TracerOption) oteltrace.Tracer {
	if name == filterLatencyScope {
		return noFilterSpans{}
	}
	return p.Provider.Tracer(name, opts...)
}

// noFilterSpans starts no span and leaves the context as it is, so that the spans under a
// filter have the filter's parent as theirs.
type noFilterSpans struct{ noop.Tracer }

var noSpan oteltrace.Span = noop.Span{}

func (noFilterSpans) Start(ctx context.Context, _ string, _ ...oteltrace.SpanStartOption) (context.Context, oteltrace.Span) {
	return ctx, noSpan
}

// sampler drops leafSpan, and otherwise keeps the root spans writes keeps and the spans under
// a kept parent: a local one the process records, a remote one (a traceparent header) flagged
// sampled. Kept spans are recorded and, only when they are exported (OTLP), flagged sampled:
// k8s.io/apiserver attaches a Prometheus exemplar (trace and span IDs) to each of its request,
// filter and admission metrics observed under a sampled span, which cost as much as the spans;
// the Store keeps what is recorded.
type sampler struct{ export bool }

func (s sampler) ShouldSample(p sdktrace.SamplingParameters) sdktrace.SamplingResult {
	psc := oteltrace.SpanContextFromContext(p.ParentContext)
	r := sdktrace.SamplingResult{Decision: sdktrace.Drop, Tracestate: psc.TraceState()}
	if p.Name == leafSpan || !keep(p, psc) {
		return r
	}
	r.Decision = sdktrace.RecordOnly
	if s.export {
		r.Decision = sdktrace.RecordAndSample
	}
	return r
}

// keep says whether a span other than leafSpan is kept.
func keep(p sdktrace.SamplingParameters, parent oteltrace.SpanContext) bool {
	switch {
	case !parent.IsValid():
		return !Noise(p.Name, p.Attributes)
	case parent.IsRemote():
		return parent.IsSampled()
	default:
		return parent.IsSampled() || oteltrace.SpanFromContext(p.ParentContext).IsRecording()
	}
}

func (s sampler) Description() string { return "SkiffWrites" }

// leafSpan is k8s.io/apiserver's span of a response's encoding: one per request, no spans
// under it, not kept by the Store; the sampler drops it.
const leafSpan = "SerializeObject"

// filterSpans are k8s.io/apiserver's spans that the Store does not keep: the filters' (which
// APIServer does not start; recorded, then dropped here, when the API server is given the
// provider as it is: the request span is under "authentication") and SerializeObject.
var filterSpans = map[string]bool{"authentication": true, "audit": true, "authorization": true, "impersonation": true,
	"constrainedimpersonation": true, "priorityandfairness": true, "SerializeObject": true}

// Noise says whether a root span is one the store does not keep: an HTTP read, or a write of
// Leases or Events (heartbeats and records, not work on objects).
func Noise(name string, attrs []attribute.KeyValue) bool {
	for _, a := range attrs {
		if a.Key == "http.request.method" || a.Key == "http.method" {
			switch a.Value.AsString() {
			case http.MethodGet, http.MethodHead, http.MethodOptions:
				return true
			}
		}
	}
	return strings.HasSuffix(name, "/leases") || strings.HasSuffix(name, "/leases/{:name}") ||
		strings.HasSuffix(name, "/events") || strings.HasSuffix(name, "/events/{:name}")
}

// FromReadOnly converts an SDK span.
func FromReadOnly(sp sdktrace.ReadOnlySpan) Span {
	sc := sp.SpanContext()
	out := Span{TraceID: sc.TraceID().String(), SpanID: sc.SpanID().String(), Name: sp.Name(),
		Start: sp.StartTime(), End: sp.EndTime()}
	if p := sp.Parent(); p.IsValid() {
		out.ParentSpanID = p.SpanID().String()
	}
	if links := sp.Links(); len(links) > 0 && links[0].SpanContext.IsValid() {
		out.LinkSpanID = links[0].SpanContext.SpanID().String()
	}
	attrs := sp.Attributes()
	out.Attributes = make(map[string]string, len(attrs))
	for _, a := range attrs {
		switch a.Key {
		case AttrComponent:
			out.Component = a.Value.AsString()
		case AttrCaller:
			out.Caller = a.Value.AsString()
		default:
			out.Attributes[string(a.Key)] = a.Value.Emit()
		}
	}
	if out.Component == "" {
		// Skiff's own spans name their component: the others are k8s.io/apiserver's (its
		// otelhttp request span, its filters' and handlers' spans).
		out.Component = ComponentAPIServer
	}
	if out.Caller == "" && strings.HasPrefix(out.Attributes["user_agent.original"], "kubectl") {
		out.Caller = ComponentKubectl
	}
	return out
}

// WrapTransport carries the request context's span to the server as a W3C traceparent header
// (no client span of its own): the API server links or parents its request span to it. Use it
// as a rest.Config's WrapTransport.
func WrapTransport(rt http.RoundTripper) http.RoundTripper {
	return propagatingTransport{rt}
}

type propagatingTransport struct{ next http.RoundTripper }

var traceContext = propagation.TraceContext{}

func (t propagatingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	sp := oteltrace.SpanFromContext(r.Context())
	if sc := sp.SpanContext(); sc.IsValid() && (sc.IsSampled() || sp.IsRecording()) {
		// Flagged sampled: the server keeps the spans under it (a span recorded but not
		// exported is not flagged, see sampler).
		ctx := oteltrace.ContextWithSpanContext(r.Context(), sc.WithTraceFlags(sc.TraceFlags().WithSampled(true)))
		r = r.Clone(r.Context())
		traceContext.Inject(ctx, propagation.HeaderCarrier(r.Header))
	}
	return t.next.RoundTrip(r)
}

// Record adds a finished span with the given bounds to tp (a step timed elsewhere, such as a
// scheduling queue wait): it starts and ends it at once with explicit timestamps.
func Record(ctx context.Context, tr oteltrace.Tracer, name string, start, end time.Time, attrs ...attribute.KeyValue) {
	_, sp := tr.Start(ctx, name, oteltrace.WithTimestamp(start), oteltrace.WithAttributes(attrs...))
	sp.End(oteltrace.WithTimestamp(end))
}
