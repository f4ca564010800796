package validation

import (
	"fmt"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"strings"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	unversionedvalidation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// ---- PodDisruptionBudget ----

var supportedUnhealthyPodEvictionPolicies = sets.New(string(policyv1.IfHealthyBudget), string(policyv1.AlwaysAllow))

// validatePodDisruptionBudget is ValidatePodDisruptionBudget: the spec only (metadata is left to
// the generic registry, as upstream).
func validatePodDisruptionBudget(pdb *policyv1.PodDisruptionBudget) field.ErrorList {
	spec, fldPath := pdb.Spec, field.NewPath("spec")
	var allErrs field.ErrorList
	if spec.MinAvailable != nil && spec.MaxUnavailable != nil {
		allErrs = append(allErrs, field.Invalid(fldPath, spec, "minAvailable and maxUnavailable cannot be both set"))
	}
	if spec.MinAvailable != nil {
		allErrs = append(allErrs, validatePositiveIntOrPercent(*spec.MinAvailable, fldPath.Child("minAvailable"))...)
		allErrs = append(allErrs, isNotMoreThan100Percent(*spec.MinAvailable, fldPath.Child("minAvailable"))...)
	}
	if spec.MaxUnavailable != nil {
		allErrs = append(allErrs, validatePositiveIntOrPercent(*spec.MaxUnavailable, fldPath.Child("maxUnavailable"))...)
		allErrs = append(allErrs, isNotMoreThan100Percent(*spec.MaxUnavailable, fldPath.Child("maxUnavailable"))...)
	}
	allErrs = append(allErrs, unversionedvalidation.ValidateLabelSelector(spec.Selector, unversionedvalidation.LabelSelectorValidationOptions{}, fldPath.Child("selector"))...)
	if p := spec.UnhealthyPodEvictionPolicy; p != nil && !supportedUnhealthyPodEvictionPolicies.Has(string(*p)) {
		allErrs = append(allErrs, field.NotSupported(fldPath.Child("unhealthyPodEvictionPolicy"), *p, sets.List(supportedUnhealthyPodEvictionPolicies)))
	}
	return allErrs
}

// validatePodDisruptionBudgetStatus is ValidatePodDisruptionBudgetStatusUpdate for policy/v1.
func validatePodDisruptionBudgetStatus(status *policyv1.PodDisruptionBudgetStatus, fldPath *field.Path) field.ErrorList {
	allErrs := unversionedvalidation.ValidateConditions(status.Conditions, fldPath.Child("conditions"))
	allErrs = append(allErrs, validateNonnegativeField(int64(status.DisruptionsAllowed), fldPath.Child("disruptionsAllowed"))...)
	allErrs = append(allErrs, validateNonnegativeField(int64(status.CurrentHealthy), fldPath.Child("currentHealthy"))...)
	allErrs = append(allErrs, validateNonnegativeField(int64(status.DesiredHealthy), fldPath.Child("desiredHealthy"))...)
	return append(allErrs, validateNonnegativeField(int64(status.ExpectedPods), fldPath.Child("expectedPods"))...)
}

// ---- PriorityClass ----

const (
	// highestUserDefinablePriority is scheduling.HighestUserDefinablePriority.
	highestUserDefinablePriority = int32(1000000000)
	// systemCriticalPriority is scheduling.SystemCriticalPriority.
	systemCriticalPriority = 2 * highestUserDefinablePriority
	// systemPriorityClassPrefix is reserved for the built-in classes.
	systemPriorityClassPrefix = "system-"
)

// systemPriorityClasses are the two classes kube-apiserver creates at startup; names with the
// system- prefix must be exactly one of them.
var systemPriorityClasses = []struct {
	name          string
	value         int32
	globalDefault bool
}{
	{"system-node-critical", systemCriticalPriority + 1000, false},
	{"system-cluster-critical", systemCriticalPriority, false},
}

// SystemPriorityClasses returns the built-in classes, which the API server creates at start.
func SystemPriorityClasses() []*schedulingv1.PriorityClass {
	var out []*schedulingv1.PriorityClass
	for _, c := range systemPriorityClasses {
		desc := "Used for system critical pods that must run in the cluster, but can be moved to another node if necessary."
		if c.name == "system-node-critical" {
			desc = "Used for system critical pods that must not be moved from their current node."
		}
		out = append(out, &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: c.name}, Value: c.value,
			GlobalDefault: c.globalDefault, Description: desc})
	}
	return out
}

// IsSystemPriorityClass reports whether name is one of the built-in classes.
func IsSystemPriorityClass(name string) bool {
	for _, c := range systemPriorityClasses {
		if c.name == name {
			return true
		}
	}
	return false
}

