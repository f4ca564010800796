package trace

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	oteltrace "go.opentelemetry.io/otel/trace"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestStoreRingDropsOldest(t *testing.T) {
	s := NewStore(3)
	for i := range 5 {
		s.Add(Span{SpanID: fmt.Sprint(i), TraceID: "t", Attributes: map[string]string{AttrUID: "u"}})
	}
	if s.Len() != 3 || s.Dropped() != 2 {
		t.Fatalf("len %d dropped %d, want 3 and 2", s.Len(), s.Dropped())
	}
	got := s.Query([]string{"u"}, nil)
	var ids string
	for _, sp := range got {
		ids += sp.SpanID
	}
	if ids != "234" {
		t.Fatalf("kept %q, want the newest 234", ids)
	}
}

func TestSelect(t *testing.T) {
	t0 := time.Unix(100, 0)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Millisecond) }
	all := []Span{
		{TraceID: "T1", SpanID: "deploy", Component: "kubectl", Start: at(0), Attributes: map[string]string{AttrUID: "D"}},
		{TraceID: "T1", SpanID: "etcd1", ParentSpanID: "deploy", Component: "etcd", Start: at(1)},
		{TraceID: "T2", SpanID: "rs", Component: "controller:deployment", Start: at(2), Attributes: map[string]string{AttrUID: "RS", AttrOwnerUIDs: "D"}},
		{TraceID: "T3", SpanID: "pod", LinkSpanID: "rs", Component: "apiserver", Start: at(3), Attributes: map[string]string{AttrUID: "P", AttrOwnerUIDs: "RS"}},
		{TraceID: "T4", SpanID: "other", Component: "apiserver", Start: at(4), Attributes: map[string]string{AttrUID: "X"}},
		{TraceID: "T5", SpanID: "slice", Component: "controller:endpoints", Start: at(5), Attributes: map[string]string{AttrRelatedUIDs: "Q,P"}},
	}
	for _, tc := range []struct {
		uids, ancestors []string
		want            []string
	}{
		{[]string{"D"}, nil, []string{"deploy", "etcd1", "rs", "pod", "slice"}},
		// The pod's own spans, the span its creation is linked to, the slice naming it.
		{[]string{"P"}, nil, []string{"rs", "pod", "slice"}},
		// Its ancestors' own work, not their other descendants'.
		{[]string{"P"}, []string{"RS", "D"}, []string{"deploy", "etcd1", "rs", "pod", "slice"}},
		{[]string{"RS"}, []string{"D"}, []string{"deploy", "etcd1", "rs", "pod", "slice"}},
		{[]string{"X"}, nil, []string{"other"}},
		{[]string{"nothing"}, nil, nil},
	} {
		got := Select(all, tc.uids, tc.ancestors)
		var ids []string
		for _, sp := range got {
			ids = append(ids, sp.SpanID)
		}
		if fmt.Sprint(ids) != fmt.Sprint(tc.want) {
			t.Errorf("Select(%v) = %v, want %v", tc.uids, ids, tc.want)
		}
	}
	// The link gives the API server's span its caller.
	if got := Select(all, []string{"P"}, nil)[1]; got.Caller != "controller:deployment" {
		t.Errorf("caller %q, want controller:deployment", got.Caller)
	}
}

// A node's story goes on with the pods its eviction deleted and their replacements; a pod's
// with its replacement and the pod it replaced, not with the node's other pods.
func TestSelectFollowsStories(t *testing.T) {
	t0 := time.Unix(100, 0)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Millisecond) }
	all := []Span{
		{TraceID: "T0", SpanID: "create1", Component: "apiserver", Start: at(-1), Attributes: map[string]string{AttrUID: "P1", AttrOwnerUIDs: "RS"}},
		{TraceID: "T1", SpanID: "fault", Component: "controller:fault", Start: at(0), Attributes: map[string]string{AttrUID: "F", AttrEffectUIDs: "N"}},
		{TraceID: "T2", SpanID: "unknown", Component: "controller:nodelifecycle", Start: at(1), Attributes: map[string]string{AttrUID: "N"}},
		{TraceID: "T3", SpanID: "evict1", Component: "controller:nodelifecycle", Start: at(2), Attributes: map[string]string{AttrUID: "N", AttrEffectUIDs: "P1"}},
		{TraceID: "T4", SpanID: "evict2", Component: "controller:nodelifecycle", Start: at(3), Attributes: map[string]string{AttrUID: "N", AttrEffectUIDs: "P2"}},
		{TraceID: "T5", SpanID: "replace", Component: "controller:replicaset", Start: at(4), Attributes: map[string]string{AttrUID: "RS", AttrCauseUIDs: "P1", AttrEffectUIDs: "Q1"}},
		{TraceID: "T6", SpanID: "bind", Component: "scheduler", Start: at(5), Attributes: map[string]string{AttrUID: "Q1", AttrOwnerUIDs: "RS"}},
		{TraceID: "T7", SpanID: "other", Component: "controller:replicaset", Start: at(6), Attributes: map[string]string{AttrUID: "RS"}},
	}
	for _, tc := range []struct {
		uids []string
		want []string
	}{
		{[]string{"F"}, []string{"fault", "unknown", "evict1", "evict2", "replace", "bind"}},
		{[]string{"N"}, []string{"fault", "unknown", "evict1", "evict2", "replace", "bind"}},
		// The pod's whole life; the node's story has it from its eviction on.
		{[]string{"P1"}, []string{"create1", "evict1", "replace", "bind"}},
		{[]string{"Q1"}, []string{"create1", "evict1", "replace", "bind"}},
		{[]string{"P2"}, []string{"evict2"}},
	} {
		var ids []string
		for _, sp := range Select(all, tc.uids, nil) {
			ids = append(ids, sp.SpanID)
		}
		if fmt.Sprint(ids) != fmt.Sprint(tc.want) {
			t.Errorf("Select(%v) = %v, want %v", tc.uids, ids, tc.want)
		}
	}
}

