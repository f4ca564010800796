package node_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/skiff-dev/skiff/apiserver/apiservertest"
)

// nodes/proxy reaches the node agent's server with the API server's node client certificate,
// with the request's path and query, by the node's name alone or with the agent's port; a node
// whose address is loopback is refused, as upstream.
func TestNodeProxy(t *testing.T) {
	s := apiservertest.Start(t)
	ctx := context.Background()
	agent := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		client := ""
		if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
			client = r.TLS.PeerCertificates[0].Subject.CommonName
		}
		fmt.Fprintf(w, "%s %s?%s by %s", r.Method, r.URL.Path, r.URL.RawQuery, client)
	})
	node := s.FakeNode(t, "proxied", apiservertest.NonLoopbackIP(t), agent)
	port := node.Status.DaemonEndpoints.KubeletEndpoint.Port
	for _, name := range []string{"proxied", fmt.Sprintf("proxied:%d", port), fmt.Sprintf("https:proxied:%d", port)} {
		raw, err := s.Client.CoreV1().RESTClient().Get().AbsPath("/api/v1/nodes/"+name+"/proxy/healthz").Param("verbose", "1").DoRaw(ctx)
		if want := "GET /healthz?verbose=1 by kube-apiserver-kubelet-client"; err != nil || string(raw) != want {
			t.Errorf("nodes/%s/proxy/healthz: %q, %v; want %q", name, raw, err, want)
		}
	}
	s.FakeNode(t, "loopback", "127.0.0.1", agent)
	var code int
	raw, _ := s.Client.CoreV1().RESTClient().Get().AbsPath("/api/v1/nodes/loopback/proxy/healthz").Do(ctx).StatusCode(&code).Raw()
	if code != http.StatusBadRequest || !strings.Contains(string(raw), "address not allowed") {
		t.Errorf("loopback node: %d %s", code, raw)
	}
	if _, err := s.Client.CoreV1().RESTClient().Get().AbsPath("/api/v1/nodes/missing/proxy/").DoRaw(ctx); err == nil {
		t.Errorf("proxy to a missing node succeeded")
	}
}
