package localpath

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/skiff-dev/skiff/apis/helper"
)

func testClaim(mut ...func(*corev1.PersistentVolumeClaim)) *corev1.PersistentVolumeClaim {
	c := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "data", UID: "u1", ResourceVersion: "7",
			Annotations: map[string]string{helper.AnnStorageProvisioner: helper.LocalPathProvisioner, helper.AnnSelectedNode: "n1"}},
		Spec: corev1.PersistentVolumeClaimSpec{
			StorageClassName: ptr.To(helper.LocalPathClass),
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
		},
	}
	for _, m := range mut {
		m(c)
	}
	return c
}

func testClass(mut ...func(*storagev1.StorageClass)) *storagev1.StorageClass {
	c := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: helper.LocalPathClass}, Provisioner: helper.LocalPathProvisioner}
	for _, m := range mut {
		m(c)
	}
	return c
}

func TestWantsClaim(t *testing.T) {
	now := metav1.Now()
	for _, tc := range []struct {
		name  string
		claim *corev1.PersistentVolumeClaim
		want  bool
	}{
		{"selected here", testClaim(), true},
		{"beta provisioner annotation", testClaim(func(c *corev1.PersistentVolumeClaim) {
			delete(c.Annotations, helper.AnnStorageProvisioner)
			c.Annotations[helper.AnnBetaStorageProvisioner] = helper.LocalPathProvisioner
		}), true},
		{"another node", testClaim(func(c *corev1.PersistentVolumeClaim) { c.Annotations[helper.AnnSelectedNode] = "n2" }), false},
		{"no node selected", testClaim(func(c *corev1.PersistentVolumeClaim) { delete(c.Annotations, helper.AnnSelectedNode) }), false},
		{"another provisioner", testClaim(func(c *corev1.PersistentVolumeClaim) { c.Annotations[helper.AnnStorageProvisioner] = "x.io/y" }), false},
		{"no provisioner", testClaim(func(c *corev1.PersistentVolumeClaim) { delete(c.Annotations, helper.AnnStorageProvisioner) }), false},
		{"bound", testClaim(func(c *corev1.PersistentVolumeClaim) { c.Spec.VolumeName = "pv1" }), false},
		{"being deleted", testClaim(func(c *corev1.PersistentVolumeClaim) { c.DeletionTimestamp = &now }), false},
	} {
		if got := WantsClaim(tc.claim, "n1"); got != tc.want {
			t.Errorf("%s: WantsClaim = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestPlanVolume(t *testing.T) {
	fs := corev1.PersistentVolumeFilesystem
	want := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: "pvc-u1",
			Annotations: map[string]string{helper.AnnDynamicallyProvisioned: helper.LocalPathProvisioner},
			Finalizers:  []string{helper.ProvisionerDeletionFinalizer}},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
			AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			VolumeMode:                    &fs,
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimDelete,
			StorageClassName:              helper.LocalPathClass,
			ClaimRef:                      &corev1.ObjectReference{Kind: "PersistentVolumeClaim", APIVersion: "v1", Namespace: "ns", Name: "data", UID: "u1", ResourceVersion: "7"},
			PersistentVolumeSource:        corev1.PersistentVolumeSource{Local: &corev1.LocalVolumeSource{Path: "/var/skiff/storage/pvc-u1"}},
			NodeAffinity: &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
				MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "kubernetes.io/hostname", Operator: corev1.NodeSelectorOpIn, Values: []string{"host-1"}}},
			}}}},
		},
	}
	got, err := PlanVolume(testClaim(), testClass(), "/var/skiff/storage", "host-1")
	if err != nil {
		t.Fatal(err)
	}
	if !equality.Semantic.DeepEqual(got, want) {
		t.Errorf("PlanVolume =\n%+v\nwant\n%+v", got, want)
	}

	// The class's reclaim policy and mount options; ReadWriteOncePod.
	got, err = PlanVolume(testClaim(func(c *corev1.PersistentVolumeClaim) {
		c.Spec.AccessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOncePod}
	}), testClass(func(c *storagev1.StorageClass) {
		c.ReclaimPolicy = ptr.To(corev1.PersistentVolumeReclaimRetain)
		c.MountOptions = []string{"noatime"}
	}), "/r", "h")
	if err != nil {
		t.Fatal(err)
	}
	if got.Spec.PersistentVolumeReclaimPolicy != corev1.PersistentVolumeReclaimRetain || len(got.Spec.MountOptions) != 1 ||
		got.Spec.AccessModes[0] != corev1.ReadWriteOncePod {
		t.Errorf("class fields not carried: %+v", got.Spec)
	}

	for _, tc := range []struct {
		name  string
		claim *corev1.PersistentVolumeClaim
		class *storagev1.StorageClass
		err   string
	}{
		{"ReadWriteMany", testClaim(func(c *corev1.PersistentVolumeClaim) {
			c.Spec.AccessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce, corev1.ReadWriteMany}
		}), testClass(), "only supports ReadWriteOnce and ReadWriteOncePod access modes, not ReadWriteMany"},
		{"ReadOnlyMany", testClaim(func(c *corev1.PersistentVolumeClaim) {
			c.Spec.AccessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadOnlyMany}
		}), testClass(), "not ReadOnlyMany"},
		{"block", testClaim(func(c *corev1.PersistentVolumeClaim) {
			c.Spec.VolumeMode = ptr.To(corev1.PersistentVolumeBlock)
		}), testClass(), "skiff.dev/local-path does not support block volume provisioning"},
		{"selector", testClaim(func(c *corev1.PersistentVolumeClaim) { c.Spec.Selector = &metav1.LabelSelector{} }), testClass(), "Selector is not supported"},
		{"data source", testClaim(func(c *corev1.PersistentVolumeClaim) {
			c.Spec.DataSource = &corev1.TypedLocalObjectReference{Kind: "PersistentVolumeClaim", Name: "x"}
		}), testClass(), "does not support volume data sources"},
		{"no size", testClaim(func(c *corev1.PersistentVolumeClaim) { c.Spec.Resources.Requests = nil }), testClass(), "no storage request"},
		{"other provisioner", testClaim(), testClass(func(c *storagev1.StorageClass) { c.Provisioner = "x.io/y" }), `provisioner "x.io/y"`},
	} {
		pv, err := PlanVolume(tc.claim, tc.class, "/r", "h")
		if err == nil || !strings.Contains(err.Error(), tc.err) || pv != nil {
			t.Errorf("%s: PlanVolume = %v, %v; want error containing %q", tc.name, pv, err, tc.err)
		}
	}
}

