package pod_test

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/skiff-dev/skiff/apiserver/apiservertest"
)

// A node's view of its pods (fieldSelector spec.nodeName, served by the watch cache's index):
// the list holds only its pods, and its watch sees a pod when it is bound to the node, its
// changes there, and nothing of the pods of other nodes.
func TestPodsByNodeName(t *testing.T) {
	s := apiservertest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pods := s.Client.CoreV1().Pods("default")
	var lastRV string
	create := func(name, node string) {
		t.Helper()
		p, err := pods.Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		lastRV = p.ResourceVersion
	}
	create("on-a", "a")
	create("on-b", "b")
	create("unbound", "")
	selector := fields.OneTermEqualSelector("spec.nodeName", "a").String()
	// From the watch cache, once it holds the last create (resourceVersion "0" may be served
	// before the cache has seen the creates).
	list, err := pods.List(ctx, metav1.ListOptions{FieldSelector: selector, ResourceVersion: lastRV,
		ResourceVersionMatch: metav1.ResourceVersionMatchNotOlderThan})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 1 || list.Items[0].Name != "on-a" {
		t.Fatalf("list of node a's pods from the cache: %d items, want on-a", len(list.Items))
	}
	w, err := pods.Watch(ctx, metav1.ListOptions{FieldSelector: selector, ResourceVersion: list.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	create("later-on-b", "b")
	if err := pods.Bind(ctx, &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: "unbound"},
		Target: corev1.ObjectReference{Kind: "Node", Name: "a"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := pods.Delete(ctx, "on-b", metav1.DeleteOptions{GracePeriodSeconds: new(int64)}); err != nil {
		t.Fatal(err)
	}
	p, err := pods.Get(ctx, "on-a", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p.Labels = map[string]string{"seen": "yes"}
	if _, err := pods.Update(ctx, p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	var got []string
	for len(got) < 2 {
		select {
		case ev := <-w.ResultChan():
			pod, ok := ev.Object.(*corev1.Pod)
			if !ok {
				t.Fatalf("event %s of %T", ev.Type, ev.Object)
			}
			got = append(got, string(ev.Type)+" "+pod.Name)
		case <-ctx.Done():
			t.Fatalf("events %v, want the binding of unbound and the update of on-a", got)
		}
	}
	want := []string{string(watch.Added) + " unbound", string(watch.Modified) + " on-a"}
	if got[0] != want[0] || got[1] != want[1] {
		t.Errorf("events %v, want %v (nothing of node b's pods)", got, want)
	}
}