// isKnownSystemPriorityClass is IsKnownSystemPriorityClass.
func isKnownSystemPriorityClass(name string, value int32, globalDefault bool) error {
	for _, c := range systemPriorityClasses {
		if c.name != name {
			continue
		}
		if c.value != value {
			return fmt.Errorf("value of %v PriorityClass must be %v", c.name, c.value)
		}
		if c.globalDefault != globalDefault {
			return fmt.Errorf("globalDefault of %v PriorityClass must be %v", c.name, c.globalDefault)
		}
		return nil
	}
	return fmt.Errorf("%v is not a known system priority class", name)
}

// validatePriorityClass is ValidatePriorityClass.
func validatePriorityClass(pc *schedulingv1.PriorityClass) field.ErrorList {
	allErrs := validateObjectMeta(&pc.ObjectMeta, false, nameIsDNSSubdomain, field.NewPath("metadata"))
	if strings.HasPrefix(pc.Name, systemPriorityClassPrefix) {
		if err := isKnownSystemPriorityClass(pc.Name, pc.Value, pc.GlobalDefault); err != nil {
			allErrs = append(allErrs, field.Forbidden(field.NewPath("metadata", "name"), "priority class names with '"+systemPriorityClassPrefix+"' prefix are reserved for system use only. error: "+err.Error()))
		}
	} else if pc.Value > highestUserDefinablePriority {
		allErrs = append(allErrs, field.Forbidden(field.NewPath("value"), fmt.Sprintf("maximum allowed value of a user defined priority is %v", highestUserDefinablePriority)))
	}
	if pc.PreemptionPolicy != nil {
		allErrs = append(allErrs, validatePreemptionPolicy(*pc.PreemptionPolicy, field.NewPath("preemptionPolicy"))...)
	}
	return allErrs
}

// validatePreemptionPolicy is ValidatePreemptionPolicy.
func validatePreemptionPolicy(p corev1.PreemptionPolicy, fldPath *field.Path) field.ErrorList {
	switch p {
	case corev1.PreemptLowerPriority, corev1.PreemptNever:
		return nil
	case "":
		return field.ErrorList{field.Required(fldPath, "")}
	}
	return field.ErrorList{field.NotSupported(fldPath, p, []corev1.PreemptionPolicy{corev1.PreemptLowerPriority, corev1.PreemptNever})}
}

