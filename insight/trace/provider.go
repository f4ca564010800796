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
	// export is the OTLP exporter's processor (nil when not exporting) and resource the
	// spans' resource, for the API server's own spans (APIServer).
	export   sdktrace.SpanProcessor
	resource *resource.Resource
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
	res := resource.NewSchemaless(attribute.String("service.name", name))
	opts := []sdktrace.TracerProviderOption{
		sdktrace.WithSpanProcessor(store),
		sdktrace.WithSampler(sampler{export: o.OTLPEndpoint != ""}),
		sdktrace.WithResource(res),
	}
	var export sdktrace.SpanProcessor
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
		export = sdktrace.NewBatchSpanProcessor(exp)
		opts = append(opts, sdktrace.WithSpanProcessor(export))
	}
	return &Provider{TracerProvider: sdktrace.NewTracerProvider(opts...), Store: store, export: export, resource: res}, nil
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
	if p.Name == leafSpan || !keep(p.ParentContext, psc, p.Name, p.Attributes) {
		return r
	}
	r.Decision = sdktrace.RecordOnly
	if s.export {
		r.Decision = sdktrace.RecordAndSample
	}
	return r
}

// keep says whether a span other than leafSpan is kept: a root span writes keeps, a span under
// a local parent the process records or under a parent flagged sampled.
func keep(ctx context.Context, parent oteltrace.SpanContext, name string, attrs []attribute.KeyValue) bool {
	switch {
	case !parent.IsValid():
		return !Noise(name, attrs)
	case parent.IsRemote():
		return parent.IsSampled()
	default:
		return parent.IsSampled() || oteltrace.SpanFromContext(ctx).IsRecording()
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
	"constrainedimpersonation": true, "priorityandfairness": true, leafSpan: true}

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
	var link oteltrace.SpanContext
	if links := sp.Links(); len(links) > 0 {
		link = links[0].SpanContext
	}
	return fromParts(sp.SpanContext(), sp.Parent(), link, sp.Name(), sp.StartTime(), sp.EndTime(), sp.Attributes())
}

// fromParts makes a Span of a span's context, parent's, first link's, name, times and attributes.
func fromParts(sc, parent, link oteltrace.SpanContext, name string, start, end time.Time, attrs []attribute.KeyValue) Span {
	out := Span{TraceID: sc.TraceID().String(), SpanID: sc.SpanID().String(), Name: name, Start: start, End: end}
	if parent.IsValid() {
		out.ParentSpanID = parent.SpanID().String()
	}
	if link.IsValid() {
		out.LinkSpanID = link.SpanID().String()
	}
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
