package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	certutil "k8s.io/client-go/util/cert"

	"github.com/skiff-dev/skiff/apis/helper"
)

// testIngress serves two Deployments of skiff-http through one Ingress with two hosts on the
// node's built-in ingress controller: HTTP by Host header and HTTPS by SNI (a self-signed
// certificate for both hosts in a kubernetes.io/tls Secret), from this machine to the ports
// the node records in its skiff.dev/ingress-ports annotation; the Ingress's
// status.loadBalancer gets the node's address, which `kubectl get ingress` shows.
func testIngress(t *testing.T, s *skiff, ns, node string) {
	t.Cleanup(func() {
		s.kubectl(t, "delete", "ingress", "site", "-n", ns, "--timeout=60s")
		s.kubectl(t, "delete", "deployment", "ing-a", "ing-b", "-n", ns, "--timeout=60s")
		s.kubectl(t, "delete", "pods", "-l", "app in (ing-a,ing-b)", "-n", ns, "--timeout=60s")
	})
	image := "docker.io/skiff/skiff-http:latest"
	s.okIn(t, cleanDeployment("ing-a", 1, image)+"---\n"+cleanDeployment("ing-b", 1, image), "apply", "-n", ns, "-f", "-")

	certPEM, keyPEM, err := certutil.GenerateSelfSignedCertKey("a.ingress.test", nil, []string{"b.ingress.test"})
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	b64 := base64.StdEncoding.EncodeToString
	s.okIn(t, fmt.Sprintf(`apiVersion: v1
kind: Secret
metadata: {name: site-tls}
type: kubernetes.io/tls
data: {tls.crt: %s, tls.key: %s}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: site}
spec:
  tls:
  - {hosts: [a.ingress.test, b.ingress.test], secretName: site-tls}
  rules:
  - host: a.ingress.test
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: ing-a, port: {number: 80}}}}]}
  - host: b.ingress.test
    http: {paths: [{path: /, pathType: Exact, backend: {service: {name: ing-b, port: {number: 80}}}}]}
`, b64(certPEM), b64(keyPEM)), "apply", "-n", ns, "-f", "-")
	if class := s.ok(t, "get", "ingress", "site", "-n", ns, "-o", "jsonpath={.spec.ingressClassName}"); class != helper.IngressClassName {
		t.Errorf("the Ingress's class %q, want the default %q", class, helper.IngressClassName)
	}
	s.ok(t, "rollout", "status", "deployment/ing-a", "deployment/ing-b", "-n", ns, "--timeout=120s")

	var ports map[string]int
	eventually(t, 30*time.Second, func() error {
		v := s.ok(t, "get", "node", node, "-o", "jsonpath={.metadata.annotations.skiff\\.dev/ingress-ports}")
		p, err := helper.ParseIngressPorts(v)
		if err != nil || p["http"] == 0 || p["https"] == 0 {
			return fmt.Errorf("annotation %s=%q (%v)", helper.AnnIngressPorts, v, err)
		}
		ports = p
		return nil
	})
	// A client that sends every request to the node's port, whatever the URL's host (Host
	// header and SNI from the URL).
	client := func(port int) *http.Client {
		return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, network, fmt.Sprintf("127.0.0.1:%d", port))
			},
			TLSClientConfig: &tls.Config{RootCAs: pool},
		}}
	}
	httpC, httpsC := client(ports["http"]), client(ports["https"])
	expect := func(c *http.Client, url string, code int, bodyPrefix string) {
		t.Helper()
		eventually(t, 60*time.Second, func() error {
			resp, err := c.Get(url)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != code || !strings.HasPrefix(string(body), bodyPrefix) {
				return fmt.Errorf("%s: %d %q, want %d %q...", url, resp.StatusCode, body, code, bodyPrefix)
			}
			return nil
		})
	}
	expect(httpC, "http://a.ingress.test/", 200, "ing-a-")
	expect(httpC, "http://b.ingress.test/", 200, "ing-b-")
	expect(httpsC, "https://a.ingress.test/", 200, "ing-a-")
	expect(httpsC, "https://b.ingress.test/", 200, "ing-b-")
	// b's only path is Exact "/"; other hosts have no rule.
	expect(httpC, "http://b.ingress.test/x", 404, "404")
	expect(httpC, "http://c.ingress.test/", 404, "404")

	nodeIP := s.ok(t, "get", "node", node, "-o", `jsonpath={.status.addresses[?(@.type=="InternalIP")].address}`)
	eventually(t, 60*time.Second, func() error {
		if got := s.ok(t, "get", "ingress", "site", "-n", ns, "-o", "jsonpath={.status.loadBalancer.ingress[*].ip}"); got != nodeIP {
			return fmt.Errorf("status.loadBalancer %q, want %q", got, nodeIP)
		}
		return nil
	})
	out := s.ok(t, "get", "ingress", "site", "-n", ns)
	for _, col := range []string{"CLASS", "HOSTS", "ADDRESS", "PORTS", "skiff", "a.ingress.test,b.ingress.test", nodeIP, "80, 443"} {
		if !strings.Contains(out, col) {
			t.Errorf("kubectl get ingress lacks %q:\n%s", col, out)
		}
	}
}
