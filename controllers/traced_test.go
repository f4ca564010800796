package controllers_test

import (
	"context"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/skiff-dev/skiff/controllers"
	"github.com/skiff-dev/skiff/controllers/controllertest"
	"github.com/skiff-dev/skiff/insight/trace"
)

// countingHandler counts the events it is given.
type countingHandler struct{ created, updated, deleted, generic int }

type queue = workqueue.TypedRateLimitingInterface[reconcile.Request]

func (h *countingHandler) Create(context.Context, event.TypedCreateEvent[client.Object], queue) {
	h.created++
}
func (h *countingHandler) Update(context.Context, event.TypedUpdateEvent[client.Object], queue) {
	h.updated++
}
func (h *countingHandler) Delete(context.Context, event.TypedDeleteEvent[client.Object], queue) {
	h.deleted++
}
func (h *countingHandler) Generic(context.Context, event.TypedGenericEvent[client.Object], queue) {
	h.generic++
}

var _ handler.EventHandler = &countingHandler{}

func TestTracedWatch(t *testing.T) {
	ctx := context.Background()
	pod := func(rv string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web-1", UID: "pod-uid", ResourceVersion: rv,
			OwnerReferences: []metav1.OwnerReference{{UID: "rs-uid"}}}}
	}
	t.Run("tracing off", func(t *testing.T) {
		next := &countingHandler{}
		h := controllers.TracedWatch("replicaset", "Pod", next)
		h.Create(ctx, event.TypedCreateEvent[client.Object]{Object: pod("1")}, nil)
		if next.created != 1 {
			t.Errorf("the wrapped handler got %d creates, want 1", next.created)
		}
	})
	t.Run("tracing on", func(t *testing.T) {
		store := controllertest.Tracing(t)
		next := &countingHandler{}
		h := controllers.TracedWatch("replicaset", "Pod", next)
		h.Create(ctx, event.TypedCreateEvent[client.Object]{Object: pod("1")}, nil)
		h.Update(ctx, event.TypedUpdateEvent[client.Object]{ObjectOld: pod("1"), ObjectNew: pod("2")}, nil)
		h.Delete(ctx, event.TypedDeleteEvent[client.Object]{Object: pod("3")}, nil)
		h.Generic(ctx, event.TypedGenericEvent[client.Object]{Object: pod("3")}, nil)
		if got := fmt.Sprint(next.created, next.updated, next.deleted, next.generic); got != "1 1 1 1" {
			t.Errorf("the wrapped handler got create, update, delete, generic %s, want 1 1 1 1", got)
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
