package serviceaccount

import (
	"bytes"
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
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// Names, as upstream.
const (
	DefaultServiceAccountName = "default"
	RootCAConfigMapName       = "kube-root-ca.crt"
	RootCAKey                 = "ca.crt"
	// DescriptionAnnotation and its text are what upstream's publisher puts on the ConfigMap.
	DescriptionAnnotation = "kubernetes.io/description"
	rootCADescription     = "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters."
)

// Controller keeps the default ServiceAccount and the kube-root-ca.crt ConfigMap in every
// active namespace.
type Controller struct {
	// RootCA is the CA bundle published as ca.crt; empty: the manager's own CA (its kubeconfig's).
	RootCA []byte
	// SkipNameValidation lets several managers run this controller in one process (tests).
	SkipNameValidation bool
	client             client.Client
	reader             client.Reader
}

// SetupWithManager watches namespaces, and the metadata of ServiceAccounts and ConfigMaps
// (only the objects' names matter; their content is read live when reconciling).
func (c *Controller) SetupWithManager(mgr ctrl.Manager) error {
	if len(c.RootCA) == 0 {
		c.RootCA = mgr.GetConfig().CAData
	}
	c.client, c.reader = mgr.GetClient(), mgr.GetAPIReader()
	toNamespace := func(name string) handler.EventHandler {
		return handler.EnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []reconcile.Request {
			if o.GetName() != name {
				return nil
			}
			return []reconcile.Request{{NamespacedName: types.NamespacedName{Name: o.GetNamespace()}}}
		})
	}
	sa := &metav1.PartialObjectMetadata{}
	sa.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("ServiceAccount"))
	cm := &metav1.PartialObjectMetadata{}
	cm.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("ConfigMap"))
	return ctrl.NewControllerManagedBy(mgr).
		Named("serviceaccount").
		For(&corev1.Namespace{}).
		Watches(sa, toNamespace(DefaultServiceAccountName), builder.OnlyMetadata).
		Watches(cm, toNamespace(RootCAConfigMapName), builder.OnlyMetadata).
		WithOptions(controller.Options{MaxConcurrentReconciles: 5, SkipNameValidation: ptr.To(c.SkipNameValidation)}).
		Complete(c)
}

// Reconcile ensures the namespace's default ServiceAccount and root CA ConfigMap.
func (c *Controller) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	ns := &corev1.Namespace{}
	if err := c.client.Get(ctx, types.NamespacedName{Name: req.Name}, ns); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	if ns.DeletionTimestamp != nil || ns.Status.Phase == corev1.NamespaceTerminating {
		return reconcile.Result{}, nil
	}
	if err := c.ensureServiceAccount(ctx, ns.Name); err != nil {
		return reconcile.Result{}, err
	}
	if len(c.RootCA) > 0 {
		if err := c.ensureRootCA(ctx, ns.Name); err != nil {
			return reconcile.Result{}, err
		}
	}
	return reconcile.Result{}, nil
}

func (c *Controller) ensureServiceAccount(ctx context.Context, ns string) error {
	sa := &corev1.ServiceAccount{}
	err := c.reader.Get(ctx, types.NamespacedName{Namespace: ns, Name: DefaultServiceAccountName}, sa)
	if err == nil || !apierrors.IsNotFound(err) {
		return err
	}
	sa = &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: DefaultServiceAccountName}}
	err = c.client.Create(ctx, sa)
	switch {
	case err == nil:
		log.FromContext(ctx).V(2).Info("Created the default service account", "namespace", ns)
		return nil
	case apierrors.IsAlreadyExists(err), isTerminating(err):
		return nil
	}
	return fmt.Errorf("creating service account %s/%s: %w", ns, DefaultServiceAccountName, err)
}

func (c *Controller) ensureRootCA(ctx context.Context, ns string) error {
	cm := &corev1.ConfigMap{}
	err := c.reader.Get(ctx, types.NamespacedName{Namespace: ns, Name: RootCAConfigMapName}, cm)
	if apierrors.IsNotFound(err) {
		cm = &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: RootCAConfigMapName,
				Annotations: map[string]string{DescriptionAnnotation: rootCADescription}},
			Data: map[string]string{RootCAKey: string(c.RootCA)},
		}
		err = c.client.Create(ctx, cm)
		if err == nil || apierrors.IsAlreadyExists(err) || isTerminating(err) {
			return nil
		}
		return fmt.Errorf("creating configmap %s/%s: %w", ns, RootCAConfigMapName, err)
	}
	if err != nil {
		return err
	}
	if len(cm.Data) == 1 && bytes.Equal([]byte(cm.Data[RootCAKey]), c.RootCA) && len(cm.BinaryData) == 0 &&
		cm.Annotations[DescriptionAnnotation] == rootCADescription {
		return nil
	}
	cm.Data = map[string]string{RootCAKey: string(c.RootCA)}
	cm.BinaryData = nil
	if cm.Annotations == nil {
		cm.Annotations = map[string]string{}
	}
	cm.Annotations[DescriptionAnnotation] = rootCADescription
	if err := c.client.Update(ctx, cm); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("updating configmap %s/%s: %w", ns, RootCAConfigMapName, err)
	}
	return nil
}

// isTerminating is the refusal of a create in a namespace being deleted.
func isTerminating(err error) bool {
	return apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause)
}
