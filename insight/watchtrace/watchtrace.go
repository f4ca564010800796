package watchtrace

import (
	"context"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/skiff-dev/skiff/insight/trace"
)

// Handler wraps an informer's event handler: each event is a delivery span of w, from its
// arrival to the end of next's handling. The initial list's objects (an informer's start, not a
// write being delivered) and resyncs (an update of the same resourceVersion) are handled and
// not recorded.
func Handler(w *trace.Watch, next cache.ResourceEventHandler) cache.ResourceEventHandler {
	return handler{watch: w, next: next}
}

type handler struct {
	watch *trace.Watch
	next  cache.ResourceEventHandler
}

func (h handler) OnAdd(obj any, initial bool) {
	if initial {
		h.next.OnAdd(obj, initial)
		return
	}
	start := time.Now()
	h.next.OnAdd(obj, initial)
	h.delivered(trace.WatchAdded, obj, start)
}

func (h handler) OnUpdate(old, obj any) {
	o, _ := old.(metav1.Object)
	n, ok := obj.(metav1.Object)
	if !ok || trace.Resync(o, n) {
		h.next.OnUpdate(old, obj)
		return
	}
	start := time.Now()
	h.next.OnUpdate(old, obj)
	h.delivered(trace.WatchModified, obj, start)
}

// OnDelete records a deletion whose last state is unknown (the informer missed it) as the
// object last seen.
func (h handler) OnDelete(obj any) {
	start := time.Now()
	h.next.OnDelete(obj)
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	h.delivered(trace.WatchDeleted, obj, start)
}

func (h handler) delivered(eventType string, obj any, start time.Time) {
	if o, ok := obj.(metav1.Object); ok {
		h.watch.Delivered(context.Background(), eventType, o, start)
	}
}
