package admission

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/skiff-dev/skiff/apis/helper"
)

func storageClass(name string, age time.Duration, isDefault bool, expand *bool) *storagev1.StorageClass {
	sc := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: metav1.NewTime(time.Now().Add(-age))},
		Provisioner: helper.LocalPathProvisioner, AllowVolumeExpansion: expand}
	if isDefault {
		sc.Annotations = map[string]string{helper.AnnDefaultStorageClass: "true"}
	}
	return sc
}

// classInformers returns an informer factory whose StorageClass informer holds classes, and a
// fake client that knows them too.
func classInformers(t *testing.T, classes ...*storagev1.StorageClass) (informers.SharedInformerFactory, *fake.Clientset) {
	var objs []runtime.Object
	for _, sc := range classes {
		objs = append(objs, sc)
	}
	client := fake.NewClientset(objs...)
	factory := informers.NewSharedInformerFactory(client, 0)
	inf := factory.Storage().V1().StorageClasses().Informer()
	for _, sc := range classes {
		if err := inf.GetIndexer().Add(sc); err != nil {
			t.Fatal(err)
		}
	}
	return factory, client
}

func claimAttrs(pvc, old *corev1.PersistentVolumeClaim, op admission.Operation) admission.Attributes {
	var oldObj runtime.Object
	if old != nil {
		oldObj = old
	}
	return admission.NewAttributesRecord(pvc, oldObj, corev1.SchemeGroupVersion.WithKind("PersistentVolumeClaim"), "default", pvc.Name,
		corev1.SchemeGroupVersion.WithResource("persistentvolumeclaims"), "", op, nil, false, nil)
}

func TestDefaultStorageClass(t *testing.T) {
	empty := ""
	for _, tc := range []struct {
		name    string
		classes []*storagev1.StorageClass
		claim   corev1.PersistentVolumeClaim
		want    *string
	}{
		{"no default class", []*storagev1.StorageClass{storageClass("a", time.Hour, false, nil)}, corev1.PersistentVolumeClaim{}, nil},
		{"the default class", []*storagev1.StorageClass{storageClass("a", time.Hour, false, nil), storageClass("local-path", time.Hour, true, nil)},
			corev1.PersistentVolumeClaim{}, ptrTo("local-path")},
		{"the newest default", []*storagev1.StorageClass{storageClass("old", 2*time.Hour, true, nil), storageClass("new", time.Hour, true, nil)},
			corev1.PersistentVolumeClaim{}, ptrTo("new")},
		{"an explicit empty class is kept", []*storagev1.StorageClass{storageClass("local-path", time.Hour, true, nil)},
			corev1.PersistentVolumeClaim{Spec: corev1.PersistentVolumeClaimSpec{StorageClassName: &empty}}, &empty},
		{"the beta annotation counts as a class", []*storagev1.StorageClass{storageClass("local-path", time.Hour, true, nil)},
			corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{helper.AnnBetaStorageClass: "x"}}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			factory, client := classInformers(t, tc.classes...)
			p := NewDefaultStorageClass(factory, client)
			p.SetReadyFunc(nil)
			pvc := tc.claim.DeepCopy()
			if err := p.Admit(context.Background(), claimAttrs(pvc, nil, admission.Create), nil); err != nil {
				t.Fatal(err)
			}
			if got := pvc.Spec.StorageClassName; (got == nil) != (tc.want == nil) || (got != nil && *got != *tc.want) {
				t.Errorf("storageClassName = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestStorageObjectInUseProtection(t *testing.T) {
	p := NewStorageObjectInUseProtection()
	pvc := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "data", Finalizers: []string{"example.com/keep"}}}
	if err := p.Admit(context.Background(), claimAttrs(pvc, nil, admission.Create), nil); err != nil {
		t.Fatal(err)
	}
	if err := p.Admit(context.Background(), claimAttrs(pvc, nil, admission.Create), nil); err != nil {
		t.Fatal(err)
	}
	if want := []string{"example.com/keep", helper.PVCProtectionFinalizer}; strings.Join(pvc.Finalizers, ",") != strings.Join(want, ",") {
		t.Errorf("claim finalizers = %v, want %v", pvc.Finalizers, want)
	}
	pv := &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "pv-1"}}
	attrs := admission.NewAttributesRecord(pv, nil, corev1.SchemeGroupVersion.WithKind("PersistentVolume"), "", pv.Name,
		corev1.SchemeGroupVersion.WithResource("persistentvolumes"), "", admission.Create, nil, false, nil)
	if err := p.Admit(context.Background(), attrs, nil); err != nil {
		t.Fatal(err)
	}
	if len(pv.Finalizers) != 1 || pv.Finalizers[0] != helper.PVProtectionFinalizer {
		t.Errorf("volume finalizers = %v", pv.Finalizers)
	}
}

func TestPersistentVolumeClaimResize(t *testing.T) {
	claim := func(class, size string, phase corev1.PersistentVolumeClaimPhase) *corev1.PersistentVolumeClaim {
		return &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "data"},
			Spec: corev1.PersistentVolumeClaimSpec{StorageClassName: &class,
				Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)}}},
			Status: corev1.PersistentVolumeClaimStatus{Phase: phase}}
	}
	factory, client := classInformers(t, storageClass("expandable", time.Hour, false, ptrTo(true)), storageClass("fixed", time.Hour, false, nil))
	p := NewPersistentVolumeClaimResize(factory, client)
	p.SetReadyFunc(nil)
	const refused = "only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize"
	for _, tc := range []struct {
		name     string
		pvc, old *corev1.PersistentVolumeClaim
		err      string
	}{
		{"grow with expansion", claim("expandable", "2Gi", corev1.ClaimBound), claim("expandable", "1Gi", corev1.ClaimBound), ""},
		{"grow without expansion", claim("fixed", "2Gi", corev1.ClaimBound), claim("fixed", "1Gi", corev1.ClaimBound), refused},
		{"grow in an unknown class", claim("gone", "2Gi", corev1.ClaimBound), claim("gone", "1Gi", corev1.ClaimBound), refused},
		{"grow while pending", claim("expandable", "2Gi", corev1.ClaimPending), claim("expandable", "1Gi", corev1.ClaimPending),
			"Only bound persistent volume claims can be expanded"},
		{"same size", claim("fixed", "1Gi", corev1.ClaimBound), claim("fixed", "1Gi", corev1.ClaimBound), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := p.Validate(context.Background(), claimAttrs(tc.pvc, tc.old, admission.Update), nil)
			if tc.err == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), "is forbidden") {
				t.Errorf("error = %v, want forbidden: %q", err, tc.err)
			}
		})
	}
}

func ptrTo[T any](v T) *T { return &v }
