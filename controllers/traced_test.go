package controllers_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/skiff-dev/skiff/controllers"
	"github.com/skiff-dev/skiff/controllers/controllertest"
	"github.com/skiff-dev/skiff/insight/trace"
)

// countingHandler counts the events it is given and enqueues the owner of the objects named
// web-*, as a controller's handler does for the pods it owns.
type countingHandler struct{ created, updated, deleted, generic int }

type queue = workqueue.TypedRateLimitingInterface[reconcile.Request]

func (h *countingHandler) enqueue(obj client.Object, q queue) {
	if strings.HasPrefix(obj.GetName(), "web-") {
		q.Add(reconcile.Request{NamespacedName: types.NamespacedName{Namespace: obj.GetNamespace(), Name: "web"}})
	}
}

func (h *countingHandler) Create(_ context.Context, e event.TypedCreateEvent[client.Object], q queue) {
	h.created++
	h.enqueue(e.Object, q)
}
func (h *countingHandler) Update(_ context.Context, e event.TypedUpdateEvent[client.Object], q queue) {
	h.updated++
	h.enqueue(e.ObjectNew, q)
}
func (h *countingHandler) Delete(_ context.Context, e event.TypedDeleteEvent[client.Object], q queue) {
	h.deleted++
	h.enqueue(e.Object, q)
}
func (h *countingHandler) Generic(_ context.Context, e event.TypedGenericEvent[client.Object], q queue) {
	h.generic++
	h.enqueue(e.Object, q)
}

var _ handler.EventHandler = &countingHandler{}

func TestTracedWatch(t *testing.T) {
	ctx := context.Background()
	pod := func(rv string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web-1", UID: "pod-uid", ResourceVersion: rv,
			OwnerReferences: []metav1.OwnerReference{{UID: "rs-uid"}}}}
	}
	other := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "db-1", UID: "other-uid"}}
	newQueue := func(t *testing.T) queue {
		q := workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[reconcile.Request]())
		t.Cleanup(q.ShutDown)
		return q
	}
	t.Run("tracing off", func(t *testing.T) {
		next := &countingHandler{}
		h := controllers.TracedWatch("replicaset", "Pod", next)
		q := newQueue(t)
		h.Create(ctx, event.TypedCreateEvent[client.Object]{Object: pod("1")}, q)
		if next.created != 1 || q.Len() != 1 {
			t.Errorf("the wrapped handler got %d creates and queued %d requests, want 1 and 1", next.created, q.Len())
		}
	})
	t.Run("tracing on", func(t *testing.T) {
		store := controllertest.Tracing(t)
		next := &countingHandler{}
		h := controllers.TracedWatch("replicaset", "Pod", next)
		q := newQueue(t)
		h.Create(ctx, event.TypedCreateEvent[client.Object]{Object: pod("1")}, q)
		h.Update(ctx, event.TypedUpdateEvent[client.Object]{ObjectOld: pod("1"), ObjectNew: pod("2")}, q)
		h.Delete(ctx, event.TypedDeleteEvent[client.Object]{Object: pod("3")}, q)
		h.Generic(ctx, event.TypedGenericEvent[client.Object]{Object: pod("3")}, q)
		// Events the handler enqueues nothing for: not kept.
		h.Create(ctx, event.TypedCreateEvent[client.Object]{Object: other}, q)
		h.Update(ctx, event.TypedUpdateEvent[client.Object]{ObjectOld: other, ObjectNew: other}, q)
		if got := fmt.Sprint(next.created, next.updated, next.deleted, next.generic); got != "2 2 1 1" {
			t.Errorf("the wrapped handler got create, update, delete, generic %s, want 2 2 1 1", got)
		}
		if q.Len() != 1 {
			t.Errorf("%d requests queued, want 1 (web)", q.Len())
		}
		if n := store.Len(); n != 3 {
			t.Errorf("the store holds %d spans, want the 3 watch events that queued work", n)
		}
		var got []string
		for _, sp := range store.Query([]string{"pod-uid"}, nil) {
			got = append(got, fmt.Sprintf("%s %s<-%s %s rv%s owner %s", sp.Name, sp.Component, sp.Caller,
				sp.Attributes[trace.AttrWatchEvent], sp.Attributes[trace.AttrResourceVersion], sp.Attributes[trace.AttrOwnerUIDs]))
		}
		want := []string{
			"watch Pod event controller:replicaset<-apiserver ADDED rv1 owner rs-uid",
			"watch Pod event controller:replicaset<-apiserver MODIFIED rv2 owner rs-uid",
			"watch Pod event controller:replicaset<-apiserver DELETED rv3 owner rs-uid",
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("spans:\n%q\nwant\n%q", got, want)
		}
	})
}

func TestTracedFor(t *testing.T) {
	store := controllertest.Tracing(t)
	p := controllers.TracedPredicate("deployment", "Deployment")
	d := func(rv string) *corev1.Pod { // any object: the predicate reads its metadata
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web", UID: "d-uid", ResourceVersion: rv}}
	}
	if !p.Create(event.CreateEvent{Object: d("1")}) || !p.Update(event.UpdateEvent{ObjectOld: d("1"), ObjectNew: d("1")}) ||
		!p.Update(event.UpdateEvent{ObjectOld: d("1"), ObjectNew: d("2")}) || !p.Delete(event.DeleteEvent{Object: d("3")}) {
		t.Error("TracedFor filtered an event out")
	}
	var got []string
	for _, sp := range store.Query([]string{"d-uid"}, nil) {
		got = append(got, fmt.Sprintf("%s %s<-%s %s rv%s", sp.Name, sp.Component, sp.Caller, sp.Attributes[trace.AttrWatchEvent],
			sp.Attributes[trace.AttrResourceVersion]))
	}
	want := []string{ // not the resync (same resourceVersion)
		"watch Deployment event controller:deployment<-apiserver ADDED rv1",
		"watch Deployment event controller:deployment<-apiserver MODIFIED rv2",
		"watch Deployment event controller:deployment<-apiserver DELETED rv3",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("spans:\n%q\nwant\n%q", got, want)
	}
}
