package replicaset

import (
	"context"

	"github.com/skiff-dev/skiff/controllers"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

type queue = workqueue.TypedRateLimitingInterface[reconcile.Request]

// podHandler maps pod events to ReplicaSets and records observed creations and deletions in
// the expectations, as upstream's addPod/updatePod/deletePod.
type podHandler struct{ r *Reconciler }

func (h *podHandler) Create(ctx context.Context, e event.TypedCreateEvent[client.Object], q queue) {
	pod, ok := e.Object.(*corev1.Pod)
	if !ok {
		return
	}
	if pod.DeletionTimestamp != nil {
		// Seen for the first time already being deleted (e.g. after a restart).
		h.deleted(ctx, pod, q)
		return
	}
	if ref := metav1.GetControllerOf(pod); ref != nil {
		if rs := h.resolve(ctx, pod.Namespace, ref); rs != nil {
			h.r.expectations.CreationObserved(rs.String())
			q.Add(reconcile.Request{NamespacedName: *rs})
		}
		return
	}
	h.enqueueMatching(ctx, pod, q)
}

func (h *podHandler) Update(ctx context.Context, e event.TypedUpdateEvent[client.Object], q queue) {
	cur, ok1 := e.ObjectNew.(*corev1.Pod)
	old, ok2 := e.ObjectOld.(*corev1.Pod)
	if !ok1 || !ok2 || cur.ResourceVersion == old.ResourceVersion {
		return
	}
	labelsChanged := !equality.Semantic.DeepEqual(cur.Labels, old.Labels)
	if cur.DeletionTimestamp != nil {
		// Graceful deletion started: that is the deletion the controller waits for.
		h.deleted(ctx, cur, q)
		if labelsChanged {
			h.deleted(ctx, old, q)
		}
		return
	}
	curRef, oldRef := metav1.GetControllerOf(cur), metav1.GetControllerOf(old)
	refChanged := !equality.Semantic.DeepEqual(curRef, oldRef)
	if refChanged && oldRef != nil {
		if rs := h.resolve(ctx, old.Namespace, oldRef); rs != nil {
			q.Add(reconcile.Request{NamespacedName: *rs})
		}
	}
	if curRef != nil {
		if rs := h.resolve(ctx, cur.Namespace, curRef); rs != nil {
			q.Add(reconcile.Request{NamespacedName: *rs})
		}
		return
	}
	if labelsChanged || refChanged {
		h.enqueueMatching(ctx, cur, q)
	}
}

func (h *podHandler) Delete(ctx context.Context, e event.TypedDeleteEvent[client.Object], q queue) {
	if pod, ok := e.Object.(*corev1.Pod); ok {
		h.deleted(ctx, pod, q)
	}
}

func (h *podHandler) Generic(context.Context, event.TypedGenericEvent[client.Object], queue) {}

func (h *podHandler) deleted(ctx context.Context, pod *corev1.Pod, q queue) {
	ref := metav1.GetControllerOf(pod)
	if ref == nil {
		return
	}
	if rs := h.resolve(ctx, pod.Namespace, ref); rs != nil {
		h.r.expectations.DeletionObserved(rs.String(), client.ObjectKeyFromObject(pod).String())
		q.Add(reconcile.Request{NamespacedName: *rs})
	}
}

// resolve returns the ReplicaSet a controller reference points to, if it is in the cache with
// the same UID.
func (h *podHandler) resolve(ctx context.Context, ns string, ref *metav1.OwnerReference) *types.NamespacedName {
	key := controllers.OwnerKey(ns, ref, h.r.Kind.GroupVersionKind)
	if key == nil {
		return nil
	}
	obj := h.r.Kind.New()
	if err := h.r.Client.Get(ctx, *key, obj); err != nil || obj.GetUID() != ref.UID {
		return nil
	}
	return key
}

// enqueueMatching enqueues every ReplicaSet whose selector matches an orphan pod.
func (h *podHandler) enqueueMatching(ctx context.Context, pod *corev1.Pod, q queue) {
	if len(pod.Labels) == 0 {
		return
	}
	list := h.r.Kind.NewList()
	if err := h.r.Client.List(ctx, list, client.InNamespace(pod.Namespace)); err != nil {
		return
	}
	for _, o := range h.r.Kind.Items(list) {
		sel, err := metav1.LabelSelectorAsSelector(h.r.Kind.ToReplicaSet(o).Spec.Selector)
		if err != nil || sel.Empty() || !sel.Matches(labels.Set(pod.Labels)) {
			continue
		}
		q.Add(reconcile.Request{NamespacedName: client.ObjectKeyFromObject(o)})
	}
}
