package serviceaccount

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	tokencache "k8s.io/apiserver/pkg/authentication/token/cache"
)

// BenchmarkTokens measures issuing a pod-bound token and authenticating it (signature, claims and
// the bound-object lookups against an in-memory getter), uncached and behind the API server's
// 10 s token cache, side by side.
func BenchmarkTokens(b *testing.B) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "sa", UID: "u1"}}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p", UID: "u2"}}
	signer, err := NewSigner(DefaultIssuer, key, nil)
	if err != nil {
		b.Fatal(err)
	}
	objs := &objects{sas: map[string]*corev1.ServiceAccount{"ns/sa": sa}, pods: map[string]*corev1.Pod{"ns/p": pod}}
	a := NewAuthenticator(DefaultIssuer, []*rsa.PublicKey{&key.PublicKey}, []string{DefaultIssuer}, objs, nil)
	tok, _, err := signer.Issue(Binding{ServiceAccount: sa, Pod: pod}, []string{DefaultIssuer}, time.Hour, time.Time{})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("issue", func(b *testing.B) {
		for b.Loop() {
			if _, _, err := signer.Issue(Binding{ServiceAccount: sa, Pod: pod}, []string{DefaultIssuer}, time.Hour, time.Time{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("authenticate-cached", func(b *testing.B) {
		cached := tokencache.New(a, false, 10*time.Second, 0)
		ctx := context.Background()
		for b.Loop() {
			if _, ok, err := cached.AuthenticateToken(ctx, tok); !ok || err != nil {
				b.Fatal(ok, err)
			}
		}
	})
	b.Run("authenticate", func(b *testing.B) {
		ctx := context.Background()
		for b.Loop() {
			if _, ok, err := a.AuthenticateToken(ctx, tok); !ok || err != nil {
				b.Fatal(ok, err)
			}
		}
	})
}
