package daemonset

import (
	"context"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/skiff-dev/skiff/controllers"
)

type queue = workqueue.TypedRateLimitingInterface[reconcile.Request]

// podHandler maps pod events to DaemonSets and records observed creations and deletions in
// the expectations, as upstream's addPod/updatePod/deletePod.
type podHandler struct{ r *Reconciler }

func (h *podHandler) Create(ctx context.Context, e event.TypedCreateEvent[client.Object], q queue) {
	pod, ok := e.Object.(*corev1.Pod)
	if !ok {
		return
	}
	if pod.DeletionTimestamp != nil {
		h.deleted(ctx, pod, q)
		return
	}
	if ref := metav1.GetControllerOf(pod); ref != nil {
		if ds := h.r.resolve(ctx, pod.Namespace, ref); ds != nil {
			h.r.expectations.CreationObserved(ds.String())
			q.Add(reconcile.Request{NamespacedName: *ds})
		}
		return
	}
	h.r.enqueueMatching(ctx, pod.Namespace, pod.Labels, q)
}

func (h *podHandler) Update(ctx context.Context, e event.TypedUpdateEvent[client.Object], q queue) {
	cur, ok1 := e.ObjectNew.(*corev1.Pod)
	old, ok2 := e.ObjectOld.(*corev1.Pod)
	if !ok1 || !ok2 || cur.ResourceVersion == old.ResourceVersion {
		return
	}
	if cur.DeletionTimestamp != nil {
		h.deleted(ctx, cur, q)
		return
	}
	curRef, oldRef := metav1.GetControllerOf(cur), metav1.GetControllerOf(old)
	if !equality.Semantic.DeepEqual(curRef, oldRef) && oldRef != nil {
		if ds := h.r.resolve(ctx, old.Namespace, oldRef); ds != nil {
			q.Add(reconcile.Request{NamespacedName: *ds})
		}
	}
	if curRef != nil {
		if ds := h.r.resolve(ctx, cur.Namespace, curRef); ds != nil {
			q.Add(reconcile.Request{NamespacedName: *ds})
		}
		return
	}
	if !equality.Semantic.DeepEqual(cur.Labels, old.Labels) || !equality.Semantic.DeepEqual(curRef, oldRef) {
		h.r.enqueueMatching(ctx, cur.Namespace, cur.Labels, q)
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
	if ds := h.r.resolve(ctx, pod.Namespace, ref); ds != nil {
		h.r.expectations.DeletionObserved(ds.String(), client.ObjectKeyFromObject(pod).String())
		q.Add(reconcile.Request{NamespacedName: *ds})
	}
}

// nodeHandler resyncs every DaemonSet when a node comes, goes, or changes what decides its
// eligibility (labels, taints, name-bound fields) or readiness.
type nodeHandler struct{ r *Reconciler }

func (h *nodeHandler) Create(ctx context.Context, _ event.TypedCreateEvent[client.Object], q queue) {
	h.r.enqueueAll(ctx, q)
}

func (h *nodeHandler) Update(ctx context.Context, e event.TypedUpdateEvent[client.Object], q queue) {
	cur, ok1 := e.ObjectNew.(*corev1.Node)
	old, ok2 := e.ObjectOld.(*corev1.Node)
	if !ok1 || !ok2 {
		return
	}
	if equality.Semantic.DeepEqual(cur.Labels, old.Labels) && equality.Semantic.DeepEqual(cur.Spec.Taints, old.Spec.Taints) &&
		cur.Spec.Unschedulable == old.Spec.Unschedulable {
		return
	}
	h.r.enqueueAll(ctx, q)
}

func (h *nodeHandler) Delete(ctx context.Context, _ event.TypedDeleteEvent[client.Object], q queue) {
	h.r.enqueueAll(ctx, q)
}

func (h *nodeHandler) Generic(context.Context, event.TypedGenericEvent[client.Object], queue) {}

// revisionHandler resyncs the DaemonSet that controls a changed revision, or those selecting
// an orphan one.
type revisionHandler struct{ r *Reconciler }

func (h *revisionHandler) Create(ctx context.Context, e event.TypedCreateEvent[client.Object], q queue) {
	h.enqueue(ctx, e.Object, q)
}

func (h *revisionHandler) Update(ctx context.Context, e event.TypedUpdateEvent[client.Object], q queue) {
	h.enqueue(ctx, e.ObjectOld, q)
	h.enqueue(ctx, e.ObjectNew, q)
}

func (h *revisionHandler) Delete(ctx context.Context, e event.TypedDeleteEvent[client.Object], q queue) {
	if ref := metav1.GetControllerOf(e.Object); ref != nil {
		if ds := h.r.resolve(ctx, e.Object.GetNamespace(), ref); ds != nil {
			q.Add(reconcile.Request{NamespacedName: *ds})
		}
	}
}

func (h *revisionHandler) Generic(context.Context, event.TypedGenericEvent[client.Object], queue) {}

func (h *revisionHandler) enqueue(ctx context.Context, obj client.Object, q queue) {
	if ref := metav1.GetControllerOf(obj); ref != nil {
		if ds := h.r.resolve(ctx, obj.GetNamespace(), ref); ds != nil {
			q.Add(reconcile.Request{NamespacedName: *ds})
		}
		return
	}
	h.r.enqueueMatching(ctx, obj.GetNamespace(), obj.GetLabels(), q)
}

// resolve returns the DaemonSet a controller reference points to, if it is in the cache with
// the same UID.
func (r *Reconciler) resolve(ctx context.Context, ns string, ref *metav1.OwnerReference) *types.NamespacedName {
	key := controllers.OwnerKey(ns, ref, controllerKind)
	if key == nil {
		return nil
	}
	ds := &appsv1.DaemonSet{}
	if err := r.Client.Get(ctx, *key, ds); err != nil || ds.UID != ref.UID {
		return nil
	}
	return key
}

// enqueueMatching enqueues every DaemonSet of the namespace whose selector matches lbls.
func (r *Reconciler) enqueueMatching(ctx context.Context, ns string, lbls map[string]string, q queue) {
	if len(lbls) == 0 {
		return
	}
	list := &appsv1.DaemonSetList{}
	if err := r.Client.List(ctx, list, client.InNamespace(ns)); err != nil {
		return
	}
	for i := range list.Items {
		sel := selectorOf(&list.Items[i])
		if sel == nil || sel.Empty() || !sel.Matches(labels.Set(lbls)) {
			continue
		}
		q.Add(reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
	}
}

// enqueueAll enqueues every DaemonSet.
func (r *Reconciler) enqueueAll(ctx context.Context, q queue) {
	list := &appsv1.DaemonSetList{}
	if err := r.Client.List(ctx, list); err != nil {
		return
	}
	for i := range list.Items {
		q.Add(reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
	}
}
