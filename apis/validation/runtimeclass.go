package validation

import (
	corev1 "k8s.io/api/core/v1"
	nodev1 "k8s.io/api/node/v1"
	unversionedvalidation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// node.k8s.io/v1 RuntimeClass, as upstream's pkg/apis/node/validation: the handler is a DNS
// label and immutable, the overhead is checked as a container's limits, the scheduling node
// selector as labels and its tolerations as a pod's, without duplicates.

// validateRuntimeClass is ValidateRuntimeClass.
func validateRuntimeClass(rc *nodev1.RuntimeClass) field.ErrorList {
	allErrs := validateObjectMeta(&rc.ObjectMeta, false, nameIsDNSSubdomain, field.NewPath("metadata"))
	if rc.Handler == "" {
		allErrs = append(allErrs, field.Required(field.NewPath("handler"), ""))
	} else {
		allErrs = append(allErrs, validateNameWith(nameIsDNSLabel, rc.Handler, false, field.NewPath("handler"))...)
	}
	if rc.Overhead != nil {
		allErrs = append(allErrs, validateResourceRequirements(&corev1.ResourceRequirements{Limits: rc.Overhead.PodFixed}, nil, field.NewPath("overhead"))...)
	}
	if s := rc.Scheduling; s != nil {
		fldPath := field.NewPath("scheduling")
		if s.NodeSelector != nil {
			allErrs = append(allErrs, unversionedvalidation.ValidateLabels(s.NodeSelector, fldPath.Child("nodeSelector"))...)
		}
		allErrs = append(allErrs, validateRuntimeClassTolerations(s.Tolerations, fldPath.Child("tolerations"))...)
	}
	return allErrs
}

// validateRuntimeClassUpdate is ValidateRuntimeClass then ValidateRuntimeClassUpdate, as
// upstream's strategy runs them on update: the handler cannot change.
func validateRuntimeClassUpdate(rc, old *nodev1.RuntimeClass) field.ErrorList {
	allErrs := validateRuntimeClass(rc)
	allErrs = append(allErrs, validateObjectMetaUpdate(&rc.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))...)
	return append(allErrs, validateImmutableField(rc.Handler, old.Handler, field.NewPath("handler"))...)
}

// validateRuntimeClassTolerations is a pod's tolerations' validation, plus upstream's check
// that no two share key, operator, value and effect (the list keys of the API).
func validateRuntimeClassTolerations(tolerations []corev1.Toleration, fldPath *field.Path) field.ErrorList {
	allErrs := validateTolerations(tolerations, fldPath)
	seen := map[corev1.Toleration]bool{}
	for i, t := range tolerations {
		key := corev1.Toleration{Key: t.Key, Operator: t.Operator, Value: t.Value, Effect: t.Effect}
		if seen[key] {
			allErrs = append(allErrs, field.Duplicate(fldPath.Index(i), t))
			continue
		}
		seen[key] = true
	}
	return allErrs
}
