package controllers

import (
	"context"
	"fmt"
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// PodControllerIndex indexes the pods of a manager's cache by the UID of their controller, and
// orphans (no controller reference) by OrphanPods, as upstream's PodControllerUIDIndex: a
// controller then reads only its own pods and the orphans it may adopt, instead of every pod of
// the namespace (1,000 pods a namespace in issue 17's scale run, each copied on every sync).
const PodControllerIndex = "skiff.dev/pod-controller-uid"

// OrphanPods is the PodControllerIndex value of pods without a controller reference.
const OrphanPods = "<orphan>"

// podControllerKey is a pod's PodControllerIndex value.
func podControllerKey(o client.Object) []string {
	if ref := metav1.GetControllerOfNoCopy(o); ref != nil {
		return []string{string(ref.UID)}
	}
	return []string{OrphanPods}
}

var (
	podIndexMu sync.Mutex
	podIndexed = map[client.FieldIndexer]bool{}
)

// indexesOnce is a field indexer that adds each index once however often it is asked (a
// leader-election term's view of a SharedCache): it needs no entry in podIndexed, where each
// term would leave one behind.
type indexesOnce interface{ indexesOnce() }

// IndexPodsByController adds PodControllerIndex to the pods of the cache behind indexer, once
// however many controllers (ReplicaSets, ReplicationControllers) ask.
func IndexPodsByController(ctx context.Context, indexer client.FieldIndexer) error {
	index := func() error {
		if err := indexer.IndexField(ctx, &corev1.Pod{}, PodControllerIndex, podControllerKey); err != nil {
			return fmt.Errorf("indexing pods by controller: %w", err)
		}
		return nil
	}
	if _, ok := indexer.(indexesOnce); ok {
		return index()
	}
	podIndexMu.Lock()
	defer podIndexMu.Unlock()
	if podIndexed[indexer] {
		return nil
	}
	if err := index(); err != nil {
		return err
	}
	podIndexed[indexer] = true
	return nil
}

// PodsControlledBy lists the pods in ns whose controller has uid, from a cache indexed by
// IndexPodsByController (uid OrphanPods: the pods without a controller). The pods are the
// cache's own objects, not copies: read them, never change them (copy first).
func PodsControlledBy(ctx context.Context, r client.Reader, ns string, uid types.UID) ([]*corev1.Pod, error) {
	list := &corev1.PodList{}
	if err := r.List(ctx, list, client.InNamespace(ns), client.MatchingFields{PodControllerIndex: string(uid)},
		client.UnsafeDisableDeepCopy); err != nil {
		return nil, fmt.Errorf("listing pods controlled by %s: %w", uid, err)
	}
	pods := make([]*corev1.Pod, len(list.Items))
	for i := range list.Items {
		pods[i] = &list.Items[i]
	}
	return pods, nil
}
