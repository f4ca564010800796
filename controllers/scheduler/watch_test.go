package scheduler

import (
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"

	"github.com/skiff-dev/skiff/controllers/controllertest"
	"github.com/skiff-dev/skiff/insight/trace"
	"github.com/skiff-dev/skiff/insight/watchtrace"
)

func TestWatchedSpans(t *testing.T) {
	store := controllertest.Tracing(t)
	s := &Scheduler{cfg: Config{SchedulerName: DefaultSchedulerName}}
	var handled int
	h := watchtrace.Handler(s.podWatch(), toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { handled++ },
		UpdateFunc: func(any, any) { handled++ },
		DeleteFunc: func(any) { handled++ },
	})
	pod := func(uid, rv, scheduler, node string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web-" + uid, UID: types.UID("pod-" + uid), ResourceVersion: rv},
			Spec: corev1.PodSpec{SchedulerName: scheduler, NodeName: node}}
	}
	h.OnAdd(pod("1", "7", "", ""), true)                           // the initial list: not a delivery
	h.OnAdd(pod("1", "8", "", ""), false)                          // kept
	h.OnUpdate(pod("1", "8", "", ""), pod("1", "8", "", ""))       // a resync: not a delivery
	h.OnUpdate(pod("1", "8", "", ""), pod("1", "9", "", "node-1")) // kept
	h.OnDelete(toolscache.DeletedFinalStateUnknown{Key: "ns/web-1", Obj: pod("1", "10", "", "node-1")})
	h.OnDelete(toolscache.DeletedFinalStateUnknown{Key: "ns/gone"}) // no last state: no span
	h.OnAdd(pod("2", "11", "other", ""), false)                     // another scheduler's unbound pod
	h.OnAdd(pod("3", "12", "other", "node-1"), false)               // bound: in the scheduler's cache
	if handled != 8 {
		t.Errorf("the scheduler's handler got %d events, want all 8", handled)
	}
	var got []string
	for _, sp := range store.Query([]string{"pod-1", "pod-2", "pod-3"}, nil) {
		got = append(got, fmt.Sprintf("%s %s<-%s %s %s rv%s", sp.Name, sp.Component, sp.Caller, sp.Attributes[trace.AttrWatchEvent],
			sp.Attributes[trace.AttrName], sp.Attributes[trace.AttrResourceVersion]))
	}
	want := []string{
		"watch Pod event scheduler<-apiserver ADDED web-1 rv8",
		"watch Pod event scheduler<-apiserver MODIFIED web-1 rv9",
		"watch Pod event scheduler<-apiserver DELETED web-1 rv10",
		"watch Pod event scheduler<-apiserver ADDED web-3 rv12",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("spans\n%q\nwant\n%q", got, want)
	}
}
