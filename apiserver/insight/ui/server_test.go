package ui_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/skiff-dev/skiff/apiserver/apiservertest"
	"github.com/skiff-dev/skiff/apiserver/insight/ui"
	"github.com/skiff-dev/skiff/test/poll"
)

// fetch GETs (or POSTs form) path from the server with client, without following redirects.
func fetch(t *testing.T, client *http.Client, base, method, path string, header http.Header, form url.Values) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, base+path, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func httpClient(t *testing.T, cfg *rest.Config) *http.Client {
	t.Helper()
	c, err := rest.HTTPClientFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return c
}

func startWithPod(t *testing.T) *apiservertest.Server {
	t.Helper()
	s := apiservertest.Start(t)
	ctx := context.Background()
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: "default"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}
	if _, err := s.Client.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-a", Labels: map[string]string{"node-role.kubernetes.io/control-plane": ""}}}
	if _, err := s.Client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestServedByTheAPIServer: /ui/ is behind the API server's authentication and authorization.
func TestServedByTheAPIServer(t *testing.T) {
	s := startWithPod(t)
	ctx := context.Background()
	base := s.Config.Host
	admin := httpClient(t, s.Config)
	anonymous := httpClient(t, &rest.Config{Host: base, TLSClientConfig: rest.TLSClientConfig{CAData: s.Config.CAData, CAFile: s.Config.CAFile}})

	t.Run("without credentials: 403 and the login form", func(t *testing.T) {
		resp, body := fetch(t, anonymous, base, "GET", "/ui/", nil, nil)
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, `<form method="post" action="/ui/login">`) || !strings.Contains(body, "system:anonymous") {
			t.Errorf("GET /ui/ anonymously: %d %s", resp.StatusCode, body)
		}
		if strings.Contains(body, "web-1") {
			t.Errorf("the anonymous page shows the pod")
		}
		// The form's stylesheet and script are served to anyone.
		if resp, body := fetch(t, anonymous, base, "GET", "/ui/static/ui.css", nil, nil); resp.StatusCode != http.StatusOK || !strings.Contains(body, "svg.diagram") {
			t.Errorf("GET /ui/static/ui.css anonymously: %d", resp.StatusCode)
		}
	})
	t.Run("an unknown token: 401 and the login form", func(t *testing.T) {
		resp, body := fetch(t, anonymous, base, "GET", "/ui/", http.Header{"Authorization": {"Bearer nonsense"}}, nil)
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "Unauthorized") || !strings.Contains(body, `name="token"`) {
			t.Errorf("GET /ui/ with a bad token: %d %s", resp.StatusCode, body)
		}
	})
	t.Run("the admin: the overview with nodes and pods", func(t *testing.T) {
		resp, body := fetch(t, admin, base, "GET", "/ui/", nil, nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /ui/: %d %s", resp.StatusCode, body)
		}
		for _, want := range []string{`<a href="/ui/pods/default/web-1">web-1</a>`, "<td>node-a</td>", "control-plane", `<table id="pods" data-resource-version="`, "/ui/static/ui.js"} {
			if !strings.Contains(body, want) {
				t.Errorf("the overview lacks %q:\n%s", want, body)
			}
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
			t.Errorf("Content-Security-Policy %q", csp)
		}
		if resp, _ := fetch(t, admin, base, "GET", "/ui", nil, nil); resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != "/ui/" {
			t.Errorf("GET /ui: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		resp, body = fetch(t, admin, base, "GET", "/ui/static/ui.js", nil, nil)
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, "class LiveTable") {
			t.Errorf("GET /ui/static/ui.js: %d", resp.StatusCode)
		}
	})
	t.Run("a pod's page, the insight endpoints answering or not", func(t *testing.T) {
		resp, body := fetch(t, admin, base, "GET", "/ui/pods/default/web-1", nil, nil)
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Pod default/web-1") {
			t.Fatalf("GET the pod's page: %d %s", resp.StatusCode, body)
		}
		for _, section := range []string{`id="trace"`, `id="why"`, `id="history"`} {
			if !strings.Contains(body, section) {
				t.Errorf("the pod's page lacks %s", section)
			}
		}
		if resp, _ := fetch(t, admin, base, "GET", "/ui/pods/default/nothing", nil, nil); resp.StatusCode != http.StatusNotFound {
			t.Errorf("a missing pod's page: %d, want 404", resp.StatusCode)
		}
	})

	// A service account allowed /ui/* and to read pods, but not nodes.
	rbac := s.Client.RbacV1()
	if _, err := s.Client.CoreV1().ServiceAccounts("default").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "viewer"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := rbac.ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "ui-viewer"}, Rules: []rbacv1.PolicyRule{
		{NonResourceURLs: []string{"/ui", "/ui/*"}, Verbs: []string{"get"}},
		{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get", "list", "watch"}},
	}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := rbac.ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "ui-viewer"},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "ui-viewer"},
		Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Namespace: "default", Name: "viewer"}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	tr, err := s.Client.CoreV1().ServiceAccounts("default").CreateToken(ctx, "viewer", &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	token := tr.Status.Token

	t.Run("?token= becomes a cookie, which reads as the token's user", func(t *testing.T) {
		resp, _ := fetch(t, anonymous, base, "GET", "/ui/?namespace=default&token="+url.QueryEscape(token), nil, nil)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/?namespace=default" {
			t.Fatalf("GET /ui/?token=: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		var cookie *http.Cookie
		for _, c := range resp.Cookies() {
			if c.Name == ui.CookieName {
				cookie = c
			}
		}
		if cookie == nil || cookie.Value != token || !cookie.HttpOnly || !cookie.Secure || cookie.SameSite != http.SameSiteStrictMode {
			t.Fatalf("cookie %+v", cookie)
		}
		withCookie := http.Header{"Cookie": {cookie.String()}}
		var body string
		poll.Eventually(t, "the viewer's binding to reach the authorizer", func() error {
			if resp, body = fetch(t, anonymous, base, "GET", "/ui/", withCookie, nil); resp.StatusCode != http.StatusOK {
				return fmt.Errorf("GET /ui/ with the cookie: %d", resp.StatusCode)
			}
			return nil
		})
		// The page reads as the viewer: pods yes, nodes no.
		if !strings.Contains(body, "web-1") || !strings.Contains(body, `nodes is forbidden: User &#34;system:serviceaccount:default:viewer&#34; cannot list resource &#34;nodes&#34;`) {
			t.Errorf("the viewer's overview:\n%s", body)
		}
		if resp, _ := fetch(t, anonymous, base, "GET", "/api/v1/namespaces/default/pods?watch=1&timeoutSeconds=1", withCookie, nil); resp.StatusCode != http.StatusOK {
			t.Errorf("the pages' watch with the cookie: %d", resp.StatusCode)
		}
		// The cookie never writes, nor reaches into pods.
		create := url.Values{}
		if resp, body := fetch(t, anonymous, base, "POST", "/api/v1/namespaces/default/configmaps", withCookie, create); resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "system:anonymous") {
			t.Errorf("POST with the cookie: %d %s, want 403 for the anonymous user", resp.StatusCode, body)
		}
		if resp, body := fetch(t, anonymous, base, "GET", "/api/v1/namespaces/default/pods/web-1/exec?command=true", withCookie, nil); resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "system:anonymous") {
			t.Errorf("exec with the cookie: %d %s, want 403 for the anonymous user", resp.StatusCode, body)
		}
	})
	t.Run("the login form sets the cookie; logout clears it", func(t *testing.T) {
		resp, body := fetch(t, anonymous, base, "GET", "/ui/login", nil, nil)
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, `name="token"`) {
			t.Errorf("GET /ui/login: %d", resp.StatusCode)
		}
		resp, _ = fetch(t, anonymous, base, "POST", "/ui/login", nil, url.Values{"token": {token}})
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/" || len(resp.Cookies()) != 1 || resp.Cookies()[0].Value != token {
			t.Errorf("POST /ui/login: %d to %q, cookies %v", resp.StatusCode, resp.Header.Get("Location"), resp.Cookies())
		}
		resp, _ = fetch(t, anonymous, base, "POST", "/ui/login", http.Header{"Origin": {"https://elsewhere.example"}}, url.Values{"token": {token}})
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("a cross-origin login: %d, want 403", resp.StatusCode)
		}
		resp, _ = fetch(t, anonymous, base, "GET", "/ui/logout", nil, nil)
		if len(resp.Cookies()) != 1 || resp.Cookies()[0].MaxAge >= 0 {
			t.Errorf("logout cookies %v", resp.Cookies())
		}
	})
}
