package e2e

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/skiff-dev/skiff/apiserver/pki"
)

// userKubeconfig writes a kubeconfig for user in groups, with a client certificate signed by
// the cluster CA in <data-dir>/pki.
func userKubeconfig(t *testing.T, s *skiff, user string, groups ...string) string {
	t.Helper()
	ca, err := pki.LoadOrCreateCA(filepath.Join(s.dataDir, "pki"), "ca", "skiff-ca")
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := ca.Issue(pki.CertSpec{CommonName: user, Organization: groups, Client: true})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := pki.WriteKubeconfig(path, s.restConfig(t).Host, "skiff", user, ca.CertPEM, certPEM, keyPEM); err != nil {
		t.Fatal(err)
	}
	return path
}

// kubectlAs runs kubectl with another kubeconfig.
func kubectlAs(kubeconfig string, args ...string) (string, error) {
	cmd := exec.Command("kubectl", append([]string{"--kubeconfig", kubeconfig}, args...)...)
	cmd.Env = kubectlEnv()
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestRBACViewInOneNamespace(t *testing.T) {
	s := sharedCluster(t)
	ns, other := s.namespace(t), s.namespace(t)
	s.ok(t, "run", "web", "-n", ns, "--image=busybox", "--restart=Never")
	t.Cleanup(func() { s.kubectl(t, "delete", "pod", "web", "-n", ns, "--grace-period=0", "--force", "--wait=false") })
	s.ok(t, "create", "rolebinding", "jane-view", "--clusterrole=view", "--user=jane", "-n", ns)
	header, rows := tableRows(t, s.ok(t, "get", "rolebindings", "-n", ns))
	if strings.Join(header, " ") != "NAME ROLE AGE" || len(rows) != 1 || rows[0][1] != "ClusterRole/view" {
		t.Errorf("rolebindings table: %q %q", header, rows)
	}
	jane := userKubeconfig(t, s, "jane", "devs")

	// view is aggregated by the controller manager; then jane lists pods in ns.
	eventually(t, 30*time.Second, func() error {
		out, err := kubectlAs(jane, "get", "pods", "-n", ns, "-o", "name")
		if err != nil || strings.TrimSpace(out) != "pod/web" {
			return fmt.Errorf("get pods as jane: %v: %s", err, out)
		}
		return nil
	})
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"get", "pods", "-n", other}, fmt.Sprintf(`Error from server (Forbidden): pods is forbidden: User "jane" cannot list resource "pods" in API group "" in the namespace %q`, other)},
		{[]string{"get", "secrets", "-n", ns}, fmt.Sprintf(`Error from server (Forbidden): secrets is forbidden: User "jane" cannot list resource "secrets" in API group "" in the namespace %q`, ns)},
		{[]string{"delete", "pod", "web", "-n", ns}, fmt.Sprintf(`Error from server (Forbidden): pods "web" is forbidden: User "jane" cannot delete resource "pods" in API group "" in the namespace %q`, ns)},
		{[]string{"get", "nodes"}, `Error from server (Forbidden): nodes is forbidden: User "jane" cannot list resource "nodes" in API group "" at the cluster scope`},
		{[]string{"create", "rolebinding", "jane-admin", "--clusterrole=admin", "--user=jane", "-n", ns}, fmt.Sprintf(`rolebindings.rbac.authorization.k8s.io is forbidden: User "jane" cannot create resource "rolebindings" in API group "rbac.authorization.k8s.io" in the namespace %q`, ns)},
	} {
		out, err := kubectlAs(jane, c.args...)
		if err == nil || !strings.Contains(out, c.want) {
			t.Errorf("kubectl %s as jane: err=%v\n%s\nwant %q", strings.Join(c.args, " "), err, out, c.want)
		}
	}

	// kubectl auth can-i, for jane herself and through impersonation-free SubjectAccessReviews.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"auth", "can-i", "list", "pods", "-n", ns}, "yes"},
		{[]string{"auth", "can-i", "watch", "deployments.apps", "-n", ns}, "yes"},
		{[]string{"auth", "can-i", "delete", "pods", "-n", ns}, "no"},
		{[]string{"auth", "can-i", "list", "pods", "-n", other}, "no"},
		{[]string{"auth", "can-i", "get", "secrets", "-n", ns}, "no"},
	} {
		out, _ := kubectlAs(jane, c.args...)
		if strings.TrimSpace(out) != c.want {
			t.Errorf("kubectl %s as jane = %q, want %q", strings.Join(c.args, " "), out, c.want)
		}
	}
	list, err := kubectlAs(jane, "auth", "can-i", "--list", "-n", ns)
	if err != nil || !strings.Contains(list, "pods ") || !strings.Contains(list, "selfsubjectaccessreviews.authorization.k8s.io") {
		t.Errorf("auth can-i --list: %v\n%s", err, list)
	}
	if out := s.ok(t, "auth", "can-i", "list", "pods", "-n", ns, "--as", "jane"); strings.TrimSpace(out) != "yes" {
		t.Errorf("admin can-i --as jane: %q", out)
	}
}

