package persistentvolume

import (
	"context"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/skiff-dev/skiff/apis/helper"
	"github.com/skiff-dev/skiff/controllers"
)

// Names of upstream's protection controllers.
const (
	PVCProtectionName = "pvc-protection-controller"
	PVProtectionName  = "pv-protection-controller"
)

// Protection runs upstream's pvc-protection and pv-protection controllers: the finalizers that
// admission puts on every claim and volume are removed once a deleted claim is used by no pod,
// and once a deleted volume is no longer bound.
type Protection struct {
	controllers.Base
}

// SetupWithManager registers both controllers with mgr.
func (p *Protection) SetupWithManager(mgr ctrl.Manager) error {
	opts := p.Complete(mgr, PVCProtectionName)
	err := ctrl.NewControllerManagedBy(mgr).Named("pvc-protection").For(&corev1.PersistentVolumeClaim{}).
		Watches(&corev1.Pod{}, handler.EnqueueRequestsFromMapFunc(claimsOfPod)).
		WithOptions(opts).Complete(reconcile.Func(p.reconcileClaim))
	if err != nil {
		return err
	}
	return ctrl.NewControllerManagedBy(mgr).Named("pv-protection").For(&corev1.PersistentVolume{}).
		WithOptions(opts).Complete(reconcile.Func(p.reconcileVolume))
}

// claimsOfPod queues the claims a pod's volumes use.
func claimsOfPod(_ context.Context, o client.Object) []reconcile.Request {
	pod, ok := o.(*corev1.Pod)
	if !ok {
		return nil
	}
	var out []reconcile.Request
	for _, name := range helper.PodClaimNames(pod) {
		out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: pod.Namespace, Name: name}})
	}
	return out
}

// podUsesClaim is upstream's podUsesPVC with its shut-down check: a pod uses a claim it names
// until it has terminated; a pod being deleted that never reached a node no longer does.
func podUsesClaim(pod *corev1.Pod, claim string) bool {
	if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return false
	}
	if pod.DeletionTimestamp != nil && pod.Spec.NodeName == "" {
		return false
	}
	return slices.Contains(helper.PodClaimNames(pod), claim)
}

func (p *Protection) claimInUse(ctx context.Context, r client.Reader, claim *corev1.PersistentVolumeClaim) (bool, error) {
	var pods corev1.PodList
	if err := r.List(ctx, &pods, client.InNamespace(claim.Namespace)); err != nil {
		return false, err
	}
	for i := range pods.Items {
		if podUsesClaim(&pods.Items[i], claim.Name) {
			return true, nil
		}
	}
	return false, nil
}

func (p *Protection) reconcileClaim(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	claim := &corev1.PersistentVolumeClaim{}
	if err := p.Client.Get(ctx, req.NamespacedName, claim); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	if claim.DeletionTimestamp == nil || !slices.Contains(claim.Finalizers, helper.PVCProtectionFinalizer) {
		return reconcile.Result{}, nil
	}
	// The cache first, then a live list (upstream's askAPIServer): a pod created a moment ago
	// must keep the claim.
	for _, r := range []client.Reader{p.Client, p.APIReader} {
		used, err := p.claimInUse(ctx, r, claim)
		if err != nil || used {
			return reconcile.Result{}, err
		}
	}
	return reconcile.Result{}, removeFinalizer(ctx, p.Client, claim, helper.PVCProtectionFinalizer)
}

func (p *Protection) reconcileVolume(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	pv := &corev1.PersistentVolume{}
	if err := p.Client.Get(ctx, req.NamespacedName, pv); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	// Upstream: a volume is in use while it is Bound.
	if pv.DeletionTimestamp == nil || !slices.Contains(pv.Finalizers, helper.PVProtectionFinalizer) || pv.Status.Phase == corev1.VolumeBound {
		return reconcile.Result{}, nil
	}
	return reconcile.Result{}, removeFinalizer(ctx, p.Client, pv, helper.PVProtectionFinalizer)
}

// removeFinalizer removes one finalizer with an update (upstream's roles grant update, not
// patch; the resourceVersion makes it safe against a concurrent change).
func removeFinalizer(ctx context.Context, c client.Client, obj client.Object, finalizer string) error {
	controllerutil.RemoveFinalizer(obj, finalizer)
	if err := c.Update(ctx, obj); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("removing finalizer %s from %s: %w", finalizer, obj.GetName(), err)
	}
	return nil
}