// validatePriorityClassUpdate is ValidatePriorityClassUpdate: value and preemptionPolicy are
// immutable; the rest is not validated again.
func validatePriorityClassUpdate(pc, old *schedulingv1.PriorityClass) field.ErrorList {
	allErrs := validateObjectMetaUpdate(&pc.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	if pc.Value != old.Value {
		allErrs = append(allErrs, field.Forbidden(field.NewPath("value"), "may not be changed in an update."))
	}
	return append(allErrs, validateImmutableField(pc.PreemptionPolicy, old.PreemptionPolicy, field.NewPath("preemptionPolicy"))...)
}

// ---- PersistentVolumeClaimSpec (StatefulSet volumeClaimTemplates) ----

var (
	supportedAccessModes = sets.New(corev1.ReadWriteOnce, corev1.ReadOnlyMany, corev1.ReadWriteMany, corev1.ReadWriteOncePod)
	supportedVolumeModes = sets.New(corev1.PersistentVolumeBlock, corev1.PersistentVolumeFilesystem)
)

// validatePersistentVolumeClaimSpec is ValidatePersistentVolumeClaimSpec with the create
// options of 1.37 (VolumeAttributesClass on, strict selectors and data source API groups).
func validatePersistentVolumeClaimSpec(spec *corev1.PersistentVolumeClaimSpec, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if len(spec.AccessModes) == 0 {
		allErrs = append(allErrs, field.Required(fldPath.Child("accessModes"), "at least 1 access mode is required"))
	}
	if spec.Selector != nil {
		allErrs = append(allErrs, unversionedvalidation.ValidateLabelSelector(spec.Selector, unversionedvalidation.LabelSelectorValidationOptions{}, fldPath.Child("selector"))...)
	}
	rwop, other := false, false
	for _, mode := range spec.AccessModes {
		if !supportedAccessModes.Has(mode) {
			allErrs = append(allErrs, field.NotSupported(fldPath.Child("accessModes"), mode, sets.List(supportedAccessModes)))
		}
		if mode == corev1.ReadWriteOncePod {
			rwop = true
		} else if supportedAccessModes.Has(mode) {
			other = true
		}
	}
	if rwop && other {
		allErrs = append(allErrs, field.Forbidden(fldPath.Child("accessModes"), "may not use ReadWriteOncePod with other access modes"))
	}

	storagePath := fldPath.Child("resources").Key(string(corev1.ResourceStorage))
	if storage, ok := spec.Resources.Requests[corev1.ResourceStorage]; !ok {
		allErrs = append(allErrs, field.Required(storagePath, ""))
	} else if storage.Cmp(resource.Quantity{}) <= 0 {
		allErrs = append(allErrs, field.Invalid(storagePath, storage.String(), isNotPositiveErrorMsg))
	} else {
		allErrs = append(allErrs, validateResourceQuantityValue(corev1.ResourceStorage, storage, storagePath)...)
	}

	if spec.StorageClassName != nil && len(*spec.StorageClassName) > 0 {
		allErrs = append(allErrs, validateClassName(*spec.StorageClassName, fldPath.Child("storageClassName"))...)
	}
	if spec.VolumeMode != nil && !supportedVolumeModes.Has(*spec.VolumeMode) {
		allErrs = append(allErrs, field.NotSupported(fldPath.Child("volumeMode"), *spec.VolumeMode, sets.List(supportedVolumeModes)))
	}
	if ds := spec.DataSource; ds != nil {
		allErrs = append(allErrs, validatePVCDataSource(ds.Name, ds.Kind, ds.APIGroup, fldPath.Child("dataSource"))...)
	}
	if ref := spec.DataSourceRef; ref != nil {
		allErrs = append(allErrs, validatePVCDataSource(ref.Name, ref.Kind, ref.APIGroup, fldPath.Child("dataSourceRef"))...)
		if ref.Namespace != nil && len(*ref.Namespace) > 0 {
			for _, msg := range validation.IsDNS1123Label(*ref.Namespace) {
				allErrs = append(allErrs, field.Invalid(fldPath.Child("dataSourceRef", "namespace"), *ref.Namespace, msg))
			}
		}
	}
	if ref := spec.DataSourceRef; ref != nil && ref.Namespace != nil && len(*ref.Namespace) > 0 {
		if spec.DataSource != nil {
			allErrs = append(allErrs, field.Invalid(fldPath, fldPath.Child("dataSource"), "may not be specified when dataSourceRef.namespace is specified"))
		}
	} else if ds := spec.DataSource; ds != nil && ref != nil {
		if ds.Kind != ref.Kind || ds.Name != ref.Name || !equalStringPtr(ds.APIGroup, ref.APIGroup) {
			allErrs = append(allErrs, field.Invalid(fldPath, fldPath.Child("dataSource"), "must match dataSourceRef"))
		}
	}
	if spec.VolumeAttributesClassName != nil && len(*spec.VolumeAttributesClassName) > 0 {
		allErrs = append(allErrs, validateClassName(*spec.VolumeAttributesClassName, fldPath.Child("volumeAttributesClassName"))...)
	}
	return allErrs
}

// validatePersistentVolumeClaim is ValidatePersistentVolumeClaim: the metadata (a DNS
// subdomain name) and the spec.
func validatePersistentVolumeClaim(pvc *corev1.PersistentVolumeClaim) field.ErrorList {
	allErrs := validateObjectMeta(&pvc.ObjectMeta, true, nameIsDNSSubdomain, field.NewPath("metadata"))
	return append(allErrs, validatePersistentVolumeClaimSpec(&pvc.Spec, field.NewPath("spec"))...)
}

func validateClassName(name string, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	for _, msg := range nameIsDNSSubdomain(name, false) {
		allErrs = append(allErrs, field.Invalid(fldPath, name, msg))
	}
	return allErrs
}

// validatePVCDataSource holds the checks dataSource and dataSourceRef share.
func validatePVCDataSource(name, kind string, apiGroup *string, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if len(name) == 0 {
		allErrs = append(allErrs, field.Required(fldPath.Child("name"), ""))
	}
	if len(kind) == 0 {
		allErrs = append(allErrs, field.Required(fldPath.Child("kind"), ""))
	}
	group := ""
	if apiGroup != nil {
		group = *apiGroup
	}
	if len(group) == 0 && kind != "PersistentVolumeClaim" {
		allErrs = append(allErrs, field.Invalid(fldPath, kind, "must be 'PersistentVolumeClaim' when referencing the default apiGroup"))
	}
	if len(group) > 0 {
		for _, msg := range validation.IsDNS1123Subdomain(group) {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("apiGroup"), group, msg))
		}
	}
	return allErrs
}

func equalStringPtr(a, b *string) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}