func TestNodeCredentialIsRestricted(t *testing.T) {
	s := sharedCluster(t)
	ns := s.namespace(t)
	nodeManifest := `apiVersion: v1
kind: Node
metadata:
  name: %s
`
	podManifest := `apiVersion: v1
kind: Pod
metadata:
  name: %s
  namespace: %s
spec:
  nodeName: %s
  containers:
  - name: c
    image: busybox
    env:
    - name: S
      valueFrom:
        secretKeyRef: {name: %s, key: k}
`
	a, b := "rbac-node-a", "rbac-node-b"
	for _, n := range []string{a, b} {
		s.okIn(t, fmt.Sprintf(nodeManifest, n), "create", "-f", "-")
		s.ok(t, "create", "secret", "generic", n+"-secret", "-n", ns, "--from-literal=k=v")
		s.okIn(t, fmt.Sprintf(podManifest, n+"-pod", ns, n, n+"-secret"), "create", "-f", "-")
	}
	t.Cleanup(func() {
		s.kubectl(t, "delete", "pods", "--all", "-n", ns, "--grace-period=0", "--force")
		s.kubectl(t, "delete", "node", a, b, "--wait=false")
	})
	node := userKubeconfig(t, s, "system:node:"+a, "system:nodes")
	eventually(t, 30*time.Second, func() error {
		out, err := kubectlAs(node, "get", "secret", a+"-secret", "-n", ns, "-o", "name")
		if err != nil {
			return fmt.Errorf("own pod's secret: %v: %s", err, out)
		}
		return nil
	})
	out, err := kubectlAs(node, "get", "secret", b+"-secret", "-n", ns)
	want := fmt.Sprintf(`Error from server (Forbidden): secrets %q is forbidden: User "system:node:%s" cannot get resource "secrets" in API group "" in the namespace %q: no relationship found between node '%s' and this object`, b+"-secret", a, ns, a)
	if err == nil || !strings.Contains(out, want) {
		t.Errorf("other node's secret: %v\n%s\nwant %q", err, out, want)
	}
	if out, err := kubectlAs(node, "label", "node", a, "rbac-test=yes"); err != nil {
		t.Errorf("labelling its own node: %v\n%s", err, out)
	}
	out, err = kubectlAs(node, "label", "node", b, "rbac-test=yes")
	want = fmt.Sprintf(`nodes %q is forbidden: node %q is not allowed to modify node %q`, b, a, b)
	if err == nil || !strings.Contains(out, want) {
		t.Errorf("labelling another node: %v\n%s\nwant %q", err, out, want)
	}
	if out, err := kubectlAs(node, "delete", "node", b); err == nil {
		t.Errorf("deleting another node succeeded: %s", out)
	}
}
