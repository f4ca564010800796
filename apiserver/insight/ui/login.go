package ui

import (
	"bufio"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/authentication/authenticator"
)

// CookieName holds a bearer token given to the UI (?token= or the login form).
const CookieName = "skiff-ui-token"

// WithLogin wraps the API server's whole handler chain (it runs before authentication):
//   - /ui/static/ (the stylesheet and the script, no data) is served to anyone, for the form;
//   - GET /ui/login is the login form, POST /ui/login (field token) stores the token in the
//     cookie and goes to /ui/; /ui/logout clears it;
//   - any /ui/ page with ?token=T stores T in the cookie and redirects to the same page
//     without it (the token leaves the address bar and the history);
//   - a /ui/ page the chain refuses (401, or 403 for the anonymous user or a user without the
//     right) is answered with the same status and the login form instead of a JSON Status.
//
// The cookie is HttpOnly and SameSite=Strict; the cookie authenticator accepts it only for
// reads (see NewCookieAuthenticator).
func WithLogin(chain http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != strings.TrimSuffix(Path, "/") && !strings.HasPrefix(r.URL.Path, Path) {
			chain.ServeHTTP(w, r)
			return
		}
		if strings.HasPrefix(r.URL.Path, Path+"static/") && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			securityHeaders(static).ServeHTTP(w, r)
			return
		}
		switch r.URL.Path {
		case Path + "login":
			login(w, r)
			return
		case Path + "logout":
			setTokenCookie(w, r, "")
			http.Redirect(w, r, Path+"login", http.StatusSeeOther)
			return
		}
		if token := r.URL.Query().Get("token"); token != "" && r.Method == http.MethodGet {
			setTokenCookie(w, r, token)
			q := r.URL.Query()
			q.Del("token")
			target := url.URL{Path: r.URL.Path, RawQuery: q.Encode()}
			http.Redirect(w, r, target.String(), http.StatusSeeOther)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			chain.ServeHTTP(w, r)
			return
		}
		lw := &loginOnRefusal{ResponseWriter: w}
		chain.ServeHTTP(lw, r)
		lw.finish()
	})
}

func login(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		renderLogin(w, http.StatusOK, "")
	case http.MethodPost:
		// No logging in from another site's form.
		if origin := r.Header.Get("Origin"); origin != "" {
			if u, err := url.Parse(origin); err != nil || u.Host != r.Host {
				http.Error(w, "cross-origin login refused", http.StatusForbidden)
				return
			}
		}
		token := strings.TrimSpace(r.PostFormValue("token"))
		if token == "" {
			renderLogin(w, http.StatusBadRequest, "A bearer token is required.")
			return
		}
		setTokenCookie(w, r, token)
		http.Redirect(w, r, Path, http.StatusSeeOther)
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

type loginPage struct {
	Status  int
	Message string
}

func renderLogin(w http.ResponseWriter, status int, message string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'")
	w.Header().Set("X-Frame-Options", "DENY")
	w.WriteHeader(status)
	_ = pages.ExecuteTemplate(w, "login.html", loginPage{Status: status, Message: message})
}

func setTokenCookie(w http.ResponseWriter, r *http.Request, token string) {
	c := &http.Cookie{Name: CookieName, Value: token, Path: "/", HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode}
	if token == "" {
		c.MaxAge = -1
	}
	http.SetCookie(w, c)
}

// loginOnRefusal replaces a 401 or 403 answer of the chain with the login form (same status,
// the API's message shown).
type loginOnRefusal struct {
	http.ResponseWriter
	refused int
	body    []byte
}

func (l *loginOnRefusal) WriteHeader(code int) {
	if code == http.StatusUnauthorized || code == http.StatusForbidden {
		l.refused = code
		// The form is written once the chain has returned (finish).
		return
	}
	l.ResponseWriter.WriteHeader(code)
}

func (l *loginOnRefusal) Write(b []byte) (int, error) {
	if l.refused != 0 {
		if len(l.body) < 4096 {
			l.body = append(l.body, b...)
		}
		return len(b), nil
	}
	return l.ResponseWriter.Write(b)
}

func (l *loginOnRefusal) Flush() {
	if f, ok := l.ResponseWriter.(http.Flusher); ok && l.refused == 0 {
		f.Flush()
	}
}

func (l *loginOnRefusal) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if h, ok := l.ResponseWriter.(http.Hijacker); ok {
		return h.Hijack()
	}
	return nil, nil, errors.New("hijacking not supported")
}

func (l *loginOnRefusal) Unwrap() http.ResponseWriter { return l.ResponseWriter }

// finish writes the form once the chain has returned.
func (l *loginOnRefusal) finish() {
	if l.refused == 0 {
		return
	}
	renderLogin(l.ResponseWriter, l.refused, statusMessage(l.body))
}

func statusMessage(body []byte) string {
	var status metav1.Status
	if json.Unmarshal(body, &status) == nil && status.Message != "" {
		return status.Message
	}
	return strings.TrimSpace(string(body))
}

// NewCookieAuthenticator authenticates the token of the UI's cookie with tokens (the API
// server's bearer token authenticators), for the requests the pages make and nothing else:
// GET and HEAD (reads; the pages never write), without an Authorization header, not upgrading
// the connection, under /ui/, /insight/, /api/ or /apis/, and never the streaming
// subresources that reach into pods and nodes (exec, attach, portforward, proxy), so that a
// cookie a browser sends on its own can read what the pages show and do nothing else. The
// cookie is SameSite=Strict besides.
func NewCookieAuthenticator(tokens authenticator.Token) authenticator.Request {
	return authenticator.RequestFunc(func(r *http.Request) (*authenticator.Response, bool, error) {
		c, err := r.Cookie(CookieName)
		if err != nil || c.Value == "" || r.Header.Get("Authorization") != "" || !readOnly(r) {
			return nil, false, nil
		}
		return tokens.AuthenticateToken(r.Context(), c.Value)
	})
}

// readOnly is what the pages do: GET or HEAD, no connection upgrade, under /ui/, /insight/,
// /api/ or /apis/, not exec, attach, portforward or proxy.
func readOnly(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	if r.Header.Get("Upgrade") != "" {
		return false
	}
	p := r.URL.Path
	if !strings.HasPrefix(p, Path) && !strings.HasPrefix(p, "/insight/") && !strings.HasPrefix(p, "/api/") && !strings.HasPrefix(p, "/apis/") {
		return false
	}
	for _, seg := range strings.Split(p, "/") {
		switch seg {
		case "exec", "attach", "portforward", "proxy":
			return false
		}
	}
	return true
}