func TestHostname(t *testing.T) {
	if got := Hostname(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{corev1.LabelHostname: "h"}}}, "n"); got != "h" {
		t.Errorf("Hostname with label = %q", got)
	}
	if got := Hostname(&corev1.Node{}, "n"); got != "n" {
		t.Errorf("Hostname without label = %q", got)
	}
	if got := Hostname(nil, "n"); got != "n" {
		t.Errorf("Hostname of no node = %q", got)
	}
}

func testVolume(mut ...func(*corev1.PersistentVolume)) *corev1.PersistentVolume {
	pv, err := PlanVolume(testClaim(), testClass(), "/root", "n1")
	if err != nil {
		panic(err)
	}
	pv.Status.Phase = corev1.VolumeReleased
	for _, m := range mut {
		m(pv)
	}
	return pv
}

func TestDecideVolume(t *testing.T) {
	now := metav1.Now()
	for _, tc := range []struct {
		name string
		pv   *corev1.PersistentVolume
		want VolumeAction
	}{
		{"released, Delete", testVolume(), VolumeDelete},
		{"released, already being deleted", testVolume(func(pv *corev1.PersistentVolume) { pv.DeletionTimestamp = &now }), VolumeDelete},
		{"being deleted, finalizer gone", testVolume(func(pv *corev1.PersistentVolume) {
			pv.DeletionTimestamp = &now
			pv.Finalizers = []string{helper.PVProtectionFinalizer}
		}), VolumeKeep},
		{"bound", testVolume(func(pv *corev1.PersistentVolume) { pv.Status.Phase = corev1.VolumeBound }), VolumeKeep},
		{"bound and being deleted", testVolume(func(pv *corev1.PersistentVolume) {
			pv.Status.Phase = corev1.VolumeBound
			pv.DeletionTimestamp = &now
		}), VolumeKeep},
		{"released, Retain", testVolume(func(pv *corev1.PersistentVolume) {
			pv.Spec.PersistentVolumeReclaimPolicy = corev1.PersistentVolumeReclaimRetain
		}), VolumeRelease},
		{"Retain without finalizer", testVolume(func(pv *corev1.PersistentVolume) {
			pv.Spec.PersistentVolumeReclaimPolicy = corev1.PersistentVolumeReclaimRetain
			pv.Finalizers = nil
		}), VolumeKeep},
		{"another node", testVolume(func(pv *corev1.PersistentVolume) {
			pv.Spec.NodeAffinity.Required.NodeSelectorTerms[0].MatchExpressions[0].Values = []string{"n2"}
		}), VolumeKeep},
		{"no node affinity", testVolume(func(pv *corev1.PersistentVolume) { pv.Spec.NodeAffinity = nil }), VolumeKeep},
		{"another provisioner", testVolume(func(pv *corev1.PersistentVolume) {
			pv.Annotations[helper.AnnDynamicallyProvisioned] = "x.io/y"
		}), VolumeKeep},
		{"static", testVolume(func(pv *corev1.PersistentVolume) { pv.Annotations = nil }), VolumeKeep},
	} {
		if got := DecideVolume(tc.pv, "n1"); got != tc.want {
			t.Errorf("%s: DecideVolume = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestVolumeDir(t *testing.T) {
	for _, tc := range []struct {
		path string
		ok   bool
	}{
		{"/root/pvc-u1", true},
		{"/root/", false},
		{"/root", false},
		{"/", false},
		{"/root/a/b", false},
		{"/root/../etc", false},
		{"/root/./x", false},
		{"/other/pvc-u1", false},
		{"root/pvc-u1", false},
		{"/rootx/pvc-u1", false},
	} {
		pv := testVolume(func(pv *corev1.PersistentVolume) { pv.Spec.Local.Path = tc.path })
		dir, err := VolumeDir(pv, "/root")
		if (err == nil) != tc.ok || tc.ok && dir != tc.path {
			t.Errorf("VolumeDir(%q) = %q, %v; want ok %v", tc.path, dir, err, tc.ok)
		}
	}
	pv := testVolume(func(pv *corev1.PersistentVolume) {
		pv.Spec.Local = nil
		pv.Spec.HostPath = &corev1.HostPathVolumeSource{Path: "/root/x"}
	})
	if _, err := VolumeDir(pv, "/root"); err == nil {
		t.Error("VolumeDir of a hostPath volume: no error")
	}
}
