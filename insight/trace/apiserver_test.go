package trace

import (
	"context"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	oteltrace "go.opentelemetry.io/otel/trace"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// request runs a write as k8s.io/apiserver traces one on tp: the otelhttp request span (named
// after routing), the handler's span (folded), the admission annotator's attributes, the etcd3
// span started through the request span's provider (as component-base's tracing.Start does),
// and the response's encoding (folded).
func request(ctx context.Context, tp oteltrace.TracerProvider, method, name, kind string, opts ...oteltrace.SpanStartOption) {
	opts = append(opts, oteltrace.WithSpanKind(oteltrace.SpanKindServer), oteltrace.WithAttributes(
		attribute.String("http.request.method", method), attribute.String("network.peer.address", "127.0.0.1"),
		attribute.String("url.path", "/api/v1/namespaces/default/pods")))
	ctx, req := tp.Tracer("go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp").Start(ctx, method, opts...)
	req.SetAttributes(attribute.String("http.target", "/api/v1/namespaces/default/pods"), attribute.String("audit-id", "a1"))
	cb := func(ctx context.Context) oteltrace.Tracer {
		return oteltrace.SpanFromContext(ctx).TracerProvider().Tracer("k8s.io/component-base/tracing")
	}
	hctx, h := cb(ctx).Start(ctx, "Create", oteltrace.WithAttributes(attribute.String("verb", method)))
	oteltrace.SpanFromContext(hctx).SetAttributes(Object(kind, &metav1.ObjectMeta{UID: "u1", Name: "p", Namespace: "default"})...)
	_, e := cb(hctx).Start(hctx, "Create etcd3", oteltrace.WithAttributes(attribute.String("key", "/pods/default/p"),
		attribute.String("resource", strings.ToLower(kind)+"s")))
	e.End()
	_, ser := cb(hctx).Start(hctx, "SerializeObject")
	ser.End()
	h.End()
	req.SetName(name)
	req.SetAttributes(attribute.Int("http.response.status_code", 201))
	req.End()
}

func TestAPIServerSpans(t *testing.T) {
	p, err := New(context.Background(), Options{BufferSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	tp := p.APIServer()
	ctx := context.Background()
	request(ctx, tp, "POST", "POST /api/v1/namespaces/{:namespace}/pods", "Pod")
	got := p.Store.Query([]string{"u1"}, nil)
	if len(got) != 2 || p.Store.Len() != 2 {
		t.Fatalf("kept %d spans (%+v), want the request and its etcd3 call", p.Store.Len(), got)
	}
	req, etcd := got[0], got[1]
	if req.Component != ComponentAPIServer || req.Name != "POST /api/v1/namespaces/{:namespace}/pods" ||
		req.Attributes[AttrUID] != "u1" || req.Attributes["http.request.method"] != "POST" ||
		req.Attributes["http.response.status_code"] != "201" || req.Attributes["audit-id"] != "a1" || req.ParentSpanID != "" {
		t.Errorf("request span %+v", req)
	}
	for _, k := range []string{"network.peer.address", "http.target", "verb"} {
		if _, ok := req.Attributes[k]; ok {
			t.Errorf("request span keeps %s: %v", k, req.Attributes)
		}
	}
	if etcd.Component != ComponentEtcd || etcd.Caller != ComponentAPIServer || etcd.ParentSpanID != req.SpanID ||
		etcd.TraceID != req.TraceID || etcd.Attributes["key"] != "/pods/default/p" || etcd.End.Before(etcd.Start) {
		t.Errorf("etcd span %+v", etcd)
	}

	// Not kept: a read and what runs under it, a Lease write named so only after routing.
	request(ctx, tp, "GET", "GET /api/v1/namespaces/{:namespace}/pods", "Pod")
	request(ctx, tp, "PUT", "PUT /apis/coordination.k8s.io/v1/namespaces/{:namespace}/leases/{:name}", "Lease")
	// A client's span: sampled, a parent (or a link, for a request made anew a root); not
	// sampled, nothing kept.
	client := oteltrace.NewSpanContext(oteltrace.SpanContextConfig{TraceID: newTraceID(), SpanID: newSpanID(),
		TraceFlags: oteltrace.FlagsSampled, Remote: true})
	request(oteltrace.ContextWithRemoteSpanContext(ctx, client), tp, "POST", "POST child", "Pod")
	request(ctx, tp, "POST", "POST linked", "Pod", oteltrace.WithNewRoot(), oteltrace.WithLinks(oteltrace.Link{SpanContext: client}))
	request(oteltrace.ContextWithRemoteSpanContext(ctx, client.WithTraceFlags(0)), tp, "POST", "POST unsampled", "Pod")
	if p.Store.Len() != 6 {
		t.Fatalf("kept %d spans, want 6: %+v", p.Store.Len(), p.Store.snapshot())
	}
	all := p.Store.snapshot()
	if c := all[3]; c.Name != "POST child" || c.ParentSpanID != client.SpanID().String() || c.TraceID != client.TraceID().String() {
		t.Errorf("request under a client's span %+v", c)
	}
	if l := all[5]; l.Name != "POST linked" || l.ParentSpanID != "" || l.LinkSpanID != client.SpanID().String() || l.TraceID == client.TraceID().String() {
		t.Errorf("request linked to a client's span %+v", l)
	}
}

func TestAPIServerSpansExported(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	p := &Provider{Store: NewStore(10), export: rec}
	request(context.Background(), p.APIServer(), "POST", "POST /api/v1/namespaces/{:namespace}/pods", "Pod")
	ended := rec.Ended()
	if len(ended) != 2 || p.Store.Len() != 2 {
		t.Fatalf("exported %d spans, stored %d, want 2", len(ended), p.Store.Len())
	}
	etcd, req := ended[0], ended[1]
	if !req.SpanContext().IsSampled() || etcd.Parent().SpanID() != req.SpanContext().SpanID() {
		t.Errorf("exported request %v (sampled %v), etcd parent %v", req.Name(), req.SpanContext().IsSampled(), etcd.Parent())
	}
	attrs := map[attribute.Key]string{}
	for _, a := range append(req.Attributes(), etcd.Attributes()...) {
		attrs[a.Key] = a.Value.Emit()
	}
	if attrs["network.peer.address"] != "127.0.0.1" || attrs[AttrComponent] != ComponentEtcd || attrs[AttrUID] != "u1" {
		t.Errorf("exported attributes %v", attrs)
	}
}
