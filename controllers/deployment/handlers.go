package deployment

import (
	"context"

	"github.com/skiff-dev/skiff/controllers"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

type queue = workqueue.TypedRateLimitingInterface[reconcile.Request]

// rsHandler enqueues a ReplicaSet's owning Deployment, or for orphans every Deployment whose
// selector matches it (a candidate adopter).
type rsHandler struct{ r *Reconciler }

func (h *rsHandler) Create(ctx context.Context, e event.TypedCreateEvent[client.Object], q queue) {
	h.enqueue(ctx, e.Object, q)
}

func (h *rsHandler) Update(ctx context.Context, e event.TypedUpdateEvent[client.Object], q queue) {
	cur, old := e.ObjectNew, e.ObjectOld
	if cur.GetResourceVersion() == old.GetResourceVersion() {
		return
	}
	curRef, oldRef := metav1.GetControllerOf(cur), metav1.GetControllerOf(old)
	if !equality.Semantic.DeepEqual(curRef, oldRef) && oldRef != nil {
		if k := controllers.OwnerKey(old.GetNamespace(), oldRef, controllerKind); k != nil {
			q.Add(reconcile.Request{NamespacedName: *k})
		}
	}
	if curRef == nil && (!equality.Semantic.DeepEqual(cur.GetLabels(), old.GetLabels()) || oldRef != nil) {
		h.enqueueMatching(ctx, cur, q)
		return
	}
	h.enqueue(ctx, cur, q)
}

func (h *rsHandler) Delete(ctx context.Context, e event.TypedDeleteEvent[client.Object], q queue) {
	if k := controllers.OwnerKey(e.Object.GetNamespace(), metav1.GetControllerOf(e.Object), controllerKind); k != nil {
		q.Add(reconcile.Request{NamespacedName: *k})
	}
}

func (h *rsHandler) Generic(context.Context, event.TypedGenericEvent[client.Object], queue) {}

func (h *rsHandler) enqueue(ctx context.Context, obj client.Object, q queue) {
	if ref := metav1.GetControllerOf(obj); ref != nil {
		if k := controllers.OwnerKey(obj.GetNamespace(), ref, controllerKind); k != nil {
			q.Add(reconcile.Request{NamespacedName: *k})
		}
		return
	}
	h.enqueueMatching(ctx, obj, q)
}

func (h *rsHandler) enqueueMatching(ctx context.Context, obj client.Object, q queue) {
	if len(obj.GetLabels()) == 0 || obj.GetDeletionTimestamp() != nil {
		return
	}
	list := &appsv1.DeploymentList{}
	if err := h.r.Client.List(ctx, list, client.InNamespace(obj.GetNamespace())); err != nil {
		return
	}
	for i := range list.Items {
		sel, err := metav1.LabelSelectorAsSelector(list.Items[i].Spec.Selector)
		if err != nil || sel.Empty() || !sel.Matches(labels.Set(obj.GetLabels())) {
			continue
		}
		q.Add(reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
	}
}

// podHandler enqueues the Deployment of a deleted pod's ReplicaSet: a Recreate rollout waits
// for old pods to be gone.
type podHandler struct{ r *Reconciler }

func (h *podHandler) Create(context.Context, event.TypedCreateEvent[client.Object], queue) {}

func (h *podHandler) Update(ctx context.Context, e event.TypedUpdateEvent[client.Object], q queue) {
	cur, ok1 := e.ObjectNew.(*corev1.Pod)
	old, ok2 := e.ObjectOld.(*corev1.Pod)
	if ok1 && ok2 && cur.Status.Phase != old.Status.Phase &&
		(cur.Status.Phase == corev1.PodSucceeded || cur.Status.Phase == corev1.PodFailed) {
		h.enqueue(ctx, cur, q)
	}
}

func (h *podHandler) Delete(ctx context.Context, e event.TypedDeleteEvent[client.Object], q queue) {
	h.enqueue(ctx, e.Object, q)
}

func (h *podHandler) Generic(context.Context, event.TypedGenericEvent[client.Object], queue) {}

func (h *podHandler) enqueue(ctx context.Context, pod client.Object, q queue) {
	k := controllers.OwnerKey(pod.GetNamespace(), metav1.GetControllerOf(pod), appsv1.SchemeGroupVersion.WithKind("ReplicaSet"))
	if k == nil {
		return
	}
	rs := &appsv1.ReplicaSet{}
	if err := h.r.Client.Get(ctx, *k, rs); err != nil {
		return
	}
	if dk := controllers.OwnerKey(rs.Namespace, metav1.GetControllerOf(rs), controllerKind); dk != nil {
		q.Add(reconcile.Request{NamespacedName: *dk})
	}
}
