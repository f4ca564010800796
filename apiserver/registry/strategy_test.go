package registry_test

import (
	"context"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"

	"github.com/skiff-dev/skiff/apiserver/registry"
	"github.com/skiff-dev/skiff/apiserver/registry/apps"
	"github.com/skiff-dev/skiff/apiserver/registry/core"
	"github.com/skiff-dev/skiff/apiserver/registry/discovery"
)

func kindFor(resource string) *registry.Kind {
	for _, k := range []*registry.Kind{discovery.EndpointSliceKind, apps.ReplicaSetKind, apps.DaemonSetKind, apps.ControllerRevisionKind, core.ConfigMapKind} {
		if k.Resource == resource {
			return k
		}
	}
	return nil
}

// TestDaemonSetTemplateGeneration pins the deprecated.daemonset.template.generation
// annotation, apps/v1's form of spec.templateGeneration: 1 on create unless given, kept on
// update and status update, one more when the template changes.
func TestDaemonSetTemplateGeneration(t *testing.T) {
	ctx := context.Background()
	const key = "deprecated.daemonset.template.generation"
	ds := func(image string, annotations map[string]string) *appsv1.DaemonSet {
		return &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: "d", Annotations: annotations},
			Spec: appsv1.DaemonSetSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: image}}}}}}
	}
	cases := []struct {
		name    string
		create  map[string]string // annotations given on create
		created string
		status  bool
		update  *appsv1.DaemonSet
		want    string
	}{
		{"create sets 1, template change bumps", nil, "1", false, ds("b", nil), "2"},
		{"given value kept on create; annotation change ignored", map[string]string{key: "7"}, "7", false, ds("a", map[string]string{key: "40"}), "7"},
		{"malformed is 1", map[string]string{key: "x"}, "1", false, ds("a", nil), "1"},
		{"status update keeps", nil, "1", true, ds("b", map[string]string{key: "9"}), "1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			old := ds("a", tc.create)
			registry.NewStrategy(nil, apps.DaemonSetKind, false).PrepareForCreate(ctx, old)
			if got := old.Annotations[key]; got != tc.created {
				t.Fatalf("after create %s = %q, want %q", key, got, tc.created)
			}
			obj := tc.update.DeepCopy()
			registry.NewStrategy(nil, apps.DaemonSetKind, tc.status).PrepareForUpdate(ctx, obj, old)
			if got := obj.Annotations[key]; got != tc.want {
				t.Errorf("after update %s = %q, want %q", key, got, tc.want)
			}
		})
	}
}

// TestGeneration pins upstream's metadata.generation per kind: tracked for pods, workloads and
// EndpointSlices (spec, or content and labels), untracked (0) elsewhere; never bumped by status.
func TestGeneration(t *testing.T) {
	ctx := context.Background()
	slice := func(ready bool, labels map[string]string) runtime.Object {
		return &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Name: "s", Labels: labels}, AddressType: discoveryv1.AddressTypeIPv4,
			Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"10.0.0.1"}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}}}}
	}
	rs := func(replicas int32, annotation string) runtime.Object {
		return &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "r", Annotations: map[string]string{"a": annotation}},
			Spec: appsv1.ReplicaSetSpec{Replicas: ptr.To(replicas)}}
	}
	ds := func(image string, annotation string) runtime.Object {
		return &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: "d", Annotations: map[string]string{"a": annotation}},
			Spec: appsv1.DaemonSetSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: image}}}}}}
	}
	cr := func(revision int64) runtime.Object {
		return &appsv1.ControllerRevision{ObjectMeta: metav1.ObjectMeta{Name: "r"}, Revision: revision}
	}
	cm := func(v string) runtime.Object {
		return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "c"}, Data: map[string]string{"k": v}}
	}
	cases := []struct {
		name     string
		resource string
		status   bool
		old, obj runtime.Object
		created  int64 // generation after create of old
		want     int64 // generation after the update
	}{
		{"slice content change bumps", "endpointslices", false, slice(true, nil), slice(false, nil), 1, 2},
		{"slice label change bumps", "endpointslices", false, slice(true, nil), slice(true, map[string]string{"x": "y"}), 1, 2},
		{"slice no change keeps", "endpointslices", false, slice(true, nil), slice(true, nil), 1, 1},
		{"replicaset spec change bumps", "replicasets", false, rs(1, "x"), rs(2, "x"), 1, 2},
		{"replicaset annotation keeps", "replicasets", false, rs(1, "x"), rs(1, "y"), 1, 1},
		{"replicaset status update keeps", "replicasets", true, rs(1, "x"), rs(5, "x"), 1, 1},
		{"daemonset template change bumps", "daemonsets", false, ds("a", "x"), ds("b", "x"), 1, 2},
		{"daemonset annotation keeps", "daemonsets", false, ds("a", "x"), ds("a", "y"), 1, 1},
		{"daemonset status update keeps", "daemonsets", true, ds("a", "x"), ds("b", "x"), 1, 1},
		{"controllerrevision untracked", "controllerrevisions", false, cr(1), cr(2), 0, 0},
		{"configmap untracked", "configmaps", false, cm("a"), cm("b"), 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			k := kindFor(tc.resource)
			if k == nil {
				t.Fatalf("no kind %s", tc.resource)
			}
			create := registry.NewStrategy(nil, k, false)
			old := tc.old.DeepCopyObject()
			create.PrepareForCreate(ctx, old)
			if got := old.(metav1.Object).GetGeneration(); got != tc.created {
				t.Fatalf("generation after create = %d, want %d", got, tc.created)
			}
			obj := tc.obj.DeepCopyObject()
			registry.NewStrategy(nil, k, tc.status).PrepareForUpdate(ctx, obj, old)
			if got := obj.(metav1.Object).GetGeneration(); got != tc.want {
				t.Errorf("generation after update = %d, want %d", got, tc.want)
			}
		})
	}
}
