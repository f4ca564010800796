package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestProxySubresources reaches a skiff-http Deployment on a real node through the API
// server's proxy subresources with `kubectl get --raw`, as upstream's [sig-network] Proxy
// conformance does: services/web:80/proxy (a ready endpoint of the port), pods/NAME:8080/proxy,
// and nodes/NODE/proxy/healthz (the node agent's server); and an observedGeneration that
// follows a spec change of the running pod.
func TestProxySubresources(t *testing.T) {
	longScenario(t)
	s := startNodeT(t, t.TempDir(), "proxy-node", "10.244.218.0/24", "--service-cluster-ip-range", "10.120.218.0/24")
	ns := s.namespace(t)
	t.Cleanup(func() { s.kubectl(t, "delete", "deployments,pods", "--all", "-n", ns, "--timeout=60s") })
	s.okIn(t, cleanDeployment("web", 1, "docker.io/skiff/skiff-http:latest"), "apply", "-n", ns, "-f", "-")
	s.ok(t, "rollout", "status", "deployment/web", "-n", ns, "--timeout=90s")
	pod := s.ok(t, "get", "pods", "-n", ns, "-l", "app=web", "-o", "jsonpath={.items[0].metadata.name}")

	eventually(t, 30*time.Second, func() error {
		out := s.kubectl(t, "get", "--raw", "/api/v1/namespaces/"+ns+"/services/web:80/proxy/")
		if out.err != nil || !strings.HasPrefix(out.stdout, "web-") {
			return fmt.Errorf("services/web:80/proxy: %v %q %s", out.err, out.stdout, out.stderr)
		}
		return nil
	})
	if out := s.ok(t, "get", "--raw", "/api/v1/namespaces/"+ns+"/pods/"+pod+":8080/proxy/"); !strings.HasPrefix(out, pod) {
		t.Errorf("pods/%s:8080/proxy: %q", pod, out)
	}
	if out := s.ok(t, "get", "--raw", "/api/v1/nodes/proxy-node/proxy/healthz"); out != "ok" {
		t.Errorf("nodes/proxy-node/proxy/healthz: %q", out)
	}

	// A spec change of the running pod is observed by the agent.
	s.ok(t, "patch", "pod", pod, "-n", ns, "--type=json", "-p",
		`[{"op":"add","path":"/spec/tolerations/-","value":{"key":"example.com/gen","operator":"Exists","effect":"NoSchedule"}}]`)
	eventually(t, 20*time.Second, func() error {
		out := s.ok(t, "get", "pod", pod, "-n", ns, "-o", "jsonpath={.metadata.generation} {.status.observedGeneration}")
		if out != "2 2" {
			return fmt.Errorf("generation and observedGeneration %q, want 2 2", out)
		}
		return nil
	})
}
