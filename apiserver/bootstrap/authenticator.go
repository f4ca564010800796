package bootstrap

import (
	"context"
	"crypto/subtle"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
)

// SecretGetter finds a Secret of kube-system by name (a lister, or a live client).
type SecretGetter func(ctx context.Context, name string) (*corev1.Secret, error)

// TokenAuthenticator authenticates bearer tokens of the form <id>.<secret> against the Secret
// kube-system/bootstrap-token-<id>, as kube-apiserver's bootstrap-token authenticator does.
type TokenAuthenticator struct {
	get SecretGetter
	now func() time.Time
	// start, when set, starts the informer behind get.
	start func(stop <-chan struct{})
}

var _ authenticator.Token = &TokenAuthenticator{}

// NewTokenAuthenticator authenticates against Secrets that get returns.
func NewTokenAuthenticator(get SecretGetter) *TokenAuthenticator {
	return &TokenAuthenticator{get: get, now: time.Now}
}

// NewInformerTokenAuthenticator reads token Secrets through an informer on kube-system Secrets of
// type bootstrap.kubernetes.io/token, falling back to a live read for a token the informer has
// not seen yet (one just created). Start must be called for the informer to run.
func NewInformerTokenAuthenticator(client kubernetes.Interface) *TokenAuthenticator {
	factory := informers.NewSharedInformerFactoryWithOptions(client, 0,
		informers.WithNamespace(Namespace),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("type", string(SecretTypeBootstrapToken)).String()
		}))
	lister := factory.Core().V1().Secrets().Lister()
	a := NewTokenAuthenticator(listerThenLive(lister.Secrets(Namespace), client))
	a.start = factory.Start
	return a
}

func listerThenLive(lister corelisters.SecretNamespaceLister, client kubernetes.Interface) SecretGetter {
	return func(ctx context.Context, name string) (*corev1.Secret, error) {
		s, err := lister.Get(name)
		if err == nil || !apierrors.IsNotFound(err) {
			return s, err
		}
		return client.CoreV1().Secrets(Namespace).Get(ctx, name, metav1.GetOptions{})
	}
}

// Start runs the informer (if any) until stop is closed.
func (a *TokenAuthenticator) Start(stop <-chan struct{}) {
	if a.start != nil {
		a.start(stop)
	}
}

// AuthenticateToken answers tokens that have the join-token format; others are left to other
// authenticators (not ok, no error). A join token that is refused yields an error that names the
// reason, which the API server logs; the client sees only 401 Unauthorized.
func (a *TokenAuthenticator) AuthenticateToken(ctx context.Context, token string) (*authenticator.Response, bool, error) {
	t, err := ParseToken(token)
	if err != nil {
		return nil, false, nil
	}
	s, err := a.get(ctx, SecretName(t.ID))
	if err != nil {
		if apierrors.IsNotFound(err) {
			return nil, false, refused(t.ID, "its secret %s/%s does not exist", Namespace, SecretName(t.ID))
		}
		return nil, false, fmt.Errorf("bootstrap token %s: reading its secret: %w", t.ID, err)
	}
	u, err := a.check(t, s)
	if err != nil {
		return nil, false, err
	}
	return &authenticator.Response{User: u}, true, nil
}

func (a *TokenAuthenticator) check(t Token, s *corev1.Secret) (user.Info, error) {
	if s.DeletionTimestamp != nil {
		return nil, refused(t.ID, "its secret is being deleted")
	}
	if s.Type != SecretTypeBootstrapToken {
		return nil, refused(t.ID, "its secret has type %q, not %q", s.Type, SecretTypeBootstrapToken)
	}
	if subtle.ConstantTimeCompare(s.Data[KeyTokenSecret], []byte(t.Secret)) != 1 {
		return nil, refused(t.ID, "the token's secret part does not match")
	}
	if string(s.Data[KeyTokenID]) != t.ID {
		return nil, refused(t.ID, "its secret's token-id is %q", s.Data[KeyTokenID])
	}
	if expired, at := Expired(s, a.now()); expired {
		if at.IsZero() {
			return nil, refused(t.ID, "its expiration %q is not an RFC3339 time", s.Data[KeyExpiration])
		}
		return nil, refused(t.ID, "it expired at %s", at.UTC().Format(time.RFC3339))
	}
	if string(s.Data[KeyUsageAuth]) != "true" {
		return nil, refused(t.ID, "its secret does not set %s=true", KeyUsageAuth)
	}
	groups, err := ExtraGroups(s)
	if err != nil {
		return nil, refused(t.ID, "%v", err)
	}
	return &user.DefaultInfo{Name: UserPrefix + t.ID, Groups: append([]string{Group}, groups...)}, nil
}

func refused(id, format string, args ...any) error {
	return fmt.Errorf("bootstrap token %s refused: %s", id, fmt.Sprintf(format, args...))
}
