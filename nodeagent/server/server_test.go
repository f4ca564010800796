package server_test

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	authorizationv1 "k8s.io/api/authorization/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/skiff-dev/skiff/apiserver/pki"
	"github.com/skiff-dev/skiff/nodeagent/server"
)

// TestMetricsAndProfiling: /metrics and /debug/pprof/ answer callers with a certificate of the
// client CA whom the API server allows, and refuse the others with 401, as the kubelet's port.
func TestMetricsAndProfiling(t *testing.T) {
	ca, err := pki.LoadOrCreateCA(t.TempDir(), "ca", "test-ca")
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "skiff_test_total", Help: "A test counter."})
	reg.MustRegister(c)
	c.Inc()
	client := fake.NewClientset()
	client.PrependReactor("create", "subjectaccessreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		r := a.(k8stesting.CreateAction).GetObject().(*authorizationv1.SubjectAccessReview).DeepCopy()
		r.Status.Allowed = r.Spec.User == "test-ca"
		return true, r, nil
	})
	if _, err := server.HandlerForTest(server.Config{Metrics: reg, Profiling: true, Client: client}); err == nil || err.Error() != "node server: no node name" {
		t.Errorf("no node name: %v", err)
	}
	if _, err := server.HandlerForTest(server.Config{Metrics: reg, Profiling: true, NodeName: "n1"}); err == nil || !strings.Contains(err.Error(), "no API client") {
		t.Errorf("no client: %v", err)
	}
	h, err := server.HandlerForTest(server.Config{Metrics: reg, Profiling: true, NodeName: "n1", Client: client})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path, want string
		verified   bool
		code       int
	}{
		{"/metrics", "skiff_test_total 1", true, http.StatusOK},
		{"/metrics", "Unauthorized", false, http.StatusUnauthorized},
		{"/debug/pprof/", "heap", true, http.StatusOK},
		{"/debug/pprof/heap?debug=1", "heap profile", true, http.StatusOK},
		{"/debug/pprof/", "Unauthorized", false, http.StatusUnauthorized},
		{"/healthz", "ok", true, http.StatusOK},
		{"/healthz", "Unauthorized", false, http.StatusUnauthorized},
	} {
		req := httptest.NewRequest(http.MethodGet, tc.path, nil)
		if tc.verified {
			req.TLS = &tls.ConnectionState{VerifiedChains: [][]*x509.Certificate{{ca.Cert}}}
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != tc.code || !strings.Contains(rec.Body.String(), tc.want) {
			t.Errorf("GET %s (verified %v): %d %.200q, want %d containing %q", tc.path, tc.verified, rec.Code, rec.Body.String(), tc.code, tc.want)
		}
	}
}
