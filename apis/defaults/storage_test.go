package defaults

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
)

func TestStorageDefaults(t *testing.T) {
	retain, wait := corev1.PersistentVolumeReclaimRetain, storagev1.VolumeBindingWaitForFirstConsumer
	for _, tt := range []struct {
		name     string
		obj, out *storagev1.StorageClass
	}{
		{"empty", &storagev1.StorageClass{},
			&storagev1.StorageClass{ReclaimPolicy: ptrTo(corev1.PersistentVolumeReclaimDelete), VolumeBindingMode: ptrTo(storagev1.VolumeBindingImmediate)}},
		{"set values kept", &storagev1.StorageClass{ReclaimPolicy: &retain, VolumeBindingMode: &wait},
			&storagev1.StorageClass{ReclaimPolicy: &retain, VolumeBindingMode: &wait}},
	} {
		Default(tt.obj)
		if !reflect.DeepEqual(tt.obj, tt.out) {
			t.Errorf("%s: got %+v, want %+v", tt.name, tt.obj, tt.out)
		}
	}

	d := &storagev1.CSIDriver{Spec: storagev1.CSIDriverSpec{PodInfoOnMount: ptrTo(true)}}
	Default(d)
	want := storagev1.CSIDriverSpec{AttachRequired: ptrTo(true), PodInfoOnMount: ptrTo(true), StorageCapacity: ptrTo(false),
		RequiresRepublish: ptrTo(false), SELinuxMount: ptrTo(false), PreventPodSchedulingIfMissing: ptrTo(false),
		FSGroupPolicy:        ptrTo(storagev1.ReadWriteOnceWithFSTypeFSGroupPolicy),
		VolumeLifecycleModes: []storagev1.VolumeLifecycleMode{storagev1.VolumeLifecyclePersistent}}
	if !reflect.DeepEqual(d.Spec, want) {
		t.Errorf("CSIDriver defaults: got %+v, want %+v", d.Spec, want)
	}

	pvc := &corev1.PersistentVolumeClaim{}
	Default(pvc)
	if pvc.Spec.VolumeMode == nil || *pvc.Spec.VolumeMode != corev1.PersistentVolumeFilesystem || pvc.Status.Phase != corev1.ClaimPending {
		t.Errorf("PVC defaults: %+v", pvc)
	}
}
