package bootstrap

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
)

func getterOf(secrets ...*corev1.Secret) SecretGetter {
	return func(_ context.Context, name string) (*corev1.Secret, error) {
		for _, s := range secrets {
			if s.Name == name {
				return s, nil
			}
		}
		return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "secrets"}, name)
	}
}

func TestAuthenticateToken(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	tok := Token{ID: "abc123", Secret: "0123456789abcdef"}
	valid := NewSecret(tok, SecretOptions{TTL: time.Hour, Now: now})
	expired := NewSecret(Token{ID: "exp123", Secret: "0123456789abcdef"}, SecretOptions{TTL: time.Hour, Now: now.Add(-2 * time.Hour)})
	signingOnly := NewSecret(Token{ID: "sig123", Secret: "0123456789abcdef"}, SecretOptions{Usages: []string{"signing"}})
	wrongType := NewSecret(Token{ID: "typ123", Secret: "0123456789abcdef"}, SecretOptions{})
	wrongType.Type = corev1.SecretTypeOpaque
	deleting := NewSecret(Token{ID: "del123", Secret: "0123456789abcdef"}, SecretOptions{})
	deleting.DeletionTimestamp = &metav1.Time{Time: now}
	a := NewTokenAuthenticator(getterOf(valid, expired, signingOnly, wrongType, deleting))
	a.now = func() time.Time { return now }

	resp, ok, err := a.AuthenticateToken(context.Background(), tok.String())
	if err != nil || !ok {
		t.Fatalf("valid token: ok=%v err=%v", ok, err)
	}
	if resp.User.GetName() != "system:bootstrap:abc123" {
		t.Errorf("user %q", resp.User.GetName())
	}
	if g := resp.User.GetGroups(); len(g) != 2 || g[0] != "system:bootstrappers" || g[1] != "system:bootstrappers:skiff:default-node-token" {
		t.Errorf("groups %v", g)
	}

	for _, tc := range []struct {
		name, token, wantErr string
	}{
		{"wrong secret", "abc123.0123456789abcdee", "does not match"},
		{"expired", "exp123.0123456789abcdef", "expired at"},
		{"missing secret", "zzz999.0123456789abcdef", "does not exist"},
		{"wrong usage", "sig123.0123456789abcdef", "usage-bootstrap-authentication"},
		{"wrong type", "typ123.0123456789abcdef", "type"},
		{"being deleted", "del123.0123456789abcdef", "being deleted"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, ok, err := a.AuthenticateToken(context.Background(), tc.token)
			if ok || resp != nil {
				t.Fatalf("accepted: %v", resp)
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.wantErr)
			}
			if strings.Contains(err.Error(), "0123456789abcde") {
				t.Fatalf("the error leaks the token's secret: %v", err)
			}
		})
	}

	// Other bearer tokens are left to other authenticators.
	if resp, ok, err := a.AuthenticateToken(context.Background(), "not-a-join-token"); ok || err != nil || resp != nil {
		t.Fatalf("non-join token: %v %v %v", resp, ok, err)
	}
	// Expiry is honoured at the moment of use.
	a.now = func() time.Time { return now.Add(time.Hour) }
	if _, ok, _ := a.AuthenticateToken(context.Background(), tok.String()); ok {
		t.Fatalf("token accepted at its expiration time")
	}
}

func TestInformerAuthenticatorFallsBackToLiveRead(t *testing.T) {
	tok := Token{ID: "abc123", Secret: "0123456789abcdef"}
	client := fake.NewClientset(NewSecret(tok, SecretOptions{}))
	a := NewInformerTokenAuthenticator(client)
	// Informer not started: the lister is empty, the live read finds the Secret.
	if _, ok, err := a.AuthenticateToken(context.Background(), tok.String()); !ok || err != nil {
		t.Fatalf("ok=%v err=%v", ok, err)
	}
}
