package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
)

// Authentication and authorization of every request on the agent's port, as the kubelet's
// (pkg/kubelet/server/auth.go, the delegating authenticator and authorizer of
// cmd/kubelet/app/auth.go) with anonymous requests off: a client certificate of the cluster CA
// (user = CN, groups = O) or a bearer token that the API server vouches for in a TokenReview;
// then a SubjectAccessReview on the node (resource nodes, subresource from the path, verb from
// the method). Reviews go through the node's own API client; their answers are cached briefly.

// The caches' lifetimes: the kubelet's defaults (authentication.webhook.cacheTTL,
// authorization.webhook.cacheAuthorizedTTL and cacheUnauthorizedTTL).
const (
	TokenCacheTTL    = 2 * time.Minute
	AllowedCacheTTL  = 5 * time.Minute
	DeniedCacheTTL   = 30 * time.Second
	reviewTimeout    = 10 * time.Second
	maxCacheEntries  = 4096
	bearerPrefix     = "bearer "
	authorizationHdr = "Authorization"
)

// subresourcePaths map path prefixes to the nodes subresource that authorizes them, as the
// kubelet's GetRequestAttributes; every other path is nodes/proxy.
var subresourcePaths = []struct{ prefix, subresource string }{
	{"/stats", "stats"},
	{"/metrics", "metrics"},
	{"/logs", "log"},
}

// isSubpath tells whether p is prefix or below it (/metrics, /metrics/cadvisor; not /metricsx).
func isSubpath(p, prefix string) bool {
	return p == prefix || strings.HasPrefix(p, prefix+"/")
}

// Subresource returns the nodes subresource a request path is authorized as.
func Subresource(urlPath string) string {
	p := path.Clean("/" + urlPath)
	for _, s := range subresourcePaths {
		if isSubpath(p, s.prefix) {
			return s.subresource
		}
	}
	return "proxy"
}

// methodVerbs are the API verbs of the HTTP methods the agent serves, as the kubelet's.
var methodVerbs = map[string]string{
	http.MethodGet:    "get",
	http.MethodPost:   "create",
	http.MethodPut:    "update",
	http.MethodPatch:  "patch",
	http.MethodDelete: "delete",
}

// RequestAttributes returns what a request on the agent's port is authorized as: verb (from the
// method) on nodes/<subresource> named nodeName. ok is false for a method that has no verb.
func RequestAttributes(u user.Info, nodeName, method, urlPath string) (attrs authorizer.AttributesRecord, ok bool) {
	verb, ok := methodVerbs[method]
	if !ok {
		return authorizer.AttributesRecord{}, false
	}
	return authorizer.AttributesRecord{
		User:            u,
		Verb:            verb,
		APIVersion:      "v1",
		Resource:        "nodes",
		Subresource:     Subresource(urlPath),
		Name:            nodeName,
		ResourceRequest: true,
		Path:            urlPath,
	}, true
}

// forbiddenMessage is the kubelet's answer to a denied request.
func forbiddenMessage(a authorizer.Attributes) string {
	return fmt.Sprintf("Forbidden (user=%s, verb=%s, resource=%s, subresource=%s)", a.GetUser().GetName(), a.GetVerb(), a.GetResource(), a.GetSubresource())
}

// ttlCache is a map whose entries expire, bounded in size: when full, expired entries go, then
// the one closest to expiring.
type ttlCache[V any] struct {
	clock   clock.PassiveClock
	max     int
	mu      sync.Mutex
	entries map[string]cacheEntry[V]
}

type cacheEntry[V any] struct {
	value   V
	expires time.Time
}

func newTTLCache[V any](clk clock.PassiveClock, max int) *ttlCache[V] {
	return &ttlCache[V]{clock: clk, max: max, entries: map[string]cacheEntry[V]{}}
}

func (c *ttlCache[V]) get(key string) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok {
		var zero V
		return zero, false
	}
	if !c.clock.Now().Before(e.expires) {
		delete(c.entries, key)
		var zero V
		return zero, false
	}
	return e.value, true
}

