package validation

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func TestPersistentVolume(t *testing.T) {
	volume := func(mutate func(*corev1.PersistentVolume)) *corev1.PersistentVolume {
		pv := &corev1.PersistentVolume{}
		pv.Name, pv.ResourceVersion = "pv-1", "1"
		pv.Spec = corev1.PersistentVolumeSpec{
			Capacity:               corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
			AccessModes:            []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			PersistentVolumeSource: corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/data/pv-1"}},
		}
		mutate(pv)
		return defaulted(pv)
	}
	local := func(pv *corev1.PersistentVolume) {
		pv.Spec.HostPath, pv.Spec.Local = nil, &corev1.LocalVolumeSource{Path: "/mnt/disk"}
	}
	if pv := volume(func(*corev1.PersistentVolume) {}); pv.Spec.PersistentVolumeReclaimPolicy != corev1.PersistentVolumeReclaimRetain ||
		*pv.Spec.VolumeMode != corev1.PersistentVolumeFilesystem || pv.Status.Phase != corev1.VolumePending {
		t.Errorf("defaults: %+v %+v", pv.Spec, pv.Status)
	}
	for _, tc := range []struct {
		name      string
		obj, old  *corev1.PersistentVolume
		create    []want
		updateErr []want
	}{
		{"valid; capacity may change", volume(func(*corev1.PersistentVolume) {}), volume(func(pv *corev1.PersistentVolume) {
			pv.Spec.Capacity[corev1.ResourceStorage] = resource.MustParse("2Gi")
		}), nil, nil},
		{"no capacity, no access modes", volume(func(pv *corev1.PersistentVolume) { pv.Spec.Capacity, pv.Spec.AccessModes = nil, nil }), nil,
			[]want{{"spec.accessModes", field.ErrorTypeRequired, ""}, {"spec.capacity", field.ErrorTypeRequired, ""}}, nil},
		{"capacity other than storage", volume(func(pv *corev1.PersistentVolume) { pv.Spec.Capacity[corev1.ResourceCPU] = resource.MustParse("1") }), nil,
			[]want{{"spec.capacity", field.ErrorTypeNotSupported, ""}}, nil},
		{"zero storage", volume(func(pv *corev1.PersistentVolume) { pv.Spec.Capacity[corev1.ResourceStorage] = resource.MustParse("0") }), nil,
			[]want{{"spec.capacity[storage]", field.ErrorTypeInvalid, ""}}, nil},
		{"no volume source", volume(func(pv *corev1.PersistentVolume) { pv.Spec.HostPath = nil }), nil,
			[]want{{"spec", field.ErrorTypeRequired, "must specify a volume type"}}, nil},
		{"two volume sources", volume(func(pv *corev1.PersistentVolume) { pv.Spec.NFS = &corev1.NFSVolumeSource{Server: "s", Path: "/"} }), nil,
			[]want{{"spec", field.ErrorTypeForbidden, "may not specify more than 1 volume type"}}, nil},
		{"local needs node affinity", volume(local), nil, []want{{"spec.nodeAffinity", field.ErrorTypeRequired, "Local volume requires node affinity"}}, nil},
		{"bad reclaim policy", volume(func(pv *corev1.PersistentVolume) { pv.Spec.PersistentVolumeReclaimPolicy = "Keep" }), nil,
			[]want{{"spec.persistentVolumeReclaimPolicy", field.ErrorTypeNotSupported, ""}}, nil},
		{"cluster-scoped", volume(func(pv *corev1.PersistentVolume) { pv.Namespace = "default" }), nil,
			[]want{{"metadata.namespace", field.ErrorTypeForbidden, ""}}, nil},
		{"source is immutable", volume(func(pv *corev1.PersistentVolume) { pv.Spec.HostPath.Path = "/other" }), volume(func(*corev1.PersistentVolume) {}),
			nil, []want{{"spec.persistentvolumesource", field.ErrorTypeForbidden, "spec.persistentvolumesource is forbidden to update"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkErrs(t, ValidateCreate(tc.obj), tc.create)
			if tc.old != nil {
				checkErrs(t, ValidateUpdate(tc.obj, tc.old), tc.updateErr)
			}
		})
	}
}
