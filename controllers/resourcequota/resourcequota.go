package resourcequota

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	quota "k8s.io/apiserver/pkg/quota/v1"
	"k8s.io/apiserver/pkg/quota/v1/generic"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	ctrl "sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/skiff-dev/skiff/apis/helper"
	skiffquota "github.com/skiff-dev/skiff/apis/quota"
	"github.com/skiff-dev/skiff/controllers"
)

// ControllerName is the controller's name (events' source, as upstream's resourcequota-controller).
const ControllerName = "resourcequota-controller"

// DefaultSyncPeriod is kube-controller-manager's --resource-quota-sync-period.
const DefaultSyncPeriod = 5 * time.Minute

// Reconciler syncs one ResourceQuota's status.
type Reconciler struct {
	controllers.Base
	// SyncPeriod is how often every quota is recomputed even without events (default 5m).
	SyncPeriod time.Duration
	mapper     interface {
		KindFor(resource schema.GroupVersionResource) (schema.GroupVersionKind, error)
	}
}

// SetupWithManager registers the controller: quotas themselves, and pods, services, claims,
// configmaps and secrets of their namespaces.
func (r *Reconciler) SetupWithManager(mgr manager.Manager) error {
	opts := r.Complete(mgr, ControllerName)
	if r.SyncPeriod <= 0 {
		r.SyncPeriod = DefaultSyncPeriod
	}
	r.mapper = mgr.GetRESTMapper()
	toQuotas := handler.EnqueueRequestsFromMapFunc(r.quotasOf)
	countChanges := predicate.Funcs{
		UpdateFunc: func(e event.UpdateEvent) bool { return false },
	}
	return builder.ControllerManagedBy(mgr).
		Named("resourcequota").
		For(&corev1.ResourceQuota{}).
		Watches(&corev1.Pod{}, toQuotas, builder.WithPredicates(predicate.Funcs{UpdateFunc: podUsageChanged})).
		Watches(&corev1.Service{}, toQuotas).
		Watches(&corev1.PersistentVolumeClaim{}, toQuotas, builder.WithPredicates(predicate.Funcs{UpdateFunc: claimUsageChanged})).
		Watches(&corev1.ConfigMap{}, toQuotas, builder.WithPredicates(countChanges)).
		Watches(&corev1.Secret{}, toQuotas, builder.WithPredicates(countChanges)).
		WithOptions(opts).
		Complete(r)
}

// podUsageChanged: a pod's charge changes when it becomes terminal or starts terminating.
func podUsageChanged(e event.UpdateEvent) bool {
	o, ok1 := e.ObjectOld.(*corev1.Pod)
	n, ok2 := e.ObjectNew.(*corev1.Pod)
	if !ok1 || !ok2 {
		return true
	}
	return o.Status.Phase != n.Status.Phase || (o.DeletionTimestamp == nil) != (n.DeletionTimestamp == nil)
}

// claimUsageChanged: a claim's charge changes with its request (a resize), its class (set once)
// or its status (allocated storage, attribute classes).
func claimUsageChanged(e event.UpdateEvent) bool {
	o, ok1 := e.ObjectOld.(*corev1.PersistentVolumeClaim)
	n, ok2 := e.ObjectNew.(*corev1.PersistentVolumeClaim)
	if !ok1 || !ok2 {
		return true
	}
	return !o.Spec.Resources.Requests.Storage().Equal(*n.Spec.Resources.Requests.Storage()) ||
		helper.PersistentVolumeClaimClass(o) != helper.PersistentVolumeClaimClass(n) || skiffquota.RequiresQuotaReplenish(n, o)
}

func (r *Reconciler) quotasOf(ctx context.Context, obj ctrl.Object) []reconcile.Request {
	var list corev1.ResourceQuotaList
	if err := r.Client.List(ctx, &list, ctrl.InNamespace(obj.GetNamespace())); err != nil {
		klog.FromContext(ctx).Error(err, "Listing resource quotas", "namespace", obj.GetNamespace())
		return nil
	}
	return controllers.RequestsFor(list.Items)
}