func (c *ttlCache[V]) add(key string, v V, ttl time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.clock.Now()
	if _, ok := c.entries[key]; !ok && len(c.entries) >= c.max {
		var soonest string
		for k, e := range c.entries {
			if !now.Before(e.expires) {
				delete(c.entries, k)
				continue
			}
			if soonest == "" || e.expires.Before(c.entries[soonest].expires) {
				soonest = k
			}
		}
		if len(c.entries) >= c.max {
			delete(c.entries, soonest)
		}
	}
	c.entries[key] = cacheEntry[V]{value: v, expires: now.Add(ttl)}
}

func (c *ttlCache[V]) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

// tokenResult is a cached TokenReview: the user, or nil for a token the API server refused.
type tokenResult struct{ user user.Info }

// requestAuth authenticates and authorizes the requests of one node's port.
type requestAuth struct {
	nodeName  string
	client    kubernetes.Interface
	tokens    *ttlCache[tokenResult]
	decisions *ttlCache[bool]
}

func newRequestAuth(nodeName string, client kubernetes.Interface, clk clock.PassiveClock) *requestAuth {
	if clk == nil {
		clk = clock.RealClock{}
	}
	return &requestAuth{nodeName: nodeName, client: client,
		tokens: newTTLCache[tokenResult](clk, maxCacheEntries), decisions: newTTLCache[bool](clk, maxCacheEntries)}
}

// withAuthenticatedGroup adds system:authenticated, as the API server's authenticators do.
func withAuthenticatedGroup(u *user.DefaultInfo) user.Info {
	if !slices.Contains(u.Groups, user.AllAuthenticated) {
		u.Groups = append(slices.Clip(u.Groups), user.AllAuthenticated)
	}
	return u
}

// certificateUser is the user of a verified client certificate: CN, groups the O.
func certificateUser(r *http.Request) (user.Info, bool) {
	if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.VerifiedChains[0]) == 0 {
		return nil, false
	}
	subject := r.TLS.VerifiedChains[0][0].Subject
	if subject.CommonName == "" {
		return nil, false
	}
	return withAuthenticatedGroup(&user.DefaultInfo{Name: subject.CommonName, Groups: slices.Clone(subject.Organization)}), true
}

// bearerToken returns the request's bearer token.
func bearerToken(r *http.Request) (string, bool) {
	h := strings.TrimSpace(r.Header.Get(authorizationHdr))
	if len(h) <= len(bearerPrefix) || !strings.EqualFold(h[:len(bearerPrefix)], bearerPrefix) {
		return "", false
	}
	token := strings.TrimSpace(h[len(bearerPrefix):])
	return token, token != ""
}

// authenticate returns the request's user, or nil when it has no valid credential; err is a
// failed TokenReview.
func (a *requestAuth) authenticate(r *http.Request) (user.Info, error) {
	if u, ok := certificateUser(r); ok {
		return u, nil
	}
	token, ok := bearerToken(r)
	if !ok {
		return nil, nil
	}
	u, err := a.reviewToken(r.Context(), token)
	if u != nil {
		// As the API server's bearer token authenticator: the token goes no further (the
		// streaming proxy forwards the request's headers to the runtime).
		r.Header.Del(authorizationHdr)
	}
	return u, err
}

// reviewToken asks the API server who a token is (TokenReview), cached for TokenCacheTTL.
func (a *requestAuth) reviewToken(ctx context.Context, token string) (user.Info, error) {
	sum := sha256.Sum256([]byte(token))
	key := hex.EncodeToString(sum[:])
	if res, ok := a.tokens.get(key); ok {
		return res.user, nil
	}
	ctx, cancel := context.WithTimeout(ctx, reviewTimeout)
	defer cancel()
	review, err := a.client.AuthenticationV1().TokenReviews().Create(ctx,
		&authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{Token: token}}, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("token review: %w", err)
	}
	var res tokenResult
	if st := review.Status; st.Authenticated {
		extra := map[string][]string{}
		for k, v := range st.User.Extra {
			extra[k] = v
		}
		res.user = withAuthenticatedGroup(&user.DefaultInfo{Name: st.User.Username, UID: st.User.UID, Groups: st.User.Groups, Extra: extra})
	} else if st.Error != "" {
		// An error of the authenticator, not a verdict on the token: not cached.
		return nil, fmt.Errorf("token review: %s", st.Error)
	}
	a.tokens.add(key, res, TokenCacheTTL)
	return res.user, nil
}

