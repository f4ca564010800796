package e2e

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/skiff-dev/skiff/nodeagent/netpol"
)

// testNetworkPolicy enforces NetworkPolicies on a real node: a skiff-http server behind a
// Service, reached by busybox clients at its pod IP and its ClusterIP; a default-deny ingress
// policy in the server's namespace blocks them, an allow rule for pods labelled role=client
// admits the labelled client only, and a default-deny egress policy blocks that client again.
// The server stays Ready throughout: the node's probes are never filtered.
func testNetworkPolicy(t *testing.T, s *skiff, node, image string) {
	ns := s.namespace(t)
	t.Cleanup(func() {
		s.kubectl(t, "delete", "deployments,pods,networkpolicies", "--all", "-n", ns, "--timeout=60s")
	})
	client := func(name, labels string) string {
		return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: %s, labels: {%s}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: %s
    command: [sleep, "3600"]
`, name, labels, image)
	}
	s.okIn(t, cleanDeployment("web", 1, "docker.io/skiff/skiff-http:latest")+"---\n"+
		client("client", "role: client")+"---\n"+client("stranger", "role: other"), "apply", "-n", ns, "-f", "-")
	s.ok(t, "rollout", "status", "deployment/web", "-n", ns, "--timeout=90s")
	s.ok(t, "wait", "-n", ns, "--for=condition=Ready", "pod/client", "pod/stranger", "--timeout=90s")
	podIP := s.ok(t, "get", "pods", "-n", ns, "-l", "app=web", "-o", "jsonpath={.items[0].status.podIP}")
	svcIP := s.ok(t, "get", "service", "web", "-n", ns, "-o", "jsonpath={.spec.clusterIP}")
	urls := []string{"http://" + podIP + ":8080/", "http://" + svcIP + "/"}

	// reach is one bounded request from pod to url: it must be answered by a web pod (open) or
	// fail (blocked).
	reach := func(pod, url string, open bool) func() error {
		return func() error {
			out := s.kubectl(t, "exec", pod, "-n", ns, "--", "wget", "-q", "-T", "2", "-O", "-", url)
			switch {
			case open && (out.err != nil || !strings.HasPrefix(out.stdout, "web-")):
				return fmt.Errorf("%s -> %s: %v %q %s, want an answer", pod, url, out.err, out.stdout, out.stderr)
			case !open && out.err == nil:
				return fmt.Errorf("%s -> %s: answered %q, want blocked", pod, url, out.stdout)
			}
			return nil
		}
	}
	expect := func(t *testing.T, pod string, open bool) {
		t.Helper()
		for _, u := range urls {
			eventually(t, 30*time.Second, reach(pod, u, open))
		}
	}
	policy := func(t *testing.T, yaml string) { t.Helper(); s.okIn(t, yaml, "apply", "-n", ns, "-f", "-") }
	t.Cleanup(func() {
		if t.Failed() { // what the node enforced, and the pods
			out, _ := exec.Command("nft", "list", "table", "ip", netpol.TableNameFor(node)).CombinedOutput()
			t.Logf("pods:\n%s\nnftables:\n%s", s.kubectl(t, "get", "pods", "-o", "wide", "-n", ns).stdout, out)
		}
	})

	t.Run("open without policies", func(t *testing.T) {
		expect(t, "client", true)
		expect(t, "stranger", true)
	})
	t.Run("default deny ingress", func(t *testing.T) {
		policy(t, `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny-ingress}
spec:
  podSelector: {}
  policyTypes: [Ingress]
`)
		expect(t, "client", false)
		expect(t, "stranger", false)
	})
	t.Run("allow from role=client", func(t *testing.T) {
		policy(t, `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-from-clients}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
  - from: [{podSelector: {matchLabels: {role: client}}}]
    ports: [{port: 8080}]
`)
		expect(t, "client", true)
		expect(t, "stranger", false)
	})
	t.Run("default deny egress of the client", func(t *testing.T) {
		policy(t, `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: clients-no-egress}
spec:
  podSelector: {matchLabels: {role: client}}
  policyTypes: [Egress]
`)
		expect(t, "client", false)
		s.ok(t, "delete", "networkpolicy", "clients-no-egress", "-n", ns)
		expect(t, "client", true)
	})
	// The server stayed Ready: the node's readiness probes pass every policy.
	if out := s.ok(t, "get", "pods", "-n", ns, "-l", "app=web", "-o", `jsonpath={.items[0].status.conditions[?(@.type=="Ready")].status}`); out != "True" {
		t.Errorf("the server is not Ready under default deny: %q", out)
	}
}
