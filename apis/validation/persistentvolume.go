package validation

import (
	"fmt"
	"reflect"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/diff"
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

// validatePersistentVolumeClaimUpdate is ValidatePersistentVolumeClaimUpdate with 1.37's
// options (RecoverVolumeExpansionFailure and VolumeAttributesClass on): the claim stays valid
// and its spec is immutable except volumeName while unset, storageClassName while unset (the
// class the PV controller assigns later) and, for bound claims, resources.requests.storage and
// volumeAttributesClassName. A request may shrink back towards status.capacity (to recover from
// a failed expansion) but never to it or below.
func validatePersistentVolumeClaimUpdate(pvc, old *corev1.PersistentVolumeClaim) field.ErrorList {
	allErrs := validateObjectMetaUpdate(&pvc.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	allErrs = append(allErrs, validatePersistentVolumeClaim(pvc)...)
	newClone, oldClone := pvc.DeepCopy(), old.DeepCopy()
	if len(old.Spec.VolumeName) == 0 {
		oldClone.Spec.VolumeName = newClone.Spec.VolumeName
	}
	if classUpgradeFromAnnotation(old.Annotations, pvc.Annotations, old.Spec.StorageClassName, pvc.Spec.StorageClassName) {
		newClone.Spec.StorageClassName = nil
		metav1.SetMetaDataAnnotation(&newClone.ObjectMeta, corev1.BetaStorageClassAnnotation, old.Annotations[corev1.BetaStorageClassAnnotation])
	} else {
		allErrs = append(allErrs, validateImmutableAnnotation(pvc.Annotations[corev1.BetaStorageClassAnnotation], old.Annotations[corev1.BetaStorageClassAnnotation],
			corev1.BetaStorageClassAnnotation, field.NewPath("metadata"))...)
		if classUpgradeFromNil(old.Annotations, old.Spec.StorageClassName, pvc.Spec.StorageClassName) {
			newClone.Spec.StorageClassName = oldClone.Spec.StorageClassName
		}
	}
	if pvc.Status.Phase == corev1.ClaimBound {
		if newClone.Spec.Resources.Requests != nil {
			newClone.Spec.Resources.Requests[corev1.ResourceStorage] = old.Spec.Resources.Requests[corev1.ResourceStorage]
		}
		newClone.Spec.VolumeAttributesClassName = oldClone.Spec.VolumeAttributesClassName
	}
	if !apiequality.Semantic.DeepEqual(newClone.Spec, oldClone.Spec) {
		allErrs = append(allErrs, field.Forbidden(field.NewPath("spec"), fmt.Sprintf(
			"spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims\n%v", diff.Diff(oldClone.Spec, newClone.Spec))))
	}
	oldSize, newSize := old.Spec.Resources.Requests[corev1.ResourceStorage], pvc.Spec.Resources.Requests[corev1.ResourceStorage]
	statusSize := old.Status.Capacity[corev1.ResourceStorage]
	if newSize.Cmp(oldSize) < 0 && newSize.Cmp(statusSize) <= 0 {
		allErrs = append(allErrs, field.Forbidden(field.NewPath("spec", "resources", "requests", "storage"), "field can not be less than status.capacity"))
	}
	allErrs = append(allErrs, validateImmutableField(pvc.Spec.VolumeMode, old.Spec.VolumeMode, field.NewPath("volumeMode"))...)
	if !apiequality.Semantic.DeepEqual(old.Spec.VolumeAttributesClassName, pvc.Spec.VolumeAttributesClassName) && old.Status.CurrentVolumeAttributesClassName != nil {
		// Once one is applied, the class may change but not go away.
		vacPath := field.NewPath("spec", "volumeAttributesClassName")
		if pvc.Spec.VolumeAttributesClassName == nil {
			allErrs = append(allErrs, field.Forbidden(vacPath, "update to nil is forbidden when status.currentVolumeAttributesClassName is not nil"))
		} else if len(*pvc.Spec.VolumeAttributesClassName) == 0 {
			allErrs = append(allErrs, field.Forbidden(vacPath, "update to empty string is forbidden when status.currentVolumeAttributesClassName is not nil"))
		}
	}
	return allErrs
}

// classUpgradeFromAnnotation allows moving the class from the beta annotation to
// spec.storageClassName (same value, spec unset before, the annotation unchanged or dropped).
func classUpgradeFromAnnotation(oldAnnotations, newAnnotations map[string]string, oldName, newName *string) bool {
	oldClass, oldSet := oldAnnotations[corev1.BetaStorageClassAnnotation]
	newClass, newSet := newAnnotations[corev1.BetaStorageClassAnnotation]
	return oldSet && oldName == nil && newName != nil && *newName == oldClass && (!newSet || newClass == oldClass)
}

// classUpgradeFromNil allows setting spec.storageClassName on a claim that had none (matching
// the beta annotation if there is one): how a default class reaches claims created before it.
func classUpgradeFromNil(oldAnnotations map[string]string, oldName, newName *string) bool {
	oldClass, oldSet := oldAnnotations[corev1.BetaStorageClassAnnotation]
	return newName != nil && oldName == nil && (!oldSet || *newName == oldClass)
}

// validateImmutableAnnotation is upstream's ValidateImmutableAnnotation.
func validateImmutableAnnotation(newVal, oldVal, annotation string, fldPath *field.Path) field.ErrorList {
	if oldVal != newVal {
		return field.ErrorList{field.Invalid(fldPath.Child("annotations", annotation), newVal, fieldImmutableErrorMsg)}
	}
	return nil
}

var resizeStatuses = sets.New(corev1.PersistentVolumeClaimControllerResizeInProgress, corev1.PersistentVolumeClaimControllerResizeInfeasible,
	corev1.PersistentVolumeClaimNodeResizePending, corev1.PersistentVolumeClaimNodeResizeInProgress, corev1.PersistentVolumeClaimNodeResizeInfeasible)

// validatePersistentVolumeClaimStatusUpdate is ValidatePersistentVolumeClaimStatusUpdate (with
// RecoverVolumeExpansionFailure on): non-negative capacities, known resize statuses, and
// allocated resources that are storage quantities.
func validatePersistentVolumeClaimStatusUpdate(pvc, old *corev1.PersistentVolumeClaim) field.ErrorList {
	allErrs := validateObjectMetaUpdate(&pvc.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	if len(pvc.ResourceVersion) == 0 {
		allErrs = append(allErrs, field.Required(field.NewPath("resourceVersion"), ""))
	}
	if len(pvc.Spec.AccessModes) == 0 {
		allErrs = append(allErrs, field.Required(field.NewPath("Spec", "accessModes"), ""))
	}
	capPath := field.NewPath("status", "capacity")
	for r, q := range pvc.Status.Capacity {
		allErrs = append(allErrs, validateBasicResource(q, capPath.Key(string(r)))...)
	}
	if h := pvc.Status.HealthStatus; h != nil {
		for i, c := range h.HealthConditions {
			if c.Reason == "" {
				continue
			}
			for _, msg := range metav1validation.IsValidConditionReason(c.Reason) {
				allErrs = append(allErrs, field.Invalid(field.NewPath("status", "healthStatus", "healthConditions").Index(i).Child("reason"), c.Reason, msg))
			}
		}
	}
	statusPath := field.NewPath("status", "allocatedResourceStatuses")
	for k, v := range pvc.Status.AllocatedResourceStatuses {
		allErrs = append(allErrs, validateClaimResourceKey(string(k), statusPath)...)
		if !resizeStatuses.Has(v) {
			allErrs = append(allErrs, field.NotSupported(statusPath, k, sets.List(resizeStatuses)))
		}
	}
	allocPath := field.NewPath("status", "allocatedResources")
	for r, q := range pvc.Status.AllocatedResources {
		if errs := validateClaimResourceKey(string(r), allocPath); len(errs) > 0 {
			allErrs = append(allErrs, errs...)
			continue
		}
		if errs := validateBasicResource(q, allocPath.Key(string(r))); len(errs) > 0 {
			allErrs = append(allErrs, errs...)
		} else {
			allErrs = append(allErrs, validateResourceQuantityValue(corev1.ResourceStorage, q, allocPath.Key(string(r)))...)
		}
	}
	return allErrs
}

func validateBasicResource(q resource.Quantity, fldPath *field.Path) field.ErrorList {
	if q.Value() < 0 {
		return field.ErrorList{field.Invalid(fldPath, q.Value(), "must be a valid resource quantity")}
	}
	return nil
}

// validateClaimResourceKey is validatePersistentVolumeClaimResourceKey: a qualified name, and
// "storage" when it is a native (unprefixed or kubernetes.io/) one.
func validateClaimResourceKey(value string, fldPath *field.Path) field.ErrorList {
	if errs := validateQualifiedName(value, fldPath); len(errs) > 0 {
		return errs
	}
	native := !strings.Contains(value, "/") || strings.Contains(value, corev1.ResourceDefaultNamespacePrefix)
	if native && corev1.ResourceName(value) != corev1.ResourceStorage {
		return field.ErrorList{field.NotSupported(fldPath, value, []corev1.ResourceName{corev1.ResourceStorage})}
	}
	return nil
}
