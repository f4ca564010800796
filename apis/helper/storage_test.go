package helper

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestDefaultStorageClass(t *testing.T) {
	at := metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	class := func(name string, created metav1.Time, annotation string) *storagev1.StorageClass {
		sc := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: created}}
		if annotation != "" {
			sc.Annotations = map[string]string{annotation: "true"}
		}
		return sc
	}
	later := metav1.NewTime(at.Add(time.Minute))
	for _, tt := range []struct {
		name    string
		classes []*storagev1.StorageClass
		want    string
	}{
		{"none", []*storagev1.StorageClass{class("a", at, "")}, ""},
		{"the beta annotation counts", []*storagev1.StorageClass{class("a", at, ""), class("b", at, AnnBetaDefaultStorageClass)}, "b"},
		{"the newest", []*storagev1.StorageClass{class("new", later, AnnDefaultStorageClass), class("old", at, AnnDefaultStorageClass)}, "new"},
		{"a tie: the first name", []*storagev1.StorageClass{class("z", at, AnnDefaultStorageClass), class("m", at, AnnDefaultStorageClass)}, "m"},
	} {
		got := ""
		if def := DefaultStorageClass(tt.classes); def != nil {
			got = def.Name
		}
		if got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}

	empty := ""
	for _, tt := range []struct {
		pvc  corev1.PersistentVolumeClaim
		want bool
	}{
		{corev1.PersistentVolumeClaim{}, false},
		{corev1.PersistentVolumeClaim{Spec: corev1.PersistentVolumeClaimSpec{StorageClassName: &empty}}, true},
		{corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{AnnBetaStorageClass: ""}}}, true},
	} {
		if got := PersistentVolumeClaimHasClass(&tt.pvc); got != tt.want {
			t.Errorf("PersistentVolumeClaimHasClass(%+v) = %v", tt.pvc, got)
		}
	}
}
