package server

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	clocktesting "k8s.io/utils/clock/testing"
)

func TestRequestAttributes(t *testing.T) {
	u := &user.DefaultInfo{Name: "alice"}
	for _, tc := range []struct {
		method, path string
		verb, sub    string
		ok           bool
	}{
		{"GET", "/stats/summary", "get", "stats", true},
		{"GET", "/stats", "get", "stats", true},
		{"GET", "/stats/", "get", "stats", true},
		{"GET", "/statsx", "get", "proxy", true},
		{"GET", "/metrics", "get", "metrics", true},
		{"GET", "/metrics/cadvisor", "get", "metrics", true},
		{"GET", "/metrics/resource", "get", "metrics", true},
		{"GET", "/metricsfoo", "get", "proxy", true},
		{"GET", "/logs/", "get", "log", true},
		{"GET", "/logs/messages", "get", "log", true},
		{"GET", "/logs", "get", "log", true},
		{"GET", "/containerLogs/ns/pod/c", "get", "proxy", true},
		{"POST", "/exec/ns/pod/c", "create", "proxy", true},
		{"GET", "/exec/ns/pod/c", "get", "proxy", true},
		{"POST", "/attach/ns/pod/c", "create", "proxy", true},
		{"POST", "/portForward/ns/pod", "create", "proxy", true},
		{"POST", "/run/ns/pod/c", "create", "proxy", true},
		{"GET", "/pods", "get", "proxy", true},
		{"GET", "/healthz", "get", "proxy", true},
		{"GET", "/debug/pprof/", "get", "proxy", true},
		{"PUT", "/pods", "update", "proxy", true},
		{"PATCH", "/pods", "patch", "proxy", true},
		{"DELETE", "/pods", "delete", "proxy", true},
		// Paths are judged cleaned: no way around proxy through a stats prefix.
		{"POST", "/stats/../exec/ns/pod/c", "create", "proxy", true},
		{"GET", "//metrics", "get", "metrics", true},
		{"GET", "", "get", "proxy", true},
		{"HEAD", "/pods", "", "", false},
		{"OPTIONS", "/exec/ns/pod/c", "", "", false},
	} {
		a, ok := RequestAttributes(u, "n1", tc.method, tc.path)
		if ok != tc.ok {
			t.Errorf("%s %s: ok %v, want %v", tc.method, tc.path, ok, tc.ok)
			continue
		}
		if !ok {
			continue
		}
		if a.Verb != tc.verb || a.Subresource != tc.sub || a.Resource != "nodes" || a.Name != "n1" || a.APIGroup != "" ||
			a.APIVersion != "v1" || !a.ResourceRequest || a.User != u || a.Namespace != "" {
			t.Errorf("%s %s: %+v, want verb %s on nodes/%s n1", tc.method, tc.path, a, tc.verb, tc.sub)
		}
	}
	a, _ := RequestAttributes(u, "n1", "POST", "/exec/a/b/c")
	if got, want := forbiddenMessage(a), "Forbidden (user=alice, verb=create, resource=nodes, subresource=proxy)"; got != want {
		t.Errorf("forbidden message %q, want %q", got, want)
	}
}

