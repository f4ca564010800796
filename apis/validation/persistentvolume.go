package validation

import (
	"reflect"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

var supportedReclaimPolicies = sets.New(corev1.PersistentVolumeReclaimDelete, corev1.PersistentVolumeReclaimRecycle, corev1.PersistentVolumeReclaimRetain)

// validatePersistentVolume is the core of upstream's ValidatePersistentVolume: a DNS subdomain
// name, a positive storage capacity (the only capacity key), access modes, a reclaim policy and
// volume mode upstream supports, exactly one volume source, and for local and hostPath
// sources a path (local ones also need node affinity). The per-plugin rules of the in-tree
// cloud and network sources are not checked: nothing mounts those here.
func validatePersistentVolume(pv *corev1.PersistentVolume) field.ErrorList {
	allErrs := validateObjectMeta(&pv.ObjectMeta, false, nameIsDNSSubdomain, field.NewPath("metadata"))
	spec := field.NewPath("spec")
	if len(pv.Spec.AccessModes) == 0 {
		allErrs = append(allErrs, field.Required(spec.Child("accessModes"), ""))
	}
	for _, mode := range pv.Spec.AccessModes {
		if !supportedAccessModes.Has(mode) {
			allErrs = append(allErrs, field.NotSupported(spec.Child("accessModes"), mode, sets.List(supportedAccessModes)))
		}
	}
	if len(pv.Spec.Capacity) == 0 {
		allErrs = append(allErrs, field.Required(spec.Child("capacity"), ""))
	}
	for name, q := range pv.Spec.Capacity {
		p := spec.Child("capacity").Key(string(name))
		if name != corev1.ResourceStorage {
			allErrs = append(allErrs, field.NotSupported(spec.Child("capacity"), name, []corev1.ResourceName{corev1.ResourceStorage}))
			continue
		}
		if q.Cmp(resource.Quantity{}) <= 0 {
			allErrs = append(allErrs, field.Invalid(p, q.String(), isNotPositiveErrorMsg))
		}
	}
	if r := pv.Spec.PersistentVolumeReclaimPolicy; r != "" && !supportedReclaimPolicies.Has(r) {
		allErrs = append(allErrs, field.NotSupported(spec.Child("persistentVolumeReclaimPolicy"), r, sets.List(supportedReclaimPolicies)))
	}
	if m := pv.Spec.VolumeMode; m != nil && !supportedVolumeModes.Has(*m) {
		allErrs = append(allErrs, field.NotSupported(spec.Child("volumeMode"), *m, sets.List(supportedVolumeModes)))
	}
	if c := pv.Spec.StorageClassName; len(c) > 0 {
		allErrs = append(allErrs, validateClassName(c, spec.Child("storageClassName"))...)
	}
	switch n := numVolumeSources(&pv.Spec.PersistentVolumeSource); {
	case n == 0:
		allErrs = append(allErrs, field.Required(spec, "must specify a volume type"))
	case n > 1:
		allErrs = append(allErrs, field.Forbidden(spec, "may not specify more than 1 volume type"))
	}
	if hp := pv.Spec.HostPath; hp != nil && hp.Path == "" {
		allErrs = append(allErrs, field.Required(spec.Child("hostPath", "path"), ""))
	}
	if l := pv.Spec.Local; l != nil {
		if l.Path == "" {
			allErrs = append(allErrs, field.Required(spec.Child("local", "path"), ""))
		}
		if pv.Spec.NodeAffinity == nil || pv.Spec.NodeAffinity.Required == nil {
			allErrs = append(allErrs, field.Required(spec.Child("nodeAffinity"), "Local volume requires node affinity"))
		}
	}
	return allErrs
}

// numVolumeSources counts the set fields of a PersistentVolumeSource (each is a pointer).
func numVolumeSources(src *corev1.PersistentVolumeSource) int {
	n := 0
	v := reflect.ValueOf(src).Elem()
	for i := 0; i < v.NumField(); i++ {
		if f := v.Field(i); f.Kind() == reflect.Pointer && !f.IsNil() {
			n++
		}
	}
	return n
}

// validatePersistentVolumeUpdate: the volume stays valid, its source and volume mode are
// immutable, as upstream's ValidatePersistentVolumeUpdate.
func validatePersistentVolumeUpdate(pv, old *corev1.PersistentVolume) field.ErrorList {
	allErrs := validateObjectMetaUpdate(&pv.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	allErrs = append(allErrs, validatePersistentVolume(pv)...)
	if !reflect.DeepEqual(pv.Spec.PersistentVolumeSource, old.Spec.PersistentVolumeSource) {
		allErrs = append(allErrs, field.Forbidden(field.NewPath("spec", "persistentvolumesource"), "spec.persistentvolumesource is forbidden to update"))
	}
	allErrs = append(allErrs, validateImmutableField(pv.Spec.VolumeMode, old.Spec.VolumeMode, field.NewPath("spec", "volumeMode"))...)
	if old.Spec.NodeAffinity != nil {
		allErrs = append(allErrs, validateImmutableField(pv.Spec.NodeAffinity, old.Spec.NodeAffinity, field.NewPath("nodeAffinity"))...)
	}
	return allErrs
}

// validatePersistentVolumeStatusUpdate: only the status changes; the phase is one upstream
// knows.
func validatePersistentVolumeStatusUpdate(pv, old *corev1.PersistentVolume) field.ErrorList {
	allErrs := validateObjectMetaUpdate(&pv.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	phases := sets.New(corev1.VolumePending, corev1.VolumeAvailable, corev1.VolumeBound, corev1.VolumeReleased, corev1.VolumeFailed)
	if p := pv.Status.Phase; p != "" && !phases.Has(p) {
		allErrs = append(allErrs, field.NotSupported(field.NewPath("status", "phase"), p, sets.List(phases)))
	}
	return allErrs
}
