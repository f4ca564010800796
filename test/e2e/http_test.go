package e2e

import (
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/rest"
)

func TestAnonymousAndMetrics(t *testing.T) {
	s := sharedCluster(t)
	cfg := s.restConfig(t)
	// Like curl -k: no client certificate, server certificate not checked.
	anon := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	get := func(t *testing.T, c *http.Client, path string) (int, string) {
		t.Helper()
		resp, err := c.Get(strings.TrimSuffix(cfg.Host, "/") + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, string(body)
	}
	for _, tc := range []struct {
		path     string
		code     int
		contains string
	}{
		{"/api/v1/pods", 403, `pods is forbidden: User \"system:anonymous\" cannot list resource \"pods\" in API group \"\" at the cluster scope`},
		{"/api/v1/namespaces/default/configmaps", 403, `User \"system:anonymous\" cannot list resource \"configmaps\"`},
		{"/apis/apps/v1/deployments", 403, `deployments.apps is forbidden`},
		{"/metrics", 403, `forbidden`},
		{"/healthz", 200, "ok"},
		{"/livez", 200, "ok"},
		{"/readyz", 200, "ok"},
		{"/readyz?verbose", 200, "readyz check passed"},
		{"/version", 200, `"gitVersion": "v1.37.2"`},
	} {
		t.Run("anonymous"+tc.path, func(t *testing.T) {
			code, body := get(t, anon, tc.path)
			if code != tc.code || !strings.Contains(body, tc.contains) {
				t.Errorf("GET %s: %d %q, want %d containing %q", tc.path, code, body, tc.code, tc.contains)
			}
			if tc.code == 403 {
				var st struct{ Kind, Reason string }
				if err := json.Unmarshal([]byte(body), &st); err != nil || st.Kind != "Status" || st.Reason != "Forbidden" {
					t.Errorf("403 body is not a Forbidden Status: %s", body)
				}
			}
		})
	}
	t.Run("metrics-admin", func(t *testing.T) {
		admin, err := rest.HTTPClientFor(cfg)
		if err != nil {
			t.Fatal(err)
		}
		code, body := get(t, admin, "/metrics")
		if code != 200 || !strings.Contains(body, "apiserver_request_total") {
			t.Errorf("GET /metrics as admin: %d, apiserver_request_total present: %v", code, strings.Contains(body, "apiserver_request_total"))
		}
	})
}
