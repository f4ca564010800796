package server_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	statsv1alpha1 "k8s.io/kubelet/pkg/apis/stats/v1alpha1"

	"github.com/skiff-dev/skiff/nodeagent/server"
)

type fixedSummary struct {
	s   *statsv1alpha1.Summary
	err error
}

func (f fixedSummary) Summary(context.Context) (*statsv1alpha1.Summary, error) { return f.s, f.err }

// TestStatsEndpoints: /stats/summary and /metrics/resource answer callers that the API server
// allows nodes/stats and nodes/metrics of this node, and refuse the others with the kubelet's
// 403; a failed read gives resource_scrape_error 1.
func TestStatsEndpoints(t *testing.T) {
	at := metav1.NewTime(time.Unix(1700000000, 0))
	cpu, ws := uint64(2_500_000_000), uint64(1<<20)
	sum := &statsv1alpha1.Summary{Node: statsv1alpha1.NodeStats{NodeName: "n1", CPU: &statsv1alpha1.CPUStats{Time: at, UsageCoreNanoSeconds: &cpu},
		Memory: &statsv1alpha1.MemoryStats{Time: at, WorkingSetBytes: &ws}}, Pods: []statsv1alpha1.PodStats{}}
	// Each user may read one subresource of n1.
	allowed := map[string]string{"metrics-reader": "metrics", "stats-reader": "stats"}
	client := fake.NewClientset()
	client.PrependReactor("create", "subjectaccessreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		r := a.(k8stesting.CreateAction).GetObject().(*authorizationv1.SubjectAccessReview).DeepCopy()
		ra := r.Spec.ResourceAttributes
		r.Status.Allowed = ra.Resource == "nodes" && ra.Name == "n1" && ra.Verb == "get" && allowed[r.Spec.User] == ra.Subresource
		return true, r, nil
	})
	h, err := server.HandlerForTest(server.Config{NodeName: "n1", Client: client, Stats: fixedSummary{s: sum}})
	if err != nil {
		t.Fatal(err)
	}
	broken, err := server.HandlerForTest(server.Config{NodeName: "n1", Client: client, Stats: fixedSummary{err: errors.New("runtime down")}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, user, path string
		h                http.Handler
		code             int
		want             string
	}{
		{"metrics allowed", "metrics-reader", "/metrics/resource", h, 200, "\nnode_cpu_usage_seconds_total 2.5 1700000000000\n"},
		{"metrics working set", "metrics-reader", "/metrics/resource", h, 200, "\nnode_memory_working_set_bytes 1.048576e+06 1700000000000\n"},
		{"metrics without nodes/metrics", "stats-reader", "/metrics/resource", h, 403, "Forbidden (user=stats-reader, verb=get, resource=nodes, subresource=metrics)"},
		{"summary allowed", "stats-reader", "/stats/summary", h, 200, `"nodeName":"n1"`},
		{"summary without nodes/stats", "metrics-reader", "/stats/summary", h, 403, "Forbidden (user=metrics-reader, verb=get, resource=nodes, subresource=stats)"},
		{"nobody", "nobody", "/metrics/resource", h, 403, "subresource=metrics"},
		{"anonymous", "", "/stats/summary", h, 401, "Unauthorized"},
		{"failed read", "metrics-reader", "/metrics/resource", broken, 200, "\nresource_scrape_error 1\n"},
		{"failed summary", "stats-reader", "/stats/summary", broken, 500, "runtime down"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, tc.path, nil)
			if tc.user != "" {
				req.TLS = &tls.ConnectionState{VerifiedChains: [][]*x509.Certificate{{{Subject: pkix.Name{CommonName: tc.user}}}}}
			}
			rec := httptest.NewRecorder()
			tc.h.ServeHTTP(rec, req)
			if rec.Code != tc.code || !strings.Contains(rec.Body.String(), tc.want) {
				t.Fatalf("GET %s as %q: %d %.300q, want %d containing %q", tc.path, tc.user, rec.Code, rec.Body.String(), tc.code, tc.want)
			}
			if tc.path == "/stats/summary" && tc.code == 200 {
				var got statsv1alpha1.Summary
				if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || *got.Node.CPU.UsageCoreNanoSeconds != cpu {
					t.Errorf("summary: %v %+v", err, got.Node)
				}
			}
			if tc.path == "/metrics/resource" && tc.code == 200 && !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/plain; version=0.0.4") {
				t.Errorf("content type %q", rec.Header().Get("Content-Type"))
			}
		})
	}
}
