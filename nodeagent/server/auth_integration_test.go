package server_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	internalapi "k8s.io/cri-api/pkg/apis"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	statsv1alpha1 "k8s.io/kubelet/pkg/apis/stats/v1alpha1"

	"github.com/skiff-dev/skiff/apiserver/apiservertest"
	"github.com/skiff-dev/skiff/apiserver/pki"
	"github.com/skiff-dev/skiff/nodeagent/server"
	"github.com/skiff-dev/skiff/test/poll"
)

// noPods is a runtime without pods (its other methods are not called).
type noPods struct{ internalapi.RuntimeService }

func (noPods) ListPodSandbox(context.Context, *runtimeapi.PodSandboxFilter) ([]*runtimeapi.PodSandbox, error) {
	return nil, nil
}

// nodeClient is the API client of node name: a system:node:<name> certificate of the CA.
func nodeClient(t *testing.T, api *apiservertest.Server, ca *pki.CA, name string) kubernetes.Interface {
	t.Helper()
	certPEM, keyPEM, err := ca.Issue(pki.CertSpec{CommonName: "system:node:" + name, Organization: []string{"system:nodes"}, Client: true})
	if err != nil {
		t.Fatal(err)
	}
	cfg := &rest.Config{Host: api.Config.Host, QPS: -1, TLSClientConfig: rest.TLSClientConfig{CAData: api.Config.CAData, CertData: certPEM, KeyData: keyPEM}}
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestAgentAuthorization runs the node server (on a runtime without pods) against a real API server:
// callers are authenticated by the cluster CA's client certificates or by bearer tokens
// (TokenReview), and authorized by SubjectAccessReviews on nodes/<subresource>, which the server
// makes with the node's own credential. An unprivileged user and another node are refused on
// every path, anonymous callers get 401, the admin, the API server's own identity
// (kube-apiserver-kubelet-client, through system:kubelet-api-admin) and a ServiceAccount bound
// to nodes/proxy get through, and pods/log through the API server reaches the node.
func TestAgentAuthorization(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an API server")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	api := apiservertest.Start(t)
	ca, err := pki.LoadOrCreateCA(filepath.Join(api.DataDir, "pki"), "ca", "skiff-ca")
	if err != nil {
		t.Fatal(err)
	}
	const nodeName = "auth-node"
	servingCert, servingKey, err := ca.Issue(pki.CertSpec{CommonName: "system:node:" + nodeName, Organization: []string{"system:nodes"},
		Server: true, IPs: []net.IP{net.ParseIP("127.0.0.1")}})
	if err != nil {
		t.Fatal(err)
	}
	clientCAs := x509.NewCertPool()
	clientCAs.AppendCertsFromPEM(ca.CertPEM)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Config{Listener: l, CertPEM: servingCert, KeyPEM: servingKey, ClientCAs: clientCAs,
		NodeName: nodeName, Client: nodeClient(t, api, ca, nodeName), Runtime: noPods{},
		Metrics: prometheus.NewRegistry(), Stats: fixedSummary{s: &statsv1alpha1.Summary{Pods: []statsv1alpha1.PodStats{}}}})
	if err != nil {
		t.Fatal(err)
	}
	srvCtx, stopSrv := context.WithCancel(context.Background())
	srvDone := make(chan error, 1)
	go func() { srvDone <- srv.Start(srvCtx) }()
	t.Cleanup(func() {
		stopSrv()
		if err := <-srvDone; err != nil {
			t.Errorf("node server: %v", err)
		}
	})
	port := srv.Addr().(*net.TCPAddr).Port
	base := "https://127.0.0.1:" + strconv.Itoa(port)

	// Callers: certificates of the cluster CA, a bearer token, nothing.
	certClient := func(cn string, orgs ...string) *http.Client {
		certPEM, keyPEM, err := ca.Issue(pki.CertSpec{CommonName: cn, Organization: orgs, Client: true})
		if err != nil {
			t.Fatal(err)
		}
		c, err := rest.HTTPClientFor(&rest.Config{Host: base, TLSClientConfig: rest.TLSClientConfig{CAData: ca.CertPEM, CertData: certPEM, KeyData: keyPEM}})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	anonymous := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: clientCAs}}}
	do := func(c *http.Client, method, path, token string) (int, string) {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, method, base+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	paths := []struct{ method, path, verb, subresource string }{
		{"GET", "/logs/", "get", "log"},
		{"POST", "/exec/default/p/c?command=true&output=1", "create", "proxy"},
		{"POST", "/attach/default/p/c?output=1", "create", "proxy"},
		{"POST", "/portForward/default/p", "create", "proxy"},
		{"GET", "/containerLogs/default/p/c", "get", "proxy"},
		{"GET", "/stats/summary", "get", "stats"},
		{"GET", "/metrics", "get", "metrics"},
		{"GET", "/metrics/cadvisor", "get", "metrics"},
		{"GET", "/metrics/resource", "get", "metrics"},
		{"GET", "/pods", "get", "proxy"},
		{"POST", "/run/default/p/c?cmd=true", "create", "proxy"},
		{"GET", "/healthz", "get", "proxy"},
	}
	refused := func(t *testing.T, c *http.Client, user, token string) {
		for _, p := range paths {
			want := fmt.Sprintf("Forbidden (user=%s, verb=%s, resource=nodes, subresource=%s)", user, p.verb, p.subresource)
			if code, body := do(c, p.method, p.path, token); code != http.StatusForbidden || body != want {
				t.Errorf("%s %s as %s: %d %q, want 403 %q", p.method, p.path, user, code, body, want)
			}
		}
	}
	// allowed: every path passes authorization (the handlers answer: the runtime has no
	// pods, and /logs, /pods and /run are not served).
	allowed := func(t *testing.T, c *http.Client, token string) {
		for _, p := range paths {
			code, body := do(c, p.method, p.path, token)
			if code == http.StatusUnauthorized || code == http.StatusForbidden || code == http.StatusInternalServerError {
				t.Errorf("%s %s: %d %q, want it past authorization", p.method, p.path, code, body)
			}
		}
		if code, body := do(c, "GET", "/containerLogs/default/p/c", token); code != http.StatusNotFound || body != `pod "default/p" does not exist` {
			t.Errorf("containerLogs: %d %q", code, body)
		}
		if code, body := do(c, "GET", "/healthz", token); code != http.StatusOK || body != "ok" {
			t.Errorf("healthz: %d %q", code, body)
		}
	}
	// waitAllowed waits until the API server's RBAC allows user the request, so that the
	// agent's first review (whose denial it would cache) sees the bindings made just before.
	waitAllowed := func(t *testing.T, user string, groups []string, verb, subresource string) {
		t.Helper()
		poll.Eventually(t, fmt.Sprintf("%s allowed %s nodes/%s", user, verb, subresource), func() error {
			r, err := api.Client.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
				User: user, Groups: groups, ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: verb, Version: "v1", Resource: "nodes", Subresource: subresource, Name: nodeName},
			}}, metav1.CreateOptions{})
			if err == nil && !r.Status.Allowed {
				err = fmt.Errorf("not allowed: %s", r.Status.Reason)
			}
			return err
		})
	}

	t.Run("unprivileged user", func(t *testing.T) {
		refused(t, certClient("auth-user"), "auth-user", "")
	})
	t.Run("another node", func(t *testing.T) {
		refused(t, certClient("system:node:other", "system:nodes"), "system:node:other", "")
	})
	t.Run("this node's own credential", func(t *testing.T) {
		// As upstream: system:node has no nodes/proxy; a node does not exec into its own pods.
		refused(t, certClient("system:node:"+nodeName, "system:nodes"), "system:node:"+nodeName, "")
	})
	t.Run("no credential", func(t *testing.T) {
		for _, p := range paths {
			if code, body := do(anonymous, p.method, p.path, ""); code != http.StatusUnauthorized || body != "Unauthorized" {
				t.Errorf("%s %s: %d %q, want 401", p.method, p.path, code, body)
			}
		}
		if code, _ := do(anonymous, "GET", "/pods", "not-a-token"); code != http.StatusUnauthorized {
			t.Errorf("a bad token: %d, want 401", code)
		}
	})
	t.Run("admin", func(t *testing.T) {
		allowed(t, certClient("auth-admin", "system:masters"), "")
	})
	t.Run("kube-apiserver-kubelet-client", func(t *testing.T) {
		waitAllowed(t, "kube-apiserver-kubelet-client", []string{"system:authenticated"}, "create", "proxy")
		allowed(t, certClient("kube-apiserver-kubelet-client"), "")
	})
	t.Run("service account token", func(t *testing.T) {
		const sa = "auth-prober"
		if _, err := api.Client.CoreV1().ServiceAccounts("default").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		tr, err := api.Client.CoreV1().ServiceAccounts("default").CreateToken(ctx, sa, &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		token := tr.Status.Token
		user := "system:serviceaccount:default:" + sa
		client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: clientCAs}}}
		// Unbound first: refused (cached 30s, so the bound requests below use other paths'
		// decisions only after the binding is seen).
		if code, body := do(client, "GET", "/stats/summary", token); code != http.StatusForbidden ||
			body != "Forbidden (user="+user+", verb=get, resource=nodes, subresource=stats)" {
			t.Errorf("unbound: %d %q", code, body)
		}
		if _, err := api.Client.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "auth-node-proxy"},
			Rules: []rbacv1.PolicyRule{{Verbs: []string{"get", "create"}, APIGroups: []string{""}, Resources: []string{"nodes/proxy"}}}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := api.Client.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "auth-node-proxy"},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "auth-node-proxy"},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: "default", Name: sa}}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		groups := []string{"system:serviceaccounts", "system:serviceaccounts:default", "system:authenticated"}
		waitAllowed(t, user, groups, "get", "proxy")
		waitAllowed(t, user, groups, "create", "proxy")
		if code, body := do(client, "GET", "/containerLogs/default/p/c", token); code != http.StatusNotFound || body != `pod "default/p" does not exist` {
			t.Errorf("containerLogs with the token: %d %q", code, body)
		}
		if code, body := do(client, "POST", "/exec/default/p/c?command=true&output=1", token); code != http.StatusNotFound || body != "pod does not exist" {
			t.Errorf("exec with the token: %d %q", code, body)
		}
		// nodes/proxy is not nodes/metrics.
		if code, body := do(client, "GET", "/metrics", token); code != http.StatusForbidden ||
			body != "Forbidden (user="+user+", verb=get, resource=nodes, subresource=metrics)" {
			t.Errorf("metrics with the token: %d %q", code, body)
		}
	})
	t.Run("through the API server", func(t *testing.T) {
		if _, err := api.Client.CoreV1().Nodes().Create(ctx, &corev1.Node{
			ObjectMeta: metav1.ObjectMeta{Name: nodeName},
			Status: corev1.NodeStatus{
				Addresses:       []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}},
				DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: int32(port)}},
			},
		}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := api.Client.CoreV1().Pods("default").Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"},
			Spec: corev1.PodSpec{NodeName: nodeName, Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		// The agent answers the API server (404: it has no such sandbox), rather than refusing
		// it (403, which the API server would pass on as Forbidden).
		s, err := api.Client.CoreV1().Pods("default").GetLogs("p", &corev1.PodLogOptions{}).Stream(ctx)
		if err == nil {
			s.Close()
		}
		if !apierrors.IsNotFound(err) || !strings.Contains(err.Error(), "pods/log p") {
			t.Errorf("pods/log through the API server: %v, want the agent's 404", err)
		}
	})
}
