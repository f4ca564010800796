package daemonset

import (
	"context"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
func (r *Reconciler) podHandler() *controllers.PodHandler {
	return &controllers.PodHandler{
		Reader:       r.Client,
		Kind:         controllerKind,
		NewOwner:     func() client.Object { return &appsv1.DaemonSet{} },
		NewOwnerList: func() client.ObjectList { return &appsv1.DaemonSetList{} },
		Selector:     func(o client.Object) *metav1.LabelSelector { return o.(*appsv1.DaemonSet).Spec.Selector },
		Observer:     r.expectations,
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
	return controllers.ResolveOwner(ctx, r.Client, ns, ref, controllerKind, &appsv1.DaemonSet{})
}

// enqueueMatching enqueues every DaemonSet of the namespace whose selector matches lbls.
func (r *Reconciler) enqueueMatching(ctx context.Context, ns string, lbls map[string]string, q queue) {
	selector := func(o client.Object) *metav1.LabelSelector { return o.(*appsv1.DaemonSet).Spec.Selector }
	for _, key := range controllers.Selecting(ctx, r.Client, &appsv1.DaemonSetList{}, selector, ns, lbls) {
		q.Add(reconcile.Request{NamespacedName: key})
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
