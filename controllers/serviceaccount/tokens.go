package serviceaccount

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// LegacyTokenSigner signs the long-lived token of a service-account-token Secret
// (apiserver/serviceaccount.Signer).
type LegacyTokenSigner interface {
	IssueLegacy(sa *corev1.ServiceAccount, secret *corev1.Secret) (string, error)
}

// TokensController is upstream's tokens controller for Secrets of type
// kubernetes.io/service-account-token: it fills in token, ca.crt and namespace and records the
// ServiceAccount's UID, and deletes a Secret whose ServiceAccount is gone or was recreated.
type TokensController struct {
	Signer LegacyTokenSigner
	// RootCA is the ca.crt written to the Secrets; empty: the manager's own CA.
	RootCA             []byte
	SkipNameValidation bool
	client             client.Client
	reader             client.Reader
}

// SetupWithManager watches the metadata of Secrets that name a ServiceAccount.
func (c *TokensController) SetupWithManager(mgr ctrl.Manager) error {
	if c.Signer == nil {
		return fmt.Errorf("the tokens controller needs a signer")
	}
	if len(c.RootCA) == 0 {
		c.RootCA = mgr.GetConfig().CAData
	}
	c.client, c.reader = mgr.GetClient(), mgr.GetAPIReader()
	secret := &metav1.PartialObjectMetadata{}
	secret.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
	named := predicate.NewPredicateFuncs(func(o client.Object) bool {
		return o.GetAnnotations()[corev1.ServiceAccountNameKey] != ""
	})
	return ctrl.NewControllerManagedBy(mgr).
		Named("serviceaccount-token").
		For(secret, builder.OnlyMetadata, builder.WithPredicates(named)).
		WithOptions(controller.Options{MaxConcurrentReconciles: 5, SkipNameValidation: ptr.To(c.SkipNameValidation)}).
		Complete(c)
}

// Reconcile fills in or removes one Secret.
func (c *TokensController) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	s := &corev1.Secret{}
	if err := c.reader.Get(ctx, req.NamespacedName, s); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	saName := s.Annotations[corev1.ServiceAccountNameKey]
	if s.Type != corev1.SecretTypeServiceAccountToken || s.DeletionTimestamp != nil || saName == "" {
		return reconcile.Result{}, nil
	}
	sa := &corev1.ServiceAccount{}
	err := c.reader.Get(ctx, types.NamespacedName{Namespace: s.Namespace, Name: saName}, sa)
	if err != nil && !apierrors.IsNotFound(err) {
		return reconcile.Result{}, err
	}
	uid := s.Annotations[corev1.ServiceAccountUIDKey]
	if apierrors.IsNotFound(err) || (uid != "" && uid != string(sa.UID)) {
		// The token's account is gone: so is the token, as upstream.
		log.FromContext(ctx).Info("Deleting the token secret of a missing service account", "secret", req.NamespacedName, "serviceAccount", saName)
		err := c.client.Delete(ctx, s, client.Preconditions{UID: &s.UID})
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	needsToken := len(s.Data[corev1.ServiceAccountTokenKey]) == 0
	needsCA := len(c.RootCA) > 0 && string(s.Data[corev1.ServiceAccountRootCAKey]) != string(c.RootCA)
	needsNamespace := string(s.Data[corev1.ServiceAccountNamespaceKey]) != s.Namespace
	if !needsToken && !needsCA && !needsNamespace && uid == string(sa.UID) {
		return reconcile.Result{}, nil
	}
	if s.Data == nil {
		s.Data = map[string][]byte{}
	}
	if needsToken {
		tok, err := c.Signer.IssueLegacy(sa, s)
		if err != nil {
			return reconcile.Result{}, err
		}
		s.Data[corev1.ServiceAccountTokenKey] = []byte(tok)
	}
	if len(c.RootCA) > 0 {
		s.Data[corev1.ServiceAccountRootCAKey] = c.RootCA
	}
	s.Data[corev1.ServiceAccountNamespaceKey] = []byte(s.Namespace)
	s.Annotations[corev1.ServiceAccountUIDKey] = string(sa.UID)
	if err := c.client.Update(ctx, s); err != nil && !apierrors.IsNotFound(err) {
		return reconcile.Result{}, fmt.Errorf("updating secret %s: %w", req.NamespacedName, err)
	}
	return reconcile.Result{}, nil
}
