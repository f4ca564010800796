package serviceaccount_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	sa "github.com/skiff-dev/skiff/apiserver/serviceaccount"
	"github.com/skiff-dev/skiff/controllers/controllertest"
	"github.com/skiff-dev/skiff/controllers/serviceaccount"
	"github.com/skiff-dev/skiff/test/poll"
)

// TestLegacyTokenSecrets: a kubernetes.io/service-account-token Secret gets a long-lived token
// that the API server accepts while the Secret exists; a Secret of a missing account is deleted.
func TestLegacyTokenSecrets(t *testing.T) {
	ca := []byte("test CA\n")
	// The signer uses the test server's own key, known once the server runs.
	signer := &lazySigner{}
	s := controllertest.Start(t, func(mgr manager.Manager) error {
		return (&serviceaccount.TokensController{Signer: signer, RootCA: ca, SkipNameValidation: true}).SetupWithManager(mgr)
	})
	key, err := sa.LoadOrCreateKey(filepath.Join(s.DataDir, "pki"))
	if err != nil {
		t.Fatal(err)
	}
	real, err := sa.NewSigner(sa.DefaultIssuer, key, nil)
	if err != nil {
		t.Fatal(err)
	}
	signer.p.Store(real)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := s.Client
	robot, err := c.CoreV1().ServiceAccounts("default").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "robot"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	secret := func(name, account string) *corev1.Secret {
		return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: map[string]string{corev1.ServiceAccountNameKey: account}},
			Type: corev1.SecretTypeServiceAccountToken}
	}
	if _, err := c.CoreV1().Secrets("default").Create(ctx, secret("robot-token", "robot"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CoreV1().Secrets("default").Create(ctx, secret("ghost-token", "ghost"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var token string
	poll.Eventually(t, "token filled in", func() error {
		got, err := c.CoreV1().Secrets("default").Get(ctx, "robot-token", metav1.GetOptions{})
		if err != nil {
			return err
		}
		token = string(got.Data["token"])
		if token == "" || string(got.Data["ca.crt"]) != string(ca) || string(got.Data["namespace"]) != "default" ||
			got.Annotations[corev1.ServiceAccountUIDKey] != string(robot.UID) {
			return fmt.Errorf("secret %v %v", got.Annotations, got.Data)
		}
		return nil
	})
	poll.Eventually(t, "secret of a missing account deleted", func() error {
		_, err := c.CoreV1().Secrets("default").Get(ctx, "ghost-token", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("ghost-token still there: %v", err)
	})
	cfg := rest.AnonymousClientConfig(s.Config)
	cfg.BearerToken = token
	tc, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r, err := tc.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Status.UserInfo.Username != "system:serviceaccount:default:robot" {
		t.Errorf("user %+v", r.Status.UserInfo)
	}
	if err := c.CoreV1().Secrets("default").Delete(ctx, "robot-token", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	poll.Eventually(t, "token of a deleted secret refused", func() error {
		_, err := tc.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
		if apierrors.IsUnauthorized(err) {
			return nil
		}
		return fmt.Errorf("still accepted: %v", err)
	})
}

type lazySigner struct{ p atomic.Pointer[sa.Signer] }

func (l *lazySigner) IssueLegacy(a *corev1.ServiceAccount, s *corev1.Secret) (string, error) {
	signer := l.p.Load()
	if signer == nil {
		return "", fmt.Errorf("no signer yet")
	}
	return signer.IssueLegacy(a, s)
}
