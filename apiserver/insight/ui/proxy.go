package ui

import (
	"crypto/subtle"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"

	"k8s.io/client-go/rest"
)

// SessionCookieName holds the local proxy's secret in the browser.
const SessionCookieName = "skiff-ui-session"

// NewProxy is `skiff ui`'s local proxy, as `kubectl proxy`: it forwards the pages and the
// reads they make to the API server of cfg with cfg's credentials (the kubeconfig's client
// certificate or token). As any process or web site on this machine could reach a port on
// 127.0.0.1, it forwards only
//   - requests whose Host is a loopback name (no DNS rebinding),
//   - from a browser that opened SessionURL first: the secret in its query becomes a
//     SameSite=Strict cookie that every later request must carry,
//   - reads under /ui/, /insight/, /api/ and /apis/, never the streams into pods and nodes
//     (the same rule as the API server's cookie authenticator).
func NewProxy(cfg *rest.Config, secret string) (http.Handler, error) {
	if secret == "" {
		return nil, fmt.Errorf("ui proxy: no secret")
	}
	rt, err := rest.TransportFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("ui proxy: transport: %w", err)
	}
	target, _, err := rest.DefaultServerUrlFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("ui proxy: server URL: %w", err)
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			r.Out.Host = target.Host
			// The kubeconfig's credentials, and nothing of the browser's.
			r.Out.Header.Del("Cookie")
			r.Out.Header.Del("Authorization")
			r.Out.Header.Del("Origin")
		},
		Transport:     rt,
		FlushInterval: -1, // watches stream
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !loopbackHost(r.Host) {
			http.Error(w, "skiff ui: only loopback host names are served", http.StatusForbidden)
			return
		}
		if given := r.URL.Query().Get("session"); given != "" && r.Method == http.MethodGet {
			if subtle.ConstantTimeCompare([]byte(given), []byte(secret)) != 1 {
				http.Error(w, "skiff ui: wrong session; open the address skiff ui printed", http.StatusForbidden)
				return
			}
			http.SetCookie(w, &http.Cookie{Name: SessionCookieName, Value: secret, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode})
			q := r.URL.Query()
			q.Del("session")
			http.Redirect(w, r, (&url.URL{Path: r.URL.Path, RawQuery: q.Encode()}).String(), http.StatusSeeOther)
			return
		}
		c, err := r.Cookie(SessionCookieName)
		if err != nil || subtle.ConstantTimeCompare([]byte(c.Value), []byte(secret)) != 1 {
			http.Error(w, "skiff ui: no session; open the address skiff ui printed", http.StatusForbidden)
			return
		}
		if r.URL.Path == "/" || r.URL.Path == strings.TrimSuffix(Path, "/") {
			http.Redirect(w, r, Path, http.StatusSeeOther)
			return
		}
		if !readOnly(r) {
			http.Error(w, "skiff ui: only the pages' reads are forwarded", http.StatusForbidden)
			return
		}
		rp.ServeHTTP(w, r)
	}), nil
}

// SessionURL is the address to open: the UI on addr with the proxy's secret.
func SessionURL(addr, secret string) string {
	return (&url.URL{Scheme: "http", Host: addr, Path: Path, RawQuery: url.Values{"session": {secret}}.Encode()}).String()
}

func loopbackHost(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = hostport
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}
