package volumes

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
)

// Token refresh, as upstream's kubelet token manager: a token is requested again once 80% of its
// lifetime has passed, or when it is older than 24 hours, each less a jitter of up to 10 s.
const (
	tokenMaxTTL    = 24 * time.Hour
	tokenMaxJitter = 10 * time.Second
)

// tokenForbiddenRetry is how a TokenRequest refused as Forbidden is retried: about 3 s in all.
var tokenForbiddenRetry = wait.Backoff{Duration: 100 * time.Millisecond, Factor: 2, Steps: 6}

// TokenManager requests and caches the pods' projected service account tokens (TokenRequest
// bound to the pod), keyed by account, audience, expiration and pod.
type TokenManager struct {
	Client kubernetes.Interface
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// ForbiddenRetry, when set, replaces the back-off of retries of Forbidden refusals.
	ForbiddenRetry *wait.Backoff
	mu             sync.Mutex
	// cache holds the last TokenRequest answer per key.
	cache map[string]*authenticationv1.TokenRequest
}

func (m *TokenManager) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

func (m *TokenManager) retry() wait.Backoff {
	if m.ForbiddenRetry != nil {
		return *m.ForbiddenRetry
	}
	return tokenForbiddenRetry
}

func tokenKey(ns, sa string, audiences []string, secs int64, pod types.UID) string {
	a := append([]string(nil), audiences...)
	sort.Strings(a)
	return fmt.Sprintf("%s/%s/%s/%d/%s", ns, sa, strings.Join(a, ","), secs, pod)
}

// Token returns a valid token for the pod's projection, from the cache unless it needs a refresh;
// when a refresh fails but the cached token is still valid, the cached one is returned.
func (m *TokenManager) Token(ctx context.Context, pod *corev1.Pod, p *corev1.ServiceAccountTokenProjection) (string, error) {
	if pod.Spec.ServiceAccountName == "" {
		return "", fmt.Errorf("pod %s/%s has no service account for its service account token projection", pod.Namespace, pod.Name)
	}
	secs := int64(3600)
	if p.ExpirationSeconds != nil {
		secs = *p.ExpirationSeconds
	}
	var auds []string
	if p.Audience != "" {
		auds = []string{p.Audience}
	}
	key := tokenKey(pod.Namespace, pod.Spec.ServiceAccountName, auds, secs, pod.UID)
	m.mu.Lock()
	cached := m.cache[key]
	m.mu.Unlock()
	if cached != nil && !m.requiresRefresh(cached) {
		return cached.Status.Token, nil
	}
	req := &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{
			Audiences:         auds,
			ExpirationSeconds: &secs,
			BoundObjectRef:    &authenticationv1.BoundObjectReference{APIVersion: "v1", Kind: "Pod", Name: pod.Name, UID: pod.UID},
		},
	}
	var tr *authenticationv1.TokenRequest
	var err error
	// The node authorizer learns of a new pod's binding to the node a moment after the pod is
	// bound (its graph follows a watch), so the first request of a new pod can be refused with
	// "no relationship found between node ... and this object". Retry such refusals quietly for
	// a short while before reporting them (a FailedMount event).
	_ = wait.ExponentialBackoffWithContext(ctx, m.retry(), func(ctx context.Context) (bool, error) {
		tr, err = m.Client.CoreV1().ServiceAccounts(pod.Namespace).CreateToken(ctx, pod.Spec.ServiceAccountName, req.DeepCopy(), metav1.CreateOptions{})
		return err == nil || !apierrors.IsForbidden(err), nil
	})
	if err != nil {
		if cached != nil && m.now().Before(cached.Status.ExpirationTimestamp.Time) {
			return cached.Status.Token, nil
		}
		return "", fmt.Errorf("failed to fetch token: %w", err)
	}
	if tr.Spec.ExpirationSeconds == nil {
		tr.Spec.ExpirationSeconds = &secs
	}
	m.mu.Lock()
	if m.cache == nil {
		m.cache = map[string]*authenticationv1.TokenRequest{}
	}
	m.cache[key] = tr
	m.mu.Unlock()
	return tr.Status.Token, nil
}

// requiresRefresh is upstream's rule: older than 24 h, or within 20% of the lifetime of expiry.
func (m *TokenManager) requiresRefresh(tr *authenticationv1.TokenRequest) bool {
	now := m.now()
	exp := tr.Status.ExpirationTimestamp.Time
	ttl := time.Duration(*tr.Spec.ExpirationSeconds) * time.Second
	iat := exp.Add(-ttl)
	jitter := time.Duration(rand.Float64() * float64(tokenMaxJitter))
	if now.After(iat.Add(tokenMaxTTL - jitter)) {
		return true
	}
	return now.After(exp.Add(-ttl/5 - jitter))
}

// Forget drops the tokens of a pod (it is gone from the node) and any expired ones.
func (m *TokenManager) Forget(pod types.UID) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	for k, tr := range m.cache {
		if strings.HasSuffix(k, "/"+string(pod)) || now.After(tr.Status.ExpirationTimestamp.Time) {
			delete(m.cache, k)
		}
	}
}
