package history_test

import (
	"context"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/skiff-dev/skiff/apiserver/apiservertest"
	"github.com/skiff-dev/skiff/controllers"
	"github.com/skiff-dev/skiff/controllers/history"
)

// TestHistoryAgainstAPIServer creates, renames on collision, adopts, releases, renumbers and
// deletes revisions on a real API server.
func TestHistoryAgainstAPIServer(t *testing.T) {
	s := apiservertest.Start(t)
	scheme, err := controllers.NewScheme()
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(s.Config, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "h"}}); err != nil {
		t.Fatal(err)
	}
	kind := appsv1.SchemeGroupVersion.WithKind("DaemonSet")
	ds := &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: "ds", Namespace: "h"},
		Spec: appsv1.DaemonSetSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "ds"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "ds"}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}}}
	if err := c.Create(ctx, ds); err != nil {
		t.Fatal(err)
	}
	h := &history.History{Client: c}
	tmplLabels := map[string]string{"app": "ds"}

	var collisions int32
	first := history.NewControllerRevision(ds, kind, tmplLabels, runtime.RawExtension{Raw: []byte(`{"v":1}`)}, 1, &collisions)
	created, err := h.CreateControllerRevision(ctx, ds, first, &collisions)
	if err != nil || created.Name != first.Name || collisions != 0 {
		t.Fatalf("create: %v, name %s (want %s), collisions %d", err, created.GetName(), first.Name, collisions)
	}
	again, err := h.CreateControllerRevision(ctx, ds, first, &collisions)
	if err != nil || again.UID != created.UID || collisions != 0 {
		t.Fatalf("creating the same data again: %v, uid %s, collisions %d", err, again.GetUID(), collisions)
	}

	// Another revision squatting on the name the next data would get is a collision.
	second := history.NewControllerRevision(ds, kind, tmplLabels, runtime.RawExtension{Raw: []byte(`{"v":2}`)}, 2, &collisions)
	squatter := &appsv1.ControllerRevision{ObjectMeta: metav1.ObjectMeta{Name: second.Name, Namespace: "h"}, Data: runtime.RawExtension{Raw: []byte(`{"other":true}`)}}
	if err := c.Create(ctx, squatter); err != nil {
		t.Fatal(err)
	}
	renamed, err := h.CreateControllerRevision(ctx, ds, second, &collisions)
	if err != nil || collisions != 1 || renamed.Name == second.Name {
		t.Fatalf("create on collision: %v, name %s, collisions %d", err, renamed.GetName(), collisions)
	}

	// An orphan with the template's labels is adopted; an owned revision that lost them released.
	orphan := &appsv1.ControllerRevision{ObjectMeta: metav1.ObjectMeta{Name: "orphan", Namespace: "h", Labels: tmplLabels}, Data: runtime.RawExtension{Raw: []byte(`{"v":0}`)}}
	if err := c.Create(ctx, orphan); err != nil {
		t.Fatal(err)
	}
	strayed := created.DeepCopy()
	strayed.Labels = map[string]string{"app": "elsewhere"}
	if err := c.Update(ctx, strayed); err != nil {
		t.Fatal(err)
	}
	sel := labels.SelectorFromSet(tmplLabels)
	owned, err := h.ClaimControllerRevisions(ctx, ds, kind, sel, func(context.Context) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, r := range owned {
		got[r.Name] = true
	}
	if len(owned) != 2 || !got["orphan"] || !got[renamed.Name] {
		t.Errorf("claimed %v, want orphan and %s", got, renamed.Name)
	}
	fresh := &appsv1.ControllerRevision{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: "h", Name: "orphan"}, fresh); err != nil || !metav1.IsControlledBy(fresh, ds) {
		t.Errorf("orphan not adopted: %v %+v", err, fresh.OwnerReferences)
	}
	if err := c.Get(ctx, client.ObjectKeyFromObject(created), fresh); err != nil || metav1.GetControllerOf(fresh) != nil {
		t.Errorf("unselected revision not released: %v %+v", err, fresh.OwnerReferences)
	}

	updated, err := h.UpdateControllerRevision(ctx, renamed, 5)
	if err != nil || updated == nil || updated.Revision != 5 {
		t.Fatalf("update: %v, %+v", err, updated)
	}
	listed, err := h.ListControllerRevisions(ctx, ds, sel)
	if err != nil || len(listed) != 2 {
		t.Fatalf("list: %v, %d revisions", err, len(listed))
	}
	if err := h.DeleteControllerRevision(ctx, updated); err != nil {
		t.Fatal(err)
	}
	if err := h.DeleteControllerRevision(ctx, updated); err != nil {
		t.Errorf("deleting again: %v", err)
	}
}