// Reconcile recomputes status.hard and status.used, writing them when they changed.
func (r *Reconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	// From the cache: the controller's role allows list and watch, as upstream's; a stale copy
	// only costs a conflict and a retry.
	var q corev1.ResourceQuota
	if err := r.Client.Get(ctx, req.NamespacedName, &q); err != nil {
		return reconcile.Result{}, ctrl.IgnoreNotFound(err)
	}
	used, err := r.Usage(ctx, &q)
	if err != nil {
		return reconcile.Result{}, err
	}
	hard := quota.Add(corev1.ResourceList{}, q.Spec.Hard)
	if quota.Equals(hard, q.Status.Hard) && quota.Equals(used, q.Status.Used) {
		return reconcile.Result{RequeueAfter: r.SyncPeriod}, nil
	}
	q.Status = corev1.ResourceQuotaStatus{Hard: hard, Used: used}
	if err := r.Client.Status().Update(ctx, &q); err != nil {
		if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
			return reconcile.Result{Requeue: true}, nil
		}
		return reconcile.Result{}, fmt.Errorf("updating status of resource quota %s: %w", req, err)
	}
	klog.FromContext(ctx).V(4).Info("Updated resource quota usage", "quota", req.NamespacedName)
	return reconcile.Result{RequeueAfter: r.SyncPeriod}, nil
}

// Usage measures what the quota's namespace uses of each resource in spec.hard (zero when
// nothing does); resources no evaluator measures keep the previous value.
func (r *Reconciler) Usage(ctx context.Context, q *corev1.ResourceQuota) (corev1.ResourceList, error) {
	listFor := func(gvr schema.GroupVersionResource) generic.ListFuncByNamespace {
		return func(ns string) ([]runtime.Object, error) { return r.list(ctx, gvr, ns) }
	}
	registry := generic.NewRegistry(skiffquota.Evaluators(listFor, r.Clock))
	for name := range q.Spec.Hard {
		s := string(name)
		if !strings.HasPrefix(s, "count/") {
			continue
		}
		gr := schema.ParseGroupResource(strings.TrimPrefix(s, "count/"))
		if registry.Get(gr) != nil {
			continue
		}
		gvk, err := r.mapper.KindFor(gr.WithVersion(""))
		if err != nil {
			// Not served (yet): nothing of it exists to count.
			continue
		}
		registry.Add(generic.NewObjectCountEvaluator(gr, listFor(gvk.GroupVersion().WithResource(gr.Resource)), ""))
	}
	used := corev1.ResourceList{}
	if len(q.Status.Hard) > 0 {
		used = quota.Add(used, q.Status.Used)
	}
	hard := quota.Add(corev1.ResourceList{}, q.Spec.Hard)
	newUsage, err := quota.CalculateUsage(q.Namespace, q.Spec.Scopes, hard, registry, q.Spec.ScopeSelector)
	for k, v := range newUsage {
		used[k] = v
	}
	used = quota.Mask(used, quota.ResourceNames(hard))
	if err != nil {
		return used, fmt.Errorf("calculating usage of resource quota %s/%s: %w", q.Namespace, q.Name, err)
	}
	return used, nil
}

// list reads the namespace's objects of a resource straight from the API server, so usage is
// never computed from a cache behind the charges admission made.
func (r *Reconciler) list(ctx context.Context, gvr schema.GroupVersionResource, ns string) ([]runtime.Object, error) {
	var out []runtime.Object
	switch gvr.GroupResource() {
	case corev1.Resource("pods"):
		var l corev1.PodList
		if err := r.APIReader.List(ctx, &l, ctrl.InNamespace(ns)); err != nil {
			return nil, err
		}
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
		return out, nil
	case corev1.Resource("services"):
		var l corev1.ServiceList
		if err := r.APIReader.List(ctx, &l, ctrl.InNamespace(ns)); err != nil {
			return nil, err
		}
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
		return out, nil
	case corev1.Resource("persistentvolumeclaims"):
		var l corev1.PersistentVolumeClaimList
		if err := r.APIReader.List(ctx, &l, ctrl.InNamespace(ns)); err != nil {
			return nil, err
		}
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
		return out, nil
	}
	gvk, err := r.mapper.KindFor(gvr)
	if err != nil {
		return nil, err
	}
	l := &metav1.PartialObjectMetadataList{}
	l.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
	if err := r.APIReader.List(ctx, l, ctrl.InNamespace(ns)); err != nil {
		if apierrors.IsNotFound(err) || apierrors.IsMethodNotSupported(err) {
			return nil, nil
		}
		return nil, err
	}
	for i := range l.Items {
		out = append(out, &l.Items[i])
	}
	return out, nil
}