func TestProviderKeepsWritesNotReads(t *testing.T) {
	p, err := New(context.Background(), Options{BufferSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	tr := p.Tracer(ScopeName)
	ctx := context.Background()
	_, r := tr.Start(ctx, "/api/v1/pods", oteltrace.WithAttributes(attribute.String("http.request.method", "GET")))
	r.End()
	_, l := tr.Start(ctx, "/apis/coordination.k8s.io/v1/namespaces/{:namespace}/leases/{:name}")
	l.End()
	obj := &metav1.ObjectMeta{UID: "u1", Name: "p", Namespace: "ns", ResourceVersion: "7"}
	wctx, w := tr.Start(ctx, "sync", oteltrace.WithAttributes(append(Object("Pod", obj), Component("agent:n"))...))
	_, c := tr.Start(wctx, "Create etcd3")
	c.End()
	w.End()
	// A Lease write the sampler kept (its name given after routing) is left out when it ends,
	// with its etcd3 children.
	lctx, lw := tr.Start(ctx, "PUT", oteltrace.WithAttributes(append(Object("Lease", &metav1.ObjectMeta{UID: "u1"}), attribute.String("http.request.method", "PUT"))...))
	_, le := tr.Start(lctx, "GuaranteedUpdate etcd3", oteltrace.WithAttributes(attribute.String("resource", "leases")))
	le.End()
	lw.SetName("PUT /apis/coordination.k8s.io/v1/namespaces/{:namespace}/leases/{:name}")
	lw.End()
	got := p.Store.Query([]string{"u1"}, nil)
	if len(got) != 2 || p.Store.Len() != 2 {
		t.Fatalf("kept %d spans (%+v), want the write and its child", p.Store.Len(), got)
	}
	if got[0].Component != "agent:n" || got[0].Attributes[AttrResourceVersion] != "7" {
		t.Errorf("span %+v", got[0])
	}
	if got[1].Component != ComponentEtcd || got[1].Caller != ComponentAPIServer || got[1].ParentSpanID != got[0].SpanID {
		t.Errorf("etcd span %+v", got[1])
	}
}

func TestResolveName(t *testing.T) {
	t0 := time.Unix(100, 0)
	obj := func(uid, kind, name, owner string, at int) Span {
		a := map[string]string{AttrUID: uid, AttrKind: kind, AttrName: name, AttrNamespace: "ns"}
		if owner != "" {
			a[AttrOwnerUIDs] = owner
		}
		return Span{Start: t0.Add(time.Duration(at) * time.Second), Attributes: a}
	}
	spans := []Span{obj("D", "Deployment", "web", "", 0), obj("RS", "ReplicaSet", "web-1", "D", 1),
		obj("P1", "Pod", "web-1-a", "RS", 2), obj("P2", "Pod", "web-1-a", "RS", 3), obj("X", "Pod", "other", "", 4)}
	if uid, anc := ResolveName(spans, "Pod", "ns", "web-1-a"); uid != "P2" || fmt.Sprint(anc) != "[RS D]" {
		t.Errorf("resolved %q %v, want the latest pod P2 and [RS D]", uid, anc)
	}
	if uid, anc := ResolveName(spans, "Pod", "ns", "gone"); uid != "" || anc != nil {
		t.Errorf("resolved %q %v for a name no span has", uid, anc)
	}
}