// decisionKey identifies an authorization decision: the user and what the request asks.
func decisionKey(a authorizer.Attributes) string {
	u := a.GetUser()
	b, _ := json.Marshal(struct {
		Name, UID, Verb, Subresource, Node string
		Groups                             []string
		Extra                              map[string][]string
	}{u.GetName(), u.GetUID(), a.GetVerb(), a.GetSubresource(), a.GetName(), u.GetGroups(), u.GetExtra()})
	return string(b)
}

// authorize asks the API server whether the request is allowed (SubjectAccessReview); answers
// are cached, allowed for AllowedCacheTTL, denied for DeniedCacheTTL.
func (a *requestAuth) authorize(ctx context.Context, attrs authorizer.Attributes) (bool, error) {
	key := decisionKey(attrs)
	if allowed, ok := a.decisions.get(key); ok {
		return allowed, nil
	}
	u := attrs.GetUser()
	extra := map[string]authorizationv1.ExtraValue{}
	for k, v := range u.GetExtra() {
		extra[k] = v
	}
	ctx, cancel := context.WithTimeout(ctx, reviewTimeout)
	defer cancel()
	review, err := a.client.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{
		Spec: authorizationv1.SubjectAccessReviewSpec{
			User: u.GetName(), UID: u.GetUID(), Groups: u.GetGroups(), Extra: extra,
			ResourceAttributes: &authorizationv1.ResourceAttributes{
				Verb: attrs.GetVerb(), Version: attrs.GetAPIVersion(), Resource: attrs.GetResource(),
				Subresource: attrs.GetSubresource(), Name: attrs.GetName(),
			},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		return false, fmt.Errorf("subject access review: %w", err)
	}
	allowed := review.Status.Allowed && !review.Status.Denied
	ttl := DeniedCacheTTL
	if allowed {
		ttl = AllowedCacheTTL
	}
	a.decisions.add(key, allowed, ttl)
	return allowed, nil
}

// filter authenticates and authorizes every request before h: 401 without a valid credential,
// 405 for a method with no verb, 403 when the API server denies it, 500 when a review fails.
func (a *requestAuth) filter(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		log := klog.FromContext(ctx)
		u, err := a.authenticate(r)
		if err != nil {
			log.Error(err, "Authenticating a request", "path", r.URL.Path)
		}
		if u == nil {
			writeError(w, http.StatusUnauthorized, "Unauthorized")
			return
		}
		attrs, ok := RequestAttributes(u, a.nodeName, r.Method, r.URL.Path)
		if !ok {
			w.Header().Set("Allow", "GET, POST, PUT, PATCH, DELETE")
			writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("method %s is not allowed", r.Method))
			return
		}
		allowed, err := a.authorize(ctx, attrs)
		if err != nil {
			log.Error(err, "Authorizing a request", "user", u.GetName(), "verb", attrs.Verb, "subresource", attrs.Subresource)
			writeError(w, http.StatusInternalServerError, fmt.Sprintf("Authorization error (user=%s, verb=%s, resource=%s, subresource=%s)",
				u.GetName(), attrs.Verb, attrs.Resource, attrs.Subresource))
			return
		}
		if !allowed {
			log.V(2).Info("Forbidden request", "user", u.GetName(), "verb", attrs.Verb, "subresource", attrs.Subresource, "path", r.URL.Path)
			writeError(w, http.StatusForbidden, forbiddenMessage(attrs))
			return
		}
		h.ServeHTTP(w, r)
	})
}
