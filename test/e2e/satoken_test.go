package e2e

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// kubectlToken runs kubectl with only a bearer token (a kubeconfig without client certificate).
func kubectlToken(t *testing.T, s *skiff, token string, args ...string) result {
	t.Helper()
	admin, err := clientcmd.LoadFromFile(s.kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	cluster := admin.Clusters[admin.Contexts[admin.CurrentContext].Cluster]
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["skiff"] = &clientcmdapi.Cluster{Server: cluster.Server, CertificateAuthorityData: cluster.CertificateAuthorityData}
	cfg.AuthInfos["sa"] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts["sa"] = &clientcmdapi.Context{Cluster: "skiff", AuthInfo: "sa"}
	cfg.CurrentContext = "sa"
	path := filepath.Join(t.TempDir(), "token.kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), kubectlLimit)
	defer cancel()
	cmd := exec.CommandContext(ctx, "kubectl", append([]string{"--kubeconfig", path, "--cache-dir", s.cacheDir}, args...)...)
	cmd.Env = kubectlEnv()
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return result{args: args, stdout: out.String(), stderr: errOut.String(), err: err}
}

// TestServiceAccountTokens: `kubectl create token` and service-account-token Secrets give
// tokens kubectl can use; a real pod
// gets the projected token, CA and namespace at the standard path, and a client-go program in a
// pod reads the API with rest.InClusterConfig(), through the API server's address and through
// the kubernetes Service's ClusterIP; the pod's token dies with the pod.
func TestServiceAccountTokens(t *testing.T) {
	longScenario(t)
	dir := t.TempDir()
	// The node's service proxy leaves its nftables table behind when it stops (as kube-proxy
	// keeps its rules); this cluster's table goes after the cluster (cleanups run last first).
	t.Cleanup(func() { _ = exec.Command("nft", "delete", "table", "ip", "skiff-proxy-e2e-satoken").Run() })
	s := startSkiffT(t, dir, "--agent=true", "--node-name=e2e-satoken", "--node-port=0",
		"--pod-cidr=10.244.215.0/24", "--images-src", moduleRoot(), "--bind-address", "0.0.0.0",
		// A service range of its own: other clusters on this machine program 10.96.0.1 too.
		"--service-cluster-ip-range", "10.120.215.0/24")
	ns := s.namespace(t)
	t.Cleanup(func() { s.kubectl(t, "delete", "pods", "--all", "-n", ns, "--timeout=60s") })

	// The serviceaccount controller creates the namespace's default ServiceAccount.
	var token string
	eventually(t, 30*time.Second, func() error {
		r := s.kubectl(t, "create", "token", "default", "-n", ns)
		token = strings.TrimSpace(r.stdout)
		if r.err != nil || strings.Count(token, ".") != 2 {
			return fmt.Errorf("kubectl create token: %v", r)
		}
		return nil
	})
	want := "system:serviceaccount:" + ns + ":default"
	if r := kubectlToken(t, s, token, "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"); r.err != nil || r.stdout != want {
		t.Errorf("kubectl --token auth whoami: %v, want %s", r, want)
	}
	if r := kubectlToken(t, s, token[:len(token)-4]+"AAAA", "auth", "whoami"); r.err == nil || !strings.Contains(r.stderr, "Unauthorized") {
		t.Errorf("tampered token: %v", r)
	}
	if r := s.kubectl(t, "create", "token", "default", "-n", ns, "--duration=1m"); r.err == nil ||
		!strings.Contains(r.stderr, "may not specify a duration less than 10 minutes") {
		t.Errorf("kubectl create token --duration=1m: %v", r)
	}

	// A kubernetes.io/service-account-token Secret gets a long-lived token from the tokens controller.
	s.okIn(t, `{"apiVersion":"v1","kind":"Secret","type":"kubernetes.io/service-account-token",
		"metadata":{"name":"default-token","annotations":{"kubernetes.io/service-account.name":"default"}}}`, "apply", "-n", ns, "-f", "-")
	var legacy string
	eventually(t, 30*time.Second, func() error {
		out := s.ok(t, "get", "secret", "default-token", "-n", ns, "-o", "jsonpath={.data.token}")
		if out == "" {
			return fmt.Errorf("secret default-token has no token yet")
		}
		b, err := base64.StdEncoding.DecodeString(out)
		legacy = string(b)
		return err
	})
	if r := kubectlToken(t, s, legacy, "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"); r.err != nil || r.stdout != want {
		t.Errorf("secret token: kubectl --token auth whoami: %v, want %s", r, want)
	}

	eventually(t, 90*time.Second, func() error {
		out := s.kubectl(t, "get", "node", "e2e-satoken", "--no-headers")
		if out.err != nil || !strings.Contains(out.stdout, " Ready ") {
			return fmt.Errorf("node not Ready: %s%s", out.stdout, out.stderr)
		}
		return nil
	})
	addrB, err := os.ReadFile(filepath.Join(dir, "registry.addr"))
	if err != nil {
		t.Fatal(err)
	}
	reg := strings.TrimSpace(string(addrB))
	apiHost := s.ok(t, "get", "endpoints", "kubernetes", "-n", "default", "-o", "jsonpath={.subsets[0].addresses[0].ip}")
	apiPort := s.ok(t, "get", "endpoints", "kubernetes", "-n", "default", "-o", "jsonpath={.subsets[0].ports[0].port}")
	if apiHost == "" || apiPort == "" {
		t.Fatalf("the kubernetes service has no endpoints (%q:%q)", apiHost, apiPort)
	}

	s.ok(t, "run", "reader", "-n", ns, "--image="+reg+"/skiff/busybox:latest", "--restart=Never", "--", "sleep", "3600")
	s.ok(t, "wait", "-n", ns, "--for=condition=Ready", "pod/reader", "--timeout=90s")
	vol := s.ok(t, "get", "pod", "reader", "-n", ns, "-o", "jsonpath={.spec.volumes[0].name} {.spec.containers[0].volumeMounts[0].mountPath}")
	if !strings.HasPrefix(vol, "kube-api-access-") || !strings.HasSuffix(vol, " /var/run/secrets/kubernetes.io/serviceaccount") {
		t.Errorf("volume and mount: %q", vol)
	}
	const sa = "/var/run/secrets/kubernetes.io/serviceaccount"
	if got := s.ok(t, "exec", "reader", "-n", ns, "--", "cat", sa+"/namespace"); got != ns {
		t.Errorf("namespace file %q, want %q", got, ns)
	}
	admin, err := clientcmd.LoadFromFile(s.kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	caPEM := string(admin.Clusters[admin.Contexts[admin.CurrentContext].Cluster].CertificateAuthorityData)
	if got := s.ok(t, "exec", "reader", "-n", ns, "--", "cat", sa+"/ca.crt"); got != caPEM {
		t.Errorf("ca.crt in the pod differs from the cluster CA:\n%s", got)
	}
	podToken := s.ok(t, "exec", "reader", "-n", ns, "--", "cat", sa+"/token")
	// busybox's wget cannot read the API: its TLS client fails the API server's handshake (which
	// asks for an optional client certificate), so the API is read by skiff-http's client below.
	// client-go's rest.InClusterConfig() in a pod: first with the API server's own address, then
	// with the kubernetes Service's ClusterIP from the environment the agent sets.
	for _, c := range []struct{ name, env string }{
		{"incluster-direct", fmt.Sprintf(`{"name":"KUBERNETES_SERVICE_HOST","value":%q},{"name":"KUBERNETES_SERVICE_PORT","value":%q}`, apiHost, apiPort)},
		{"incluster-clusterip", ""},
	} {
		manifest := fmt.Sprintf(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":%q},"spec":{"restartPolicy":"Never",
			"containers":[{"name":"c","image":%q,"args":["whoami"],"env":[%s]}]}}`, c.name, reg+"/skiff/skiff-http:latest", c.env)
		s.okIn(t, manifest, "apply", "-n", ns, "-f", "-")
		eventually(t, 90*time.Second, func() error {
			phase := s.ok(t, "get", "pod", c.name, "-n", ns, "-o", "jsonpath={.status.phase}")
			if phase == "Succeeded" || phase == "Failed" {
				return nil
			}
			return fmt.Errorf("pod %s is %s", c.name, phase)
		})
		logs := s.kubectl(t, "logs", c.name, "-n", ns)
		if !strings.Contains(logs.stdout, "username="+want) {
			t.Errorf("%s: in-cluster client: %v", c.name, logs)
		}
	}

	// The pod's token is bound to it: deleting the pod invalidates it.
	if r := kubectlToken(t, s, podToken, "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"); r.err != nil || r.stdout != want {
		t.Errorf("pod token before deletion: %v", r)
	}
	s.ok(t, "delete", "pod", "reader", "-n", ns, "--timeout=60s")
	eventually(t, 30*time.Second, func() error {
		if r := kubectlToken(t, s, podToken, "auth", "whoami"); r.err == nil || !strings.Contains(r.stderr, "Unauthorized") {
			return fmt.Errorf("token of the deleted pod: %v", r)
		}
		return nil
	})
}

func netJoin(host, port string) string {
	if strings.Contains(host, ":") {
		return "[" + host + "]:" + port
	}
	return host + ":" + port
}
