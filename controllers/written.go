package controllers

import (
	"strconv"
	"sync"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Written remembers the objects a controller last wrote, so that a sync reading its own
// object from a cache that has not yet seen that write uses the written copy instead (as
// client-go's MutationCache). A controller that decides from its object's status (the Job's
// counters of pods whose finalizers it removed) would otherwise act twice on the same pods.
// Resource versions are compared as the integers Skiff's etcd storage issues.
type Written[T client.Object] struct {
	m sync.Map // types.NamespacedName → T
}

// Wrote records obj as returned by the API server after a write.
func (w *Written[T]) Wrote(obj T) {
	w.m.Store(client.ObjectKeyFromObject(obj), obj)
}

// Forget drops the record of key (its object is gone).
func (w *Written[T]) Forget(key types.NamespacedName) {
	w.m.Delete(key)
}

// Newest returns cached, or the copy written last when it is the same object (UID) at a later
// resource version than cached. Records the cache has caught up with are dropped.
func (w *Written[T]) Newest(cached T) T {
	key := client.ObjectKeyFromObject(cached)
	v, ok := w.m.Load(key)
	if !ok {
		return cached
	}
	written := v.(T)
	c, err1 := strconv.ParseUint(cached.GetResourceVersion(), 10, 64)
	n, err2 := strconv.ParseUint(written.GetResourceVersion(), 10, 64)
	if err1 != nil || err2 != nil || written.GetUID() != cached.GetUID() || c >= n {
		w.m.CompareAndDelete(key, v)
		return cached
	}
	return written.DeepCopyObject().(T)
}
