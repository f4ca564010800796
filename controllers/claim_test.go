package controllers

import (
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
)

func TestClaimPlan(t *testing.T) {
	parent := &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: "ds", UID: "ds-uid"}}
	other := &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: "other", UID: "other-uid"}}
	kind := appsv1.SchemeGroupVersion.WithKind("DaemonSet")
	pod := func(name string, lbls map[string]string, owner *appsv1.DaemonSet, deleting bool) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: lbls}}
		if owner != nil {
			p.OwnerReferences = []metav1.OwnerReference{*metav1.NewControllerRef(owner, kind)}
		}
		if deleting {
			p.DeletionTimestamp = &metav1.Time{Time: time.Now()}
		}
		return p
	}
	match, nomatch := map[string]string{"app": "ds"}, map[string]string{"app": "x"}
	pods := []*corev1.Pod{
		pod("owned", match, parent, false),
		pod("owned-unselected", nomatch, parent, false),
		pod("orphan", match, nil, false),
		pod("orphan-unselected", nomatch, nil, false),
		pod("others", match, other, false),
		pod("orphan-deleting", match, nil, true),
	}
	names := func(ps []*corev1.Pod) string {
		var n []string
		for _, p := range ps {
			n = append(n, p.Name)
		}
		return strings.Join(n, ",")
	}
	sel := labels.SelectorFromSet(match)
	tests := []struct {
		name                   string
		parentDeleting         bool
		owned, adopt, released string
	}{
		{"live parent", false, "owned", "orphan", "owned-unselected"},
		{"deleting parent neither adopts nor releases", true, "owned", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ClaimPlan(parent.UID, tt.parentDeleting, sel, pods)
			if names(c.Owned) != tt.owned || names(c.Adopt) != tt.adopt || names(c.Release) != tt.released {
				t.Errorf("owned %q adopt %q release %q, want %q %q %q", names(c.Owned), names(c.Adopt), names(c.Release), tt.owned, tt.adopt, tt.released)
			}
		})
	}
}

func TestOwnerPatches(t *testing.T) {
	parent := &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: "ds", UID: "p"}}
	adopt := string(AdoptPatch(parent, appsv1.SchemeGroupVersion.WithKind("DaemonSet"), types.UID("c")))
	if want := `{"metadata":{"ownerReferences":[{"apiVersion":"apps/v1","kind":"DaemonSet","name":"ds","uid":"p","controller":true,"blockOwnerDeletion":true}],"uid":"c"}}`; adopt != want {
		t.Errorf("AdoptPatch = %s\nwant %s", adopt, want)
	}
	if got, want := string(ReleasePatch("p", "c")), `{"metadata":{"ownerReferences":[{"$patch":"delete","uid":"p"}],"uid":"c"}}`; got != want {
		t.Errorf("ReleasePatch = %s, want %s", got, want)
	}
	job := string(AdoptPatch(parent, appsv1.SchemeGroupVersion.WithKind("DaemonSet"), "c", "batch.kubernetes.io/job-tracking"))
	if want := `{"metadata":{"ownerReferences":[{"apiVersion":"apps/v1","kind":"DaemonSet","name":"ds","uid":"p","controller":true,"blockOwnerDeletion":true}],"finalizers":["batch.kubernetes.io/job-tracking"],"uid":"c"}}`; job != want {
		t.Errorf("AdoptPatch with a finalizer = %s\nwant %s", job, want)
	}
	if got, want := string(ReleasePatch("p", "c", "batch.kubernetes.io/job-tracking")), `{"metadata":{"ownerReferences":[{"$patch":"delete","uid":"p"}],"$deleteFromPrimitiveList/finalizers":["batch.kubernetes.io/job-tracking"],"uid":"c"}}`; got != want {
		t.Errorf("ReleasePatch with a finalizer = %s, want %s", got, want)
	}
}
