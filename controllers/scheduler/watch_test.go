package scheduler

import (
	"context"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	toolscache "k8s.io/client-go/tools/cache"

	"github.com/skiff-dev/skiff/insight/trace"
)

func TestWatchedSpans(t *testing.T) {
	p, err := trace.New(context.Background(), trace.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tr := p.Tracer(trace.ScopeName)
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web-1", UID: "pod-uid", ResourceVersion: "7"}}
	for _, tc := range []struct {
		event string
		obj   any
	}{
		{trace.WatchAdded, pod},
		{trace.WatchDeleted, toolscache.DeletedFinalStateUnknown{Key: "ns/web-1", Obj: pod}},
		{trace.WatchDeleted, toolscache.DeletedFinalStateUnknown{Key: "ns/gone"}}, // no last state: no span
		{trace.WatchModified, "not a pod"},
	} {
		watched(tr, tc.event, tc.obj).End()
	}
	var got []string
	for _, sp := range p.Store.Query([]string{"pod-uid"}, nil) {
		got = append(got, fmt.Sprintf("%s %s<-%s %s %s/%s", sp.Name, sp.Component, sp.Caller, sp.Attributes[trace.AttrWatchEvent],
			sp.Attributes[trace.AttrNamespace], sp.Attributes[trace.AttrName]))
	}
	want := []string{"watch Pod event scheduler<-apiserver ADDED ns/web-1", "watch Pod event scheduler<-apiserver DELETED ns/web-1"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("spans %q, want %q", got, want)
	}
	if n := p.Store.Len(); n != 2 {
		t.Errorf("the store holds %d spans, want 2", n)
	}
}
