package traces

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/authentication/user"

	"github.com/skiff-dev/skiff/insight/trace"
)

func TestAnnotatorAndHandlerMergeNodes(t *testing.T) {
	p, err := trace.New(context.Background(), trace.Options{BufferSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	ctx, span := p.Tracer("test").Start(context.Background(), "POST pods")
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "P",
		OwnerReferences: []metav1.OwnerReference{{UID: "RS", Name: "rs"}}}}
	attrs := admission.NewAttributesRecord(pod, nil, schema.GroupVersionKind{Version: "v1", Kind: "Pod"}, "ns", "p",
		schema.GroupVersionResource{Version: "v1", Resource: "pods"}, "", admission.Create, nil, false,
		&user.DefaultInfo{Name: "system:node:n1"})
	if err := (Annotator{}).Validate(ctx, attrs, nil); err != nil {
		t.Fatal(err)
	}
	span.End()

	// A node reports the agent's span and, again, the API server's (one process).
	t0 := time.Now()
	nodeStore := trace.NewStore(10)
	nodeStore.Add(trace.Span{TraceID: "T9", SpanID: "sync", Name: "sync Pod", Component: "agent:n1", Start: t0, End: t0,
		Attributes: map[string]string{trace.AttrUID: "P"}})
	for _, sp := range p.Store.Query([]string{"P"}, nil) {
		nodeStore.Add(sp)
	}
	node := httptest.NewServer(nodeStore)
	defer node.Close()
	h := Handler(Config{Store: p.Store, Nodes: func() ([]string, error) { return []string{"n1", "gone"}, nil },
		Connect: func(_ context.Context, n string) (*url.URL, http.RoundTripper, error) {
			if n == "gone" {
				return &url.URL{Scheme: "http", Host: "127.0.0.1:1"}, http.DefaultTransport, nil
			}
			u, _ := url.Parse(node.URL)
			return u, http.DefaultTransport, nil
		}})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, Path+"?uid=RS", nil))
	body := rec.Body.String()
	if rec.Code != http.StatusOK || strings.Count(body, `"spanID"`) != 2 || !strings.Contains(body, `"caller":"agent:n1"`) ||
		!strings.Contains(body, `"k8s.object.owner_uids":"RS"`) || !strings.Contains(body, `"sync Pod"`) {
		t.Fatalf("answer %d %s", rec.Code, body)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, Path, nil))
	if rec.Code != http.StatusBadRequest {
		t.Errorf("no uid: %d", rec.Code)
	}
}

// A delete's span names the object deleted (the admission attributes' old object).
func TestAnnotatorDelete(t *testing.T) {
	p, err := trace.New(context.Background(), trace.Options{BufferSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	ctx, span := p.Tracer("test").Start(context.Background(), "DELETE pods")
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "P"}}
	attrs := admission.NewAttributesRecord(nil, pod, schema.GroupVersionKind{Version: "v1", Kind: "Pod"}, "ns", "p",
		schema.GroupVersionResource{Version: "v1", Resource: "pods"}, "", admission.Delete, nil, false, &user.DefaultInfo{Name: "u"})
	if !(Annotator{}).Handles(admission.Delete) {
		t.Fatal("deletes not handled")
	}
	if err := (Annotator{}).Validate(ctx, attrs, nil); err != nil {
		t.Fatal(err)
	}
	span.End()
	if got := p.Store.Query([]string{"P"}, nil); len(got) != 1 || got[0].Attributes[trace.AttrName] != "p" {
		t.Fatalf("spans %+v", got)
	}
}

// A gone object is found by kind, namespace and name; its owners come as ancestors.
func TestHandlerResolvesAGoneObject(t *testing.T) {
	s := trace.NewStore(10)
	t0 := time.Now()
	s.Add(trace.Span{TraceID: "T1", SpanID: "rs", Start: t0, Attributes: map[string]string{trace.AttrUID: "RS", trace.AttrKind: "ReplicaSet", trace.AttrName: "web-1", trace.AttrNamespace: "ns"}})
	s.Add(trace.Span{TraceID: "T2", SpanID: "create", Start: t0.Add(time.Second), Attributes: map[string]string{trace.AttrUID: "P", trace.AttrKind: "Pod",
		trace.AttrName: "web-1-a", trace.AttrNamespace: "ns", trace.AttrOwnerUIDs: "RS"}})
	h := Handler(Config{Store: s})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, Path+"?kind=Pod&namespace=ns&name=web-1-a", nil))
	if body := rec.Body.String(); rec.Code != http.StatusOK || !strings.Contains(body, `"spanID":"create"`) || !strings.Contains(body, `"spanID":"rs"`) {
		t.Fatalf("answer %d %s", rec.Code, body)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, Path+"?kind=Pod&namespace=ns&name=never", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("unknown name: %d %s", rec.Code, rec.Body.String())
	}
}

// Another API server of an HA control plane is asked with LocalParam (it answers from its own
// store: the controllers' write it served), and its answer is merged; a peer that does not
// answer is left out, and a local question is not passed on.
func TestHandlerAsksPeers(t *testing.T) {
	t0 := time.Now()
	own := trace.NewStore(10)
	own.Add(trace.Span{TraceID: "T1", SpanID: "create-d", Name: "POST deployments", Component: "apiserver", Start: t0, End: t0,
		Attributes: map[string]string{trace.AttrUID: "D"}})
	peerStore := trace.NewStore(10)
	peerStore.Add(trace.Span{TraceID: "T2", SpanID: "create-rs", Name: "POST replicasets", Component: "apiserver", Start: t0.Add(time.Millisecond), End: t0,
		Attributes: map[string]string{trace.AttrUID: "RS", trace.AttrOwnerUIDs: "D"}})
	var peerQueries []string
	peerHandler := Handler(Config{Store: peerStore, PeerTransport: http.DefaultTransport, Peers: func(context.Context) ([]string, error) {
		t.Error("a local question was passed on to peers")
		return nil, nil
	}})
	peer := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		peerQueries = append(peerQueries, r.URL.RawQuery)
		peerHandler.ServeHTTP(w, r)
	}))
	defer peer.Close()
	h := Handler(Config{Store: own, PeerTransport: peer.Client().Transport, Peers: func(context.Context) ([]string, error) {
		return []string{strings.TrimPrefix(peer.URL, "https://"), "127.0.0.1:1"}, nil
	}})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, Path+"?uid=D", nil))
	body := rec.Body.String()
	if rec.Code != http.StatusOK || !strings.Contains(body, `"create-d"`) || !strings.Contains(body, `"create-rs"`) {
		t.Fatalf("answer %d %s", rec.Code, body)
	}
	if len(peerQueries) != 1 || peerQueries[0] != "local=true&uid=D" {
		t.Errorf("peer asked %q", peerQueries)
	}
	// Asked locally, the server answers from its own store.
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, Path+"?uid=D&local=true", nil))
	if body := rec.Body.String(); !strings.Contains(body, `"create-d"`) || strings.Contains(body, `"create-rs"`) || len(peerQueries) != 1 {
		t.Errorf("local answer %s (peer asked %d times)", body, len(peerQueries))
	}
}
