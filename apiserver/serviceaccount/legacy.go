package serviceaccount

import (
	"context"
	"crypto/subtle"
	"fmt"

	"github.com/go-jose/go-jose/v4/jwt"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/user"
)

// LegacyIssuer is the iss of the long-lived tokens of kubernetes.io/service-account-token
// Secrets, which the tokens controller fills in.
const LegacyIssuer = "kubernetes/serviceaccount"

// legacyClaims are upstream's legacy private claims.
type legacyClaims struct {
	Namespace string `json:"kubernetes.io/serviceaccount/namespace"`
	Secret    string `json:"kubernetes.io/serviceaccount/secret.name"`
	Name      string `json:"kubernetes.io/serviceaccount/service-account.name"`
	UID       string `json:"kubernetes.io/serviceaccount/service-account.uid"`
}

// IssueLegacy signs the long-lived token of a service-account-token Secret of sa (no expiry, no
// audience), as upstream's tokens controller does.
func (s *Signer) IssueLegacy(sa *corev1.ServiceAccount, secret *corev1.Secret) (string, error) {
	std := jwt.Claims{Issuer: LegacyIssuer, Subject: UserName(sa.Namespace, sa.Name)}
	lc := legacyClaims{Namespace: sa.Namespace, Secret: secret.Name, Name: sa.Name, UID: string(sa.UID)}
	tok, err := jwt.Signed(s.signer).Claims(std).Claims(lc).Serialize()
	if err != nil {
		return "", fmt.Errorf("signing the token: %w", err)
	}
	return tok, nil
}

// authenticateLegacy checks a verified legacy token: its Secret must still exist and hold
// exactly this token, and its ServiceAccount must exist with the same UID.
func (a *Authenticator) authenticateLegacy(ctx context.Context, token string, std *jwt.Claims, lc *legacyClaims) (*authenticator.Response, bool, error) {
	ns, name, ok := SplitUserName(std.Subject)
	if !ok || ns != lc.Namespace || name != lc.Name || lc.Secret == "" {
		return nil, false, fmt.Errorf("service account token has an invalid subject %q", std.Subject)
	}
	secret, err := a.getter.Secret(ctx, ns, lc.Secret, "")
	if err != nil {
		return nil, false, lookupErr(err, "secret", ns, lc.Secret)
	}
	if secret.DeletionTimestamp != nil {
		return nil, false, fmt.Errorf("secret %s/%s is being deleted", ns, lc.Secret)
	}
	if subtle.ConstantTimeCompare(secret.Data[corev1.ServiceAccountTokenKey], []byte(token)) != 1 {
		return nil, false, fmt.Errorf("token does not match the one in secret %s/%s", ns, lc.Secret)
	}
	sa, err := a.getter.ServiceAccount(ctx, ns, name, types.UID(lc.UID))
	if err != nil {
		return nil, false, lookupErr(err, "service account", ns, name)
	}
	if string(sa.UID) != lc.UID {
		return nil, false, fmt.Errorf("service account UID (%s) does not match claim (%s)", sa.UID, lc.UID)
	}
	if sa.DeletionTimestamp != nil {
		return nil, false, fmt.Errorf("service account %s/%s has been deleted", ns, name)
	}
	auds := a.audiences
	if fromCtx, ok := authenticator.AudiencesFrom(ctx); ok && len(fromCtx) > 0 {
		auds = fromCtx
	}
	return &authenticator.Response{
		User:      &user.DefaultInfo{Name: std.Subject, UID: lc.UID, Groups: Groups(ns)},
		Audiences: auds,
	}, true, nil
}
