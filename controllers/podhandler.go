package controllers

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

type queue = workqueue.TypedRateLimitingInterface[reconcile.Request]

// PodObserver is told of the pod creations and deletions a controller waits for (its
// expectations).
type PodObserver interface {
	CreationObserved(key string)
	DeletionObserved(key, podKey string)
}

// PodHandler maps pod events to the controller objects (of Kind) that own or select the pods,
// and reports creations and deletions to Observer, as upstream's addPod/updatePod/deletePod of
// the ReplicaSet and DaemonSet controllers.
type PodHandler struct {
	// Reader reads the owners from the cache.
	Reader client.Reader
	Kind   schema.GroupVersionKind
	// NewOwner and NewOwnerList make an empty owner and list of owners.
	NewOwner     func() client.Object
	NewOwnerList func() client.ObjectList
	// Selector returns an owner's pod selector.
	Selector func(owner client.Object) *metav1.LabelSelector
	Observer PodObserver
	// Gone, when set, is told of each pod of an owner that is being deleted or was removed.
	Gone func(owner, pod types.UID)
}

var _ handler.TypedEventHandler[client.Object, reconcile.Request] = &PodHandler{}

func (h *PodHandler) Create(ctx context.Context, e event.TypedCreateEvent[client.Object], q queue) {
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
		if key := h.owner(ctx, pod.Namespace, ref); key != nil {
			h.Observer.CreationObserved(key.String())
			q.Add(reconcile.Request{NamespacedName: *key})
		}
		return
	}
	h.enqueueSelecting(ctx, pod, q)
}

func (h *PodHandler) Update(ctx context.Context, e event.TypedUpdateEvent[client.Object], q queue) {
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
		if key := h.owner(ctx, old.Namespace, oldRef); key != nil {
			q.Add(reconcile.Request{NamespacedName: *key})
		}
	}
	if curRef != nil {
		if key := h.owner(ctx, cur.Namespace, curRef); key != nil {
			q.Add(reconcile.Request{NamespacedName: *key})
		}
		return
	}
	if labelsChanged || refChanged {
		h.enqueueSelecting(ctx, cur, q)
	}
}

func (h *PodHandler) Delete(ctx context.Context, e event.TypedDeleteEvent[client.Object], q queue) {
	if pod, ok := e.Object.(*corev1.Pod); ok {
		h.deleted(ctx, pod, q)
	}
}

func (h *PodHandler) Generic(context.Context, event.TypedGenericEvent[client.Object], queue) {}

func (h *PodHandler) deleted(ctx context.Context, pod *corev1.Pod, q queue) {
	ref := metav1.GetControllerOf(pod)
	if ref == nil {
		return
	}
	if key := h.owner(ctx, pod.Namespace, ref); key != nil {
		if h.Gone != nil {
			h.Gone(ref.UID, pod.UID)
		}
		h.Observer.DeletionObserved(key.String(), client.ObjectKeyFromObject(pod).String())
		q.Add(reconcile.Request{NamespacedName: *key})
	}
}

// owner returns the key of the owner a controller reference points to, if it is of Kind and in
// the cache with the same UID.
func (h *PodHandler) owner(ctx context.Context, ns string, ref *metav1.OwnerReference) *types.NamespacedName {
	return ResolveOwner(ctx, h.Reader, ns, ref, h.Kind, h.NewOwner())
}

// enqueueSelecting enqueues every owner whose selector matches an orphan pod.
func (h *PodHandler) enqueueSelecting(ctx context.Context, pod *corev1.Pod, q queue) {
	for _, key := range Selecting(ctx, h.Reader, h.NewOwnerList(), h.Selector, pod.Namespace, pod.Labels) {
		q.Add(reconcile.Request{NamespacedName: key})
	}
}

// ResolveOwner returns the key of the object a controller reference in ns points to, when it
// is of kind and the cache holds it (read into into) with the reference's UID; nil otherwise.
func ResolveOwner(ctx context.Context, r client.Reader, ns string, ref *metav1.OwnerReference, kind schema.GroupVersionKind, into client.Object) *types.NamespacedName {
	key := OwnerKey(ns, ref, kind)
	if key == nil {
		return nil
	}
	if err := r.Get(ctx, *key, into); err != nil || into.GetUID() != ref.UID {
		return nil
	}
	return key
}

// Selecting lists the objects of list's type in ns and returns the keys of those whose
// (non-empty, valid) selector matches lbls.
func Selecting(ctx context.Context, r client.Reader, list client.ObjectList, selector func(client.Object) *metav1.LabelSelector, ns string, lbls map[string]string) []types.NamespacedName {
	if len(lbls) == 0 {
		return nil
	}
	if err := r.List(ctx, list, client.InNamespace(ns)); err != nil {
		return nil
	}
	items, err := meta.ExtractList(list)
	if err != nil {
		return nil
	}
	var keys []types.NamespacedName
	for _, item := range items {
		obj, ok := item.(client.Object)
		if !ok {
			continue
		}
		sel, err := metav1.LabelSelectorAsSelector(selector(obj))
		if err != nil || sel.Empty() || !sel.Matches(labels.Set(lbls)) {
			continue
		}
		keys = append(keys, client.ObjectKeyFromObject(obj))
	}
	return keys
}
