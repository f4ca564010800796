package streaminglists

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/endpoints/handlers/negotiation"
	"k8s.io/apiserver/pkg/endpoints/handlers/responsewriters"
	"k8s.io/apiserver/pkg/storage"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"

	"github.com/skiff-dev/skiff/test/poll"
)

// laggingServer answers pods as an API server whose watch cache lags behind etcd: every
// streaming list is refused with the error (and encoding, and Retry-After) k8s.io/apiserver
// gives, a list is served, a plain watch stays open.
type laggingServer struct {
	streams, lists atomic.Int32
}

func (s *laggingServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	gv := corev1.SchemeGroupVersion
	if r.URL.Path != "/api/v1/pods" {
		responsewriters.ErrorNegotiated(apierrors.NewNotFound(gv.WithResource("").GroupResource(), r.URL.Path), scheme.Codecs, gv, w, r)
		return
	}
	switch q := r.URL.Query(); {
	case q.Get("watch") == "true" && q.Get("sendInitialEvents") == "true":
		s.streams.Add(1)
		responsewriters.ErrorNegotiated(storage.NewTooLargeResourceVersionError(20, 10, 1), scheme.Codecs, gv, w, r)
	case q.Get("watch") == "true":
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	default:
		s.lists.Add(1)
		list := &corev1.PodList{ListMeta: metav1.ListMeta{ResourceVersion: "10"}, Items: []corev1.Pod{
			{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "a", ResourceVersion: "9"}},
			{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "b", ResourceVersion: "10"}},
		}}
		responsewriters.WriteObjectNegotiated(scheme.Codecs, negotiation.DefaultEndpointRestrictions, gv, w, r, http.StatusOK, list, false)
	}
}

// TestListWhenCacheLags: against an API server that refuses every streaming list for its
// watch cache's lag, an informer whose client carries WrapTransport lists instead and syncs, in
// JSON and in protobuf; without it, client-go retries the streaming list and never lists.
func TestListWhenCacheLags(t *testing.T) {
	Enable()
	for _, tc := range []struct {
		name       string
		protobuf   bool
		wrapped    bool
		wantSynced bool
		deadline   time.Duration
		maxStreams int32
	}{
		{name: "json", wrapped: true, wantSynced: true, deadline: 30 * time.Second, maxStreams: 1},
		{name: "protobuf", protobuf: true, wrapped: true, wantSynced: true, deadline: 30 * time.Second, maxStreams: 1},
		// client-go alone: each streaming list is retried after Retry-After (1 s), ten times,
		// and then again; it never lists.
		{name: "without WrapTransport", protobuf: true, deadline: 2500 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := &laggingServer{}
			ts := httptest.NewServer(srv)
			defer ts.Close()
			cfg := &rest.Config{Host: ts.URL}
			if tc.protobuf {
				cfg.ContentType = "application/vnd.kubernetes.protobuf"
				cfg.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
			}
			if tc.wrapped {
				cfg.Wrap(WrapTransport)
			}
			client := kubernetes.NewForConfigOrDie(cfg)
			factory := informers.NewSharedInformerFactory(client, 0)
			inf := factory.Core().V1().Pods().Informer()
			ctx, cancel := context.WithCancel(context.Background())
			defer factory.Shutdown()
			defer cancel()
			factory.Start(ctx.Done())
			err := poll.Wait(ctx, tc.deadline, poll.Check(func() (bool, string) { return inf.HasSynced(), "informer not synced" }))
			streams, lists := srv.streams.Load(), srv.lists.Load()
			if synced := err == nil; synced != tc.wantSynced {
				t.Fatalf("synced %v, want %v (streaming lists tried %d times, lists %d): %v", synced, tc.wantSynced, streams, lists, err)
			}
			if streams == 0 {
				t.Fatal("no streaming list was tried: the test does not exercise the fallback")
			}
			if !tc.wantSynced {
				if lists != 0 {
					t.Errorf("%d lists without WrapTransport, want none", lists)
				}
				return
			}
			if n := len(inf.GetStore().List()); n != 2 {
				t.Errorf("store has %d pods, want 2", n)
			}
			if streams > tc.maxStreams {
				t.Errorf("streaming list tried %d times before the list, want at most %d (client-go retried it)", streams, tc.maxStreams)
			}
		})
	}
}

// TestWrapTransportRewritesOnlyTheLag: the lag's refusal of a streaming list is the only answer
// changed; a plain watch's and another 504 pass as the server wrote them.
func TestWrapTransportRewritesOnlyTheLag(t *testing.T) {
	lag := storage.NewTooLargeResourceVersionError(20, 10, 1)
	other := apierrors.NewTimeoutError("request did not complete within 60s", 1)
	for _, tc := range []struct {
		name        string
		query       string
		err         error
		wantChanged bool
	}{
		{name: "streaming list refused for lag", query: "watch=true&sendInitialEvents=true", err: lag, wantChanged: true},
		{name: "watch=1 form", query: "watch=1&sendInitialEvents=1", err: lag, wantChanged: true},
		{name: "plain watch with too large a version", query: "watch=true&resourceVersion=20", err: lag},
		{name: "list with too large a version", query: "resourceVersion=20&resourceVersionMatch=NotOlderThan", err: lag},
		{name: "streaming list timed out otherwise", query: "watch=true&sendInitialEvents=true", err: other},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(http.MethodGet, "/api/v1/pods?"+tc.query, nil)
			req.Header.Set("Accept", "application/vnd.kubernetes.protobuf")
			responsewriters.ErrorNegotiated(tc.err, scheme.Codecs, corev1.SchemeGroupVersion, rec, req)
			written := rec.Result()
			writtenBody := rec.Body.Bytes()
			resp, err := WrapTransport(roundTripFunc(func(*http.Request) (*http.Response, error) {
				return written, nil
			})).RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusGatewayTimeout {
				t.Errorf("status %d, want 504", resp.StatusCode)
			}
			changed := string(body) != string(writtenBody)
			if changed != tc.wantChanged {
				t.Fatalf("body changed %v, want %v: %q", changed, tc.wantChanged, body)
			}
			if !tc.wantChanged {
				if resp.Header.Get("Retry-After") == "" {
					t.Error("Retry-After removed from an answer left as it was")
				}
				return
			}
			if h := resp.Header.Get("Retry-After"); h != "" {
				t.Errorf("Retry-After %q kept: client-go would retry", h)
			}
			if !strings.Contains(string(body), "too large resource version: 20, current: 10") || strings.Contains(string(body), string(metav1.CauseTypeResourceVersionTooLarge)) {
				t.Errorf("body %s: want the server's message without the cause", body)
			}
			if decoded, refused := refusedForLag(body); refused {
				t.Errorf("rewritten body still names the cause: %+v", decoded)
			}
		})
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