func TestTTLCache(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	type step struct {
		at      time.Duration // since start
		add     string        // key to add with ttl
		ttl     time.Duration
		get     string
		want    bool
		wantLen int
	}
	for _, tc := range []struct {
		name  string
		max   int
		steps []step
	}{
		{"expires at its ttl", 10, []step{
			{at: 0, add: "a", ttl: 30 * time.Second, get: "a", want: true, wantLen: 1},
			{at: 29 * time.Second, get: "a", want: true, wantLen: 1},
			{at: 30 * time.Second, get: "a", want: false, wantLen: 0},
		}},
		{"a new answer replaces the old with its own ttl", 10, []step{
			{at: 0, add: "a", ttl: 30 * time.Second, get: "a", want: true, wantLen: 1},
			{at: 20 * time.Second, add: "a", ttl: 5 * time.Minute, get: "a", want: true, wantLen: 1},
			{at: 4 * time.Minute, get: "a", want: true, wantLen: 1},
			{at: 5*time.Minute + 20*time.Second, get: "a", want: false, wantLen: 0},
		}},
		{"full: expired entries go first", 2, []step{
			{at: 0, add: "a", ttl: time.Second},
			{at: 0, add: "b", ttl: time.Minute},
			{at: 2 * time.Second, add: "c", ttl: time.Minute, get: "b", want: true, wantLen: 2},
			{at: 2 * time.Second, get: "c", want: true, wantLen: 2},
		}},
		{"full: the soonest to expire goes", 2, []step{
			{at: 0, add: "a", ttl: time.Hour},
			{at: 0, add: "b", ttl: time.Minute},
			{at: time.Second, add: "c", ttl: time.Minute, get: "b", want: false, wantLen: 2},
			{at: time.Second, get: "a", want: true, wantLen: 2},
			{at: time.Second, get: "c", want: true, wantLen: 2},
		}},
		{"full: replacing a key evicts nothing", 2, []step{
			{at: 0, add: "a", ttl: time.Hour},
			{at: 0, add: "b", ttl: time.Minute},
			{at: 0, add: "b", ttl: time.Hour, get: "a", want: true, wantLen: 2},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := clocktesting.NewFakePassiveClock(start)
			c := newTTLCache[int](clk, tc.max)
			for i, s := range tc.steps {
				clk.SetTime(start.Add(s.at))
				if s.add != "" {
					c.add(s.add, i, s.ttl)
				}
				if s.get != "" {
					if _, ok := c.get(s.get); ok != s.want {
						t.Errorf("step %d: get %s = %v, want %v", i, s.get, ok, s.want)
					}
					if n := c.len(); n != s.wantLen {
						t.Errorf("step %d: %d entries, want %d", i, n, s.wantLen)
					}
				}
			}
		})
	}
}

// fakeReviews answers TokenReviews and SubjectAccessReviews from tables and counts them.
type fakeReviews struct {
	tokens      map[string]authenticationv1.UserInfo // valid tokens
	allowed     map[string]bool                      // "user verb subresource" allowed
	fail        atomic.Bool
	tokenCalls  atomic.Int32
	sarCalls    atomic.Int32
	lastSARSpec atomic.Pointer[authorizationv1.SubjectAccessReviewSpec]
}

func (f *fakeReviews) client() *fake.Clientset {
	c := fake.NewClientset()
	c.PrependReactor("create", "tokenreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		f.tokenCalls.Add(1)
		if f.fail.Load() {
			return true, nil, fmt.Errorf("connection refused")
		}
		r := a.(k8stesting.CreateAction).GetObject().(*authenticationv1.TokenReview).DeepCopy()
		if u, ok := f.tokens[r.Spec.Token]; ok {
			r.Status = authenticationv1.TokenReviewStatus{Authenticated: true, User: u}
		}
		return true, r, nil
	})
	c.PrependReactor("create", "subjectaccessreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		f.sarCalls.Add(1)
		if f.fail.Load() {
			return true, nil, fmt.Errorf("connection refused")
		}
		r := a.(k8stesting.CreateAction).GetObject().(*authorizationv1.SubjectAccessReview).DeepCopy()
		spec := r.Spec
		f.lastSARSpec.Store(&spec)
		ra := r.Spec.ResourceAttributes
		if ra.Resource == "nodes" && ra.Name == "n1" && f.allowed[r.Spec.User+" "+ra.Verb+" "+ra.Subresource] {
			r.Status.Allowed = true
		}
		return true, r, nil
	})
	return c
}

func certRequest(method, path, cn string, orgs ...string) *http.Request {
	r := httptest.NewRequest(method, path, nil)
	cert := &x509.Certificate{Subject: pkix.Name{CommonName: cn, Organization: orgs}}
	r.TLS = &tls.ConnectionState{VerifiedChains: [][]*x509.Certificate{{cert}}}
	return r
}

