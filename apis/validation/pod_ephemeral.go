package validation

import (
	"fmt"
	"reflect"
	"unicode"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// allowedEphemeralContainerFields is upstream's: the fields of EphemeralContainerCommon an
// ephemeral container may set; any other that is not zero is Forbidden.
var allowedEphemeralContainerFields = map[string]bool{
	"Name":                     true,
	"Image":                    true,
	"Command":                  true,
	"Args":                     true,
	"WorkingDir":               true,
	"EnvFrom":                  true,
	"Env":                      true,
	"VolumeMounts":             true,
	"VolumeDevices":            true,
	"TerminationMessagePath":   true,
	"TerminationMessagePolicy": true,
	"ImagePullPolicy":          true,
	"SecurityContext":          true,
	"Stdin":                    true,
	"StdinOnce":                true,
	"TTY":                      true,
}

// validateFieldAllowList is upstream's validateFieldAllowList: value (a struct) may set only
// the allowed fields; each other non-zero field is Forbidden at its lower-camel-case name.
func validateFieldAllowList(value any, allowed map[string]bool, errorText string, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	t, v := reflect.TypeOf(value), reflect.ValueOf(value)
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if allowed[f.Name] || v.Field(i).IsZero() {
			continue
		}
		r, n := utf8.DecodeRuneInString(f.Name)
		allErrs = append(allErrs, field.Forbidden(fldPath.Child(string(unicode.ToLower(r))+f.Name[n:]), errorText))
	}
	return allErrs
}

// ValidatePodEphemeralContainersUpdate is upstream's ValidatePodEphemeralContainersUpdate, the
// validation of pods/ephemeralcontainers: newPod differs from oldPod only in
// spec.ephemeralContainers (the strategy reset the rest); the pod stays valid, static pods get
// none, and the ephemeral containers already there are neither removed nor changed.
func ValidatePodEphemeralContainersUpdate(newPod, oldPod *corev1.Pod) field.ErrorList {
	fldPath := field.NewPath("metadata")
	opts := podValidationOptions{resourceIsPod: true}
	if _, err := parseDeletionCost(oldPod.Annotations); err != nil {
		opts.allowInvalidPodDeletionCost = true
	}
	allErrs := validateObjectMetaUpdate(&newPod.ObjectMeta, &oldPod.ObjectMeta, fldPath)
	allErrs = append(allErrs, validatePodMetadataAndSpec(newPod, opts)...)
	allErrs = append(allErrs, validatePodSpecificAnnotationUpdates(newPod, oldPod, fldPath.Child("annotations"))...)

	// static pods don't support ephemeral containers (kubernetes#113935)
	if _, ok := oldPod.Annotations[corev1.MirrorPodAnnotationKey]; ok {
		return field.ErrorList{field.Forbidden(field.NewPath(""), "static pods do not support ephemeral containers")}
	}

	// Existing ephemeral containers may not be changed; a patch may reorder them, so they are
	// matched by name.
	specPath := field.NewPath("spec").Child("ephemeralContainers")
	byName := map[string]*corev1.EphemeralContainer{}
	for i := range newPod.Spec.EphemeralContainers {
		byName[newPod.Spec.EphemeralContainers[i].Name] = &newPod.Spec.EphemeralContainers[i]
	}
	for _, old := range oldPod.Spec.EphemeralContainers {
		n, ok := byName[old.Name]
		switch {
		case !ok:
			allErrs = append(allErrs, field.Forbidden(specPath, fmt.Sprintf("existing ephemeral containers %q may not be removed\n", old.Name)))
		case !apiequality.Semantic.DeepEqual(old, *n):
			allErrs = append(allErrs, field.Forbidden(specPath, fmt.Sprintf("existing ephemeral containers %q may not be changed\n%v", old.Name, objectDiff(old, *n))))
		}
	}
	return allErrs
}
