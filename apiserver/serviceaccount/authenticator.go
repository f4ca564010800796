package serviceaccount

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/user"
)

// Getter finds the objects a token is bound to. Each lookup names the UID the token recorded,
// so a cached implementation can read live when its copy is missing or has another UID.
type Getter interface {
	ServiceAccount(ctx context.Context, namespace, name string, uid types.UID) (*corev1.ServiceAccount, error)
	Pod(ctx context.Context, namespace, name string, uid types.UID) (*corev1.Pod, error)
	Secret(ctx context.Context, namespace, name string, uid types.UID) (*corev1.Secret, error)
	Node(ctx context.Context, name string, uid types.UID) (*corev1.Node, error)
}

// Authenticator authenticates bearer service account tokens of the given issuer.
type Authenticator struct {
	issuer    string
	keys      []*rsa.PublicKey
	audiences authenticator.Audiences
	getter    Getter
	now       func() time.Time
}

var _ authenticator.Token = &Authenticator{}

// NewAuthenticator accepts tokens of issuer signed by one of keys, for one of audiences (the
// API's audiences; the request's, when the server puts them in the context, take precedence).
func NewAuthenticator(issuer string, keys []*rsa.PublicKey, audiences []string, getter Getter, now func() time.Time) *Authenticator {
	if now == nil {
		now = time.Now
	}
	return &Authenticator{issuer: issuer, keys: keys, audiences: audiences, getter: getter, now: now}
}

// leeway is the clock skew accepted on exp and nbf, as upstream's (go-jose's default, 1 min).
const leeway = jwt.DefaultLeeway

// AuthenticateToken leaves tokens that are not JWTs or are of another issuer to other
// authenticators (not ok, no error); a token of this issuer that fails any check is an error,
// which the API server answers with 401.
func (a *Authenticator) AuthenticateToken(ctx context.Context, token string) (*authenticator.Response, bool, error) {
	if strings.Count(token, ".") != 2 {
		return nil, false, nil
	}
	tok, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		return nil, false, nil
	}
	var unverified jwt.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&unverified); err != nil || (unverified.Issuer != a.issuer && unverified.Issuer != LegacyIssuer) {
		return nil, false, nil
	}
	if unverified.Issuer == LegacyIssuer {
		var std jwt.Claims
		var lc legacyClaims
		for _, k := range a.keys {
			if err := tok.Claims(k, &std, &lc); err == nil {
				return a.authenticateLegacy(ctx, token, &std, &lc)
			}
		}
		return nil, false, errors.New("service account token could not be verified: invalid signature")
	}
	var std jwt.Claims
	var pc privateClaims
	verified := false
	for _, k := range a.keys {
		if err := tok.Claims(k, &std, &pc); err == nil {
			verified = true
			break
		}
	}
	if !verified {
		return nil, false, errors.New("service account token could not be verified: invalid signature")
	}
	now := a.now()
	if std.Expiry == nil {
		return nil, false, errors.New("service account token has no expiry")
	}
	if now.After(std.Expiry.Time().Add(leeway)) {
		return nil, false, errors.New("service account token has expired")
	}
	if std.NotBefore != nil && now.Add(leeway).Before(std.NotBefore.Time()) {
		return nil, false, errors.New("service account token is not valid yet")
	}
	if std.IssuedAt != nil && now.Add(leeway).Before(std.IssuedAt.Time()) {
		return nil, false, errors.New("service account token was issued in the future")
	}
	want := a.audiences
	if auds, ok := authenticator.AudiencesFrom(ctx); ok && len(auds) > 0 {
		want = auds
	}
	got := authenticator.Audiences(std.Audience)
	matched := got.Intersect(want)
	if len(matched) == 0 {
		return nil, false, fmt.Errorf("token audiences %q is invalid for the target audiences %q", []string(got), []string(want))
	}
	u, err := a.validate(ctx, &std, &pc.Kubernetes)
	if err != nil {
		return nil, false, err
	}
	return &authenticator.Response{User: u, Audiences: matched}, true, nil
}

// validate checks that the bound objects still exist with the token's UIDs.
func (a *Authenticator) validate(ctx context.Context, std *jwt.Claims, k *kubernetesClaims) (user.Info, error) {
	ns, name, ok := SplitUserName(std.Subject)
	if !ok || k.Namespace != ns || k.SvcAcct.Name != name {
		return nil, fmt.Errorf("service account token has an invalid subject %q", std.Subject)
	}
	sa, err := a.getter.ServiceAccount(ctx, ns, name, types.UID(k.SvcAcct.UID))
	if err != nil {
		return nil, lookupErr(err, "service account", ns, name)
	}
	if string(sa.UID) != k.SvcAcct.UID {
		return nil, fmt.Errorf("service account UID (%s) does not match claim (%s)", sa.UID, k.SvcAcct.UID)
	}
	if sa.DeletionTimestamp != nil && !sa.DeletionTimestamp.Time.After(a.now()) {
		return nil, fmt.Errorf("service account %s/%s has been deleted", ns, name)
	}
	extra := map[string][]string{}
	if std.ID != "" {
		extra[CredentialIDKey] = []string{"JTI=" + std.ID}
	}
	if k.Pod != nil {
		pod, err := a.getter.Pod(ctx, ns, k.Pod.Name, types.UID(k.Pod.UID))
		if err != nil {
			return nil, lookupErr(err, "pod", ns, k.Pod.Name)
		}
		if string(pod.UID) != k.Pod.UID {
			return nil, fmt.Errorf("pod UID (%s) does not match claim (%s)", pod.UID, k.Pod.UID)
		}
		if pod.DeletionTimestamp != nil && !pod.DeletionTimestamp.Time.After(a.now()) {
			return nil, fmt.Errorf("pod %s/%s has been deleted", ns, k.Pod.Name)
		}
		extra[PodNameKey] = []string{pod.Name}
		extra[PodUIDKey] = []string{string(pod.UID)}
	}
	if k.Secret != nil {
		s, err := a.getter.Secret(ctx, ns, k.Secret.Name, types.UID(k.Secret.UID))
		if err != nil {
			return nil, lookupErr(err, "secret", ns, k.Secret.Name)
		}
		if string(s.UID) != k.Secret.UID {
			return nil, fmt.Errorf("secret UID (%s) does not match claim (%s)", s.UID, k.Secret.UID)
		}
		if s.DeletionTimestamp != nil && !s.DeletionTimestamp.Time.After(a.now()) {
			return nil, fmt.Errorf("secret %s/%s has been deleted", ns, k.Secret.Name)
		}
	}
	if k.Node != nil {
		if k.Pod == nil {
			// A token bound to the node itself: the node must still exist.
			n, err := a.getter.Node(ctx, k.Node.Name, types.UID(k.Node.UID))
			if err != nil {
				return nil, lookupErr(err, "node", "", k.Node.Name)
			}
			if string(n.UID) != k.Node.UID {
				return nil, fmt.Errorf("node UID (%s) does not match claim (%s)", n.UID, k.Node.UID)
			}
		}
		extra[NodeNameKey] = []string{k.Node.Name}
		if k.Node.UID != "" {
			extra[NodeUIDKey] = []string{k.Node.UID}
		}
	}
	return &user.DefaultInfo{Name: std.Subject, UID: string(sa.UID), Groups: Groups(ns), Extra: extra}, nil
}

func lookupErr(err error, kind, ns, name string) error {
	full := name
	if ns != "" {
		full = ns + "/" + name
	}
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("%s %s has been deleted", kind, full)
	}
	return fmt.Errorf("looking up %s %s: %w", kind, full, err)
}
