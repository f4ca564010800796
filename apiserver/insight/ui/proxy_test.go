package ui_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"k8s.io/client-go/rest"

	"github.com/skiff-dev/skiff/apiserver/insight/ui"
)

func TestProxy(t *testing.T) {
	var seen []string
	api := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, r.Method+" "+r.URL.RequestURI()+" auth="+r.Header.Get("Authorization")+" cookie="+r.Header.Get("Cookie"))
		_, _ = w.Write([]byte("from the API"))
	}))
	defer api.Close()
	proxy, err := ui.NewProxy(&rest.Config{Host: api.URL, BearerToken: "kubeconfig-token", TLSClientConfig: rest.TLSClientConfig{Insecure: true}}, "s3cret")
	if err != nil {
		t.Fatal(err)
	}
	session := &http.Cookie{Name: ui.SessionCookieName, Value: "s3cret"}
	for _, tt := range []struct {
		name, method, host, target string
		cookies                    []*http.Cookie
		code                       int
		location, forwarded        string
	}{
		{name: "the session address sets the cookie", method: "GET", target: "/ui/?session=s3cret&namespace=a", code: 303, location: "/ui/?namespace=a"},
		{name: "a wrong session", method: "GET", target: "/ui/?session=guess", code: 403},
		{name: "no session cookie", method: "GET", target: "/ui/", code: 403},
		{name: "a wrong session cookie", method: "GET", target: "/ui/", cookies: []*http.Cookie{{Name: ui.SessionCookieName, Value: "guess"}}, code: 403},
		{name: "a page, with the kubeconfig's credentials and not the browser's cookies", method: "GET", target: "/ui/pods/a/b",
			cookies: []*http.Cookie{session, {Name: ui.CookieName, Value: "browser-token"}}, code: 200, forwarded: "GET /ui/pods/a/b auth=Bearer kubeconfig-token cookie="},
		{name: "the pages' watch", method: "GET", target: "/api/v1/pods?watch=1", cookies: []*http.Cookie{session}, code: 200,
			forwarded: "GET /api/v1/pods?watch=1 auth=Bearer kubeconfig-token cookie="},
		{name: "the root goes to the pages", method: "GET", target: "/", cookies: []*http.Cookie{session}, code: 303, location: "/ui/"},
		{name: "no writes", method: "POST", target: "/api/v1/namespaces/a/pods", cookies: []*http.Cookie{session}, code: 403},
		{name: "no exec", method: "GET", target: "/api/v1/namespaces/a/pods/b/exec?command=sh", cookies: []*http.Cookie{session}, code: 403},
		{name: "nothing else", method: "GET", target: "/metrics", cookies: []*http.Cookie{session}, code: 403},
		{name: "no other host name (DNS rebinding)", method: "GET", host: "evil.example:8001", target: "/ui/", cookies: []*http.Cookie{session}, code: 403},
		{name: "localhost is fine", method: "GET", host: "localhost:8001", target: "/ui/", cookies: []*http.Cookie{session}, code: 200, forwarded: "GET /ui/ auth=Bearer kubeconfig-token cookie="},
	} {
		t.Run(tt.name, func(t *testing.T) {
			seen = nil
			r := httptest.NewRequest(tt.method, tt.target, nil)
			r.Host = "127.0.0.1:8001"
			if tt.host != "" {
				r.Host = tt.host
			}
			for _, c := range tt.cookies {
				r.AddCookie(c)
			}
			w := httptest.NewRecorder()
			proxy.ServeHTTP(w, r)
			if w.Code != tt.code || w.Header().Get("Location") != tt.location {
				t.Errorf("%s %s: %d to %q, want %d to %q (%s)", tt.method, tt.target, w.Code, w.Header().Get("Location"), tt.code, tt.location, w.Body)
			}
			if got := strings.Join(seen, "\n"); got != tt.forwarded {
				t.Errorf("forwarded %q, want %q", got, tt.forwarded)
			}
			if tt.location != "" && strings.Contains(tt.target, "session=") {
				if c := w.Result().Cookies(); len(c) != 1 || c[0].Value != "s3cret" || !c[0].HttpOnly || c[0].SameSite != http.SameSiteStrictMode {
					t.Errorf("cookies %v", c)
				}
			}
		})
	}
	if u := ui.SessionURL("127.0.0.1:8001", "s3cret"); u != "http://127.0.0.1:8001/ui/?session=s3cret" {
		t.Errorf("SessionURL %s", u)
	}
}
