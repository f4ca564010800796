package printers

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestPersistentVolumeClaimRows(t *testing.T) {
	fs, class := corev1.PersistentVolumeFilesystem, "fast"
	pending := corev1.PersistentVolumeClaim{
		ObjectMeta: objMeta("data-web-0", time.Hour),
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
			VolumeMode:  &fs, StorageClassName: &class,
		},
		Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimPending},
	}
	bound := *pending.DeepCopy()
	bound.Spec.VolumeName = "pv-1"
	bound.Annotations = map[string]string{corev1.BetaStorageClassAnnotation: "beta"}
	bound.Status = corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimBound,
		AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOncePod, corev1.ReadWriteMany, corev1.ReadWriteOnce},
		Capacity:    corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("2Gi")}}
	terminating := *pending.DeepCopy()
	terminating.DeletionTimestamp = &metav1.Time{Time: time.Now()}
	terminating.Spec.VolumeMode, terminating.Spec.StorageClassName = nil, nil
	tests := []struct {
		name string
		pvc  corev1.PersistentVolumeClaim
		want []any
	}{
		{"pending: no capacity or modes", pending, []any{"data-web-0", "Pending", "", "", "", "fast", "<unset>", "60m", "Filesystem"}},
		{"bound: the status's capacity and modes, the beta class", bound, []any{"data-web-0", "Bound", "pv-1", "2Gi", "RWO,RWX,RWOP", "beta", "<unset>", "60m", "Filesystem"}},
		{"terminating, nothing set", terminating, []any{"data-web-0", "Terminating", "", "", "", "", "<unset>", "60m", "<unset>"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkCells(t, rowCells(t, pvcsGR, &tt.pvc), tt.want)
		})
	}
}

func TestPersistentVolumeRows(t *testing.T) {
	fs := corev1.PersistentVolumeFilesystem
	pv := corev1.PersistentVolume{
		ObjectMeta: objMeta("pv-1", time.Hour),
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("5Gi")},
			AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain, StorageClassName: "local-path", VolumeMode: &fs,
			PersistentVolumeSource: corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/data"}},
		},
		Status: corev1.PersistentVolumeStatus{Phase: corev1.VolumeAvailable},
	}
	bound := *pv.DeepCopy()
	bound.Spec.ClaimRef = &corev1.ObjectReference{Namespace: "ns", Name: "data-web-0"}
	bound.Status = corev1.PersistentVolumeStatus{Phase: corev1.VolumeFailed, Reason: "Recycling failed"}
	bound.DeletionTimestamp = &metav1.Time{Time: time.Now()}
	for _, tt := range []struct {
		name string
		pv   corev1.PersistentVolume
		want []any
	}{
		{"available", pv, []any{"pv-1", "5Gi", "RWO", "Retain", "Available", "", "local-path", "<unset>", "", "60m", "Filesystem"}},
		{"claimed, failed, terminating", bound, []any{"pv-1", "5Gi", "RWO", "Retain", "Terminating", "ns/data-web-0", "local-path", "<unset>", "Recycling failed", "60m", "Filesystem"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			checkCells(t, rowCells(t, core("persistentvolumes"), &tt.pv), tt.want)
		})
	}
}