func tokenRequest(method, path, token string) *http.Request {
	r := httptest.NewRequest(method, path, nil)
	r.Header.Set("Authorization", "Bearer "+token)
	return r
}

// TestFilter: 401 without a credential, 403 with upstream's message when the review denies,
// the handler when it allows; reviews cached for their TTLs, failures not cached.
func TestFilter(t *testing.T) {
	f := &fakeReviews{
		tokens: map[string]authenticationv1.UserInfo{
			"sa-token": {Username: "system:serviceaccount:default:prober", UID: "u1", Groups: []string{"system:serviceaccounts"},
				Extra: map[string]authenticationv1.ExtraValue{"authentication.kubernetes.io/credential-id": {"JTI=x"}}},
		},
		allowed: map[string]bool{
			"alice get proxy":                                true,
			"alice create proxy":                             true,
			"system:serviceaccount:default:prober get log":   true,
			"kube-apiserver-kubelet-client create proxy":     true,
			"kube-apiserver-kubelet-client get proxy":        true,
			"kube-apiserver-kubelet-client get metrics":      true,
			"system:serviceaccount:default:prober get stats": true,
		},
	}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clk := clocktesting.NewFakePassiveClock(start)
	var gotAuth atomic.Value
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotAuth.Store(r.Header.Get("Authorization"))
		_, _ = w.Write([]byte("served"))
	})
	h := newRequestAuth("n1", f.client(), clk).filter(inner)
	do := func(r *http.Request) (int, string) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec.Code, rec.Body.String()
	}
	for _, tc := range []struct {
		name string
		req  *http.Request
		code int
		body string
	}{
		{"no credential", httptest.NewRequest("GET", "/pods", nil), 401, "Unauthorized"},
		{"empty bearer", tokenRequest("GET", "/pods", ""), 401, "Unauthorized"},
		{"basic auth", func() *http.Request {
			r := httptest.NewRequest("GET", "/pods", nil)
			r.SetBasicAuth("a", "b")
			return r
		}(), 401, "Unauthorized"},
		{"unknown token", tokenRequest("GET", "/pods", "nope"), 401, "Unauthorized"},
		{"certificate without CN", certRequest("GET", "/pods", ""), 401, "Unauthorized"},
		{"certificate, allowed", certRequest("GET", "/containerLogs/a/b/c", "alice"), 200, "served"},
		{"certificate, allowed create", certRequest("POST", "/exec/a/b/c", "alice"), 200, "served"},
		{"certificate, denied", certRequest("GET", "/metrics", "alice"), 403, "Forbidden (user=alice, verb=get, resource=nodes, subresource=metrics)"},
		{"node certificate, denied", certRequest("POST", "/exec/a/b/c", "system:node:n2", "system:nodes"), 403,
			"Forbidden (user=system:node:n2, verb=create, resource=nodes, subresource=proxy)"},
		{"kubelet client", certRequest("POST", "/portForward/a/b", "kube-apiserver-kubelet-client"), 200, "served"},
		{"token, allowed", tokenRequest("GET", "/logs/x", "sa-token"), 200, "served"},
		{"token, denied", tokenRequest("POST", "/run/a/b/c", "sa-token"), 403,
			"Forbidden (user=system:serviceaccount:default:prober, verb=create, resource=nodes, subresource=proxy)"},
		{"method without verb", certRequest("HEAD", "/pods", "alice"), 405, "method HEAD is not allowed"},
	} {
		if code, body := do(tc.req); code != tc.code || body != tc.body {
			t.Errorf("%s: %d %q, want %d %q", tc.name, code, body, tc.code, tc.body)
		}
	}
	// The SubjectAccessReview carries the token's user as the API server told it, plus
	// system:authenticated; the token is not passed on.
	do(tokenRequest("GET", "/stats/summary", "sa-token"))
	spec := f.lastSARSpec.Load()
	if spec.User != "system:serviceaccount:default:prober" || spec.UID != "u1" ||
		strings.Join(spec.Groups, ",") != "system:serviceaccounts,system:authenticated" ||
		len(spec.Extra["authentication.kubernetes.io/credential-id"]) != 1 ||
		spec.ResourceAttributes.Verb != "get" || spec.ResourceAttributes.Subresource != "stats" || spec.ResourceAttributes.Version != "v1" {
		t.Errorf("SubjectAccessReview spec: %+v %+v", spec, spec.ResourceAttributes)
	}
	if a := gotAuth.Load(); a != "" {
		t.Errorf("the handler saw Authorization %q, want none", a)
	}

	// Caching, with the clock: the same request is answered without another review until its
	// TTL: allowed 5 minutes, denied 30 seconds, tokens 2 minutes.
	type counts struct{ tokens, sars int32 }
	calls := func() counts { return counts{f.tokenCalls.Load(), f.sarCalls.Load()} }
	expect := func(name string, r func() *http.Request, at time.Duration, code int, want counts) {
		t.Helper()
		clk.SetTime(start.Add(at))
		before := calls()
		if got, _ := do(r()); got != code {
			t.Errorf("%s: %d, want %d", name, got, code)
		}
		after := calls()
		if d := (counts{after.tokens - before.tokens, after.sars - before.sars}); d != want {
			t.Errorf("%s: reviews %+v, want %+v", name, d, want)
		}
	}
	allowedReq := func() *http.Request { return certRequest("GET", "/containerLogs/a/b/c", "alice") }
	deniedReq := func() *http.Request { return certRequest("GET", "/metrics", "alice") }
	tokenReq := func() *http.Request { return tokenRequest("GET", "/logs/x", "sa-token") }
	badToken := func() *http.Request { return tokenRequest("GET", "/logs/x", "nope") }
	expect("allowed, cached", allowedReq, 0, 200, counts{0, 0})
	expect("denied, cached", deniedReq, 0, 403, counts{0, 0})
	expect("token, cached", tokenReq, 0, 200, counts{0, 0})
	expect("bad token, cached", badToken, 0, 401, counts{0, 0})
	expect("denied, 29s", deniedReq, 29*time.Second, 403, counts{0, 0})
	expect("denied, 30s: reviewed again", deniedReq, 30*time.Second, 403, counts{0, 1})
	expect("token, 2m: reviewed again (its decision still cached)", tokenReq, 2*time.Minute, 200, counts{1, 0})
	expect("bad token, 2m: reviewed again", badToken, 2*time.Minute, 401, counts{1, 0})
	expect("allowed, 4m59s", allowedReq, 5*time.Minute-time.Second, 200, counts{0, 0})
	expect("allowed, 5m: reviewed again", allowedReq, 5*time.Minute, 200, counts{0, 1})
	// Other groups are another decision.
	expect("same user, other groups", func() *http.Request {
		return certRequest("GET", "/containerLogs/a/b/c", "alice", "team")
	}, 5*time.Minute, 200, counts{0, 1})

	// Failed reviews: 401 / 500, not cached.
	f.fail.Store(true)
	expect("token review fails", func() *http.Request { return tokenRequest("GET", "/pods", "other") }, 10*time.Minute, 401, counts{1, 0})
	expect("token review fails again", func() *http.Request { return tokenRequest("GET", "/pods", "other") }, 10*time.Minute, 401, counts{1, 0})
	expect("access review fails", func() *http.Request { return certRequest("GET", "/pods", "bob") }, 10*time.Minute, 500, counts{0, 1})
	if code, body := do(certRequest("GET", "/pods", "bob")); code != 500 || body != "Authorization error (user=bob, verb=get, resource=nodes, subresource=proxy)" {
		t.Errorf("access review fails: %d %q", code, body)
	}
	f.fail.Store(false)
	expect("access review back", func() *http.Request { return certRequest("GET", "/pods", "bob") }, 10*time.Minute, 403, counts{0, 1})
}
