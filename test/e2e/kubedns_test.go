package e2e

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestKubeDNSIdentity checks with kubectl that the cluster DNS server's kubeconfig in the data
// dir is its own least-privilege identity (system:kube-dns), not the admin's: it lists and
// watches Services and EndpointSlices, and is refused Secrets, Pods and writes elsewhere.
func TestKubeDNSIdentity(t *testing.T) {
	s := sharedCluster(t)
	dns := &skiff{dataDir: s.dataDir, kubeconfig: filepath.Join(s.dataDir, "kube-dns.kubeconfig"),
		cacheDir: filepath.Join(t.TempDir(), "kubectl-cache"), logPath: s.logPath}
	if out := dns.ok(t, "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"); out != "system:kube-dns" {
		t.Fatalf("kube-dns.kubeconfig authenticates as %q, want system:kube-dns", out)
	}
	dns.ok(t, "get", "services", "-A")
	dns.ok(t, "get", "endpointslices.discovery.k8s.io", "-A")
	for _, args := range [][]string{
		{"auth", "can-i", "watch", "services", "-A"},
		{"auth", "can-i", "watch", "endpointslices.discovery.k8s.io", "-A"},
		{"auth", "can-i", "update", "endpointslices.discovery.k8s.io", "-n", "kube-system"},
	} {
		if out := strings.TrimSpace(dns.ok(t, args...)); out != "yes" {
			t.Errorf("kubectl %s: %q, want yes", strings.Join(args, " "), out)
		}
	}
	stderr := dns.fails(t, "", "get", "secrets", "-A")
	if want := `secrets is forbidden: User "system:kube-dns" cannot list resource "secrets" in API group "" at the cluster scope`; !strings.Contains(stderr, want) {
		t.Errorf("get secrets -A: %q, want %q", stderr, want)
	}
	for _, args := range [][]string{
		{"auth", "can-i", "list", "pods", "-A"},
		{"auth", "can-i", "create", "services", "-n", "default"},
		{"auth", "can-i", "delete", "services", "-n", "kube-system"},
		{"auth", "can-i", "create", "endpointslices.discovery.k8s.io", "-n", "default"},
		{"auth", "can-i", "get", "secrets", "-n", "kube-system"},
	} {
		// can-i exits 1 when the answer is no.
		if r := dns.kubectl(t, args...); strings.TrimSpace(r.stdout) != "no" {
			t.Errorf("kubectl %s: %v, want no", strings.Join(args, " "), r)
		}
	}
}
