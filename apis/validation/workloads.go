package validation

import (
	"encoding/json"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	unversionedvalidation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// This file holds the workload kinds beyond ReplicaSet and Deployment: DaemonSet, StatefulSet,
// ControllerRevision (apps/v1), ReplicationController and PodTemplate (core/v1); policy.go has
// PodDisruptionBudget and PriorityClass. The three dispatchers below are called first by
// ValidateCreate, ValidateUpdate and ValidateStatusUpdate; ok is false for other kinds.

// validateWorkloadCreate validates a new object of one of this file's kinds.
func validateWorkloadCreate(obj runtime.Object) (field.ErrorList, bool) {
	switch o := obj.(type) {
	case *appsv1.DaemonSet:
		return validateDaemonSet(o), true
	case *appsv1.StatefulSet:
		return validateStatefulSet(o), true
	case *appsv1.ControllerRevision:
		return validateControllerRevisionCreate(o), true
	case *corev1.ReplicationController:
		return validateReplicationController(o), true
	case *corev1.PodTemplate:
		return validatePodTemplate(o), true
	case *policyv1.PodDisruptionBudget:
		return validatePodDisruptionBudget(o), true
	case *schedulingv1.PriorityClass:
		return validatePriorityClass(o), true
	}
	return nil, false
}

// validateWorkloadUpdate validates an update of one of this file's kinds.
func validateWorkloadUpdate(obj, old runtime.Object) (field.ErrorList, bool) {
	switch o := obj.(type) {
	case *appsv1.DaemonSet:
		if p, ok := old.(*appsv1.DaemonSet); ok {
			return validateDaemonSetUpdate(o, p), true
		}
	case *appsv1.StatefulSet:
		if p, ok := old.(*appsv1.StatefulSet); ok {
			return validateStatefulSetUpdate(o, p), true
		}
	case *appsv1.ControllerRevision:
		if p, ok := old.(*appsv1.ControllerRevision); ok {
			return validateControllerRevisionUpdate(o, p), true
		}
	case *corev1.ReplicationController:
		if p, ok := old.(*corev1.ReplicationController); ok {
			return validateReplicationControllerUpdate(o, p), true
		}
	case *corev1.PodTemplate:
		if p, ok := old.(*corev1.PodTemplate); ok {
			return validatePodTemplateUpdate(o, p), true
		}
	case *policyv1.PodDisruptionBudget:
		if _, ok := old.(*policyv1.PodDisruptionBudget); ok {
			// As upstream: the spec is validated again; metadata is the generic registry's.
			return validatePodDisruptionBudget(o), true
		}
	case *schedulingv1.PriorityClass:
		if p, ok := old.(*schedulingv1.PriorityClass); ok {
			return validatePriorityClassUpdate(o, p), true
		}
	default:
		return nil, false
	}
	return mismatchedOld(obj, old), true
}

// validateWorkloadStatusUpdate validates a status update of one of this file's kinds that has
// a status subresource.
func validateWorkloadStatusUpdate(obj, old runtime.Object) (field.ErrorList, bool) {
	switch o := obj.(type) {
	case *appsv1.DaemonSet:
		if p, ok := old.(*appsv1.DaemonSet); ok {
			return validateDaemonSetStatusUpdate(o, p), true
		}
	case *appsv1.StatefulSet:
		if p, ok := old.(*appsv1.StatefulSet); ok {
			return validateStatefulSetStatusUpdate(o, p), true
		}
	case *corev1.ReplicationController:
		if p, ok := old.(*corev1.ReplicationController); ok {
			return validateReplicationControllerStatusUpdate(o, p), true
		}
	case *policyv1.PodDisruptionBudget:
		if _, ok := old.(*policyv1.PodDisruptionBudget); ok {
			return validatePodDisruptionBudgetStatus(&o.Status, field.NewPath("status")), true
		}
	default:
		return nil, false
	}
	return mismatchedOld(obj, old), true
}

// ---- DaemonSet ----

func validateDaemonSet(ds *appsv1.DaemonSet) field.ErrorList {
	allErrs := validateObjectMeta(&ds.ObjectMeta, true, nameIsDNSSubdomain, field.NewPath("metadata"))
	return append(allErrs, validateDaemonSetSpec(&ds.Spec, field.NewPath("spec"))...)
}

// validateDaemonSetSpec is ValidateDaemonSetSpec. A missing selector is reported only through
// the template labels, which a nil selector never matches, as upstream.
func validateDaemonSetSpec(spec *appsv1.DaemonSetSpec, fldPath *field.Path) field.ErrorList {
	allErrs := unversionedvalidation.ValidateLabelSelector(spec.Selector, unversionedvalidation.LabelSelectorValidationOptions{}, fldPath.Child("selector"))
	selector, err := metav1.LabelSelectorAsSelector(spec.Selector)
	if err == nil && !selector.Matches(labels.Set(spec.Template.Labels)) {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("template", "metadata", "labels"), spec.Template.Labels, "`selector` does not match template `labels`"))
	}
	if spec.Selector != nil && len(spec.Selector.MatchLabels)+len(spec.Selector.MatchExpressions) == 0 {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("selector"), spec.Selector, "empty selector is invalid for daemonset"))
	}
	allErrs = append(allErrs, validatePodTemplateSpec(&spec.Template, fldPath.Child("template"), podValidationOptions{})...)
	allErrs = append(allErrs, validateWorkloadRestartPolicy(&spec.Template, fldPath.Child("template"), "DaemonSet")...)
	allErrs = append(allErrs, validateNonnegativeField(int64(spec.MinReadySeconds), fldPath.Child("minReadySeconds"))...)
	allErrs = append(allErrs, validateDaemonSetUpdateStrategy(&spec.UpdateStrategy, fldPath.Child("updateStrategy"))...)
	if spec.RevisionHistoryLimit != nil {
		allErrs = append(allErrs, validateNonnegativeField(int64(*spec.RevisionHistoryLimit), fldPath.Child("revisionHistoryLimit"))...)
	}
	return allErrs
}

// validateWorkloadRestartPolicy holds the template checks every controller of long-running
// pods makes: restartPolicy Always and no activeDeadlineSeconds.
func validateWorkloadRestartPolicy(template *corev1.PodTemplateSpec, fldPath *field.Path, kind string) field.ErrorList {
	var allErrs field.ErrorList
	if template.Spec.RestartPolicy != corev1.RestartPolicyAlways {
		allErrs = append(allErrs, field.NotSupported(fldPath.Child("spec", "restartPolicy"), template.Spec.RestartPolicy, []string{string(corev1.RestartPolicyAlways)}))
	}
	if template.Spec.ActiveDeadlineSeconds != nil {
		allErrs = append(allErrs, field.Forbidden(fldPath.Child("spec", "activeDeadlineSeconds"), fmt.Sprintf("activeDeadlineSeconds in %s is not Supported", kind)))
	}
	return allErrs
}

func validateDaemonSetUpdateStrategy(s *appsv1.DaemonSetUpdateStrategy, fldPath *field.Path) field.ErrorList {
	switch s.Type {
	case appsv1.OnDeleteDaemonSetStrategyType:
	case appsv1.RollingUpdateDaemonSetStrategyType:
		if s.RollingUpdate == nil {
			return field.ErrorList{field.Required(fldPath.Child("rollingUpdate"), "")}
		}
		return validateRollingUpdateDaemonSet(s.RollingUpdate, fldPath.Child("rollingUpdate"))
	default:
		return field.ErrorList{field.NotSupported(fldPath, s, []string{string(appsv1.RollingUpdateDaemonSetStrategyType), string(appsv1.OnDeleteDaemonSetStrategyType)})}
	}
	return nil
}

// validateRollingUpdateDaemonSet is ValidateRollingUpdateDaemonSet: exactly one of maxUnavailable
// and maxSurge is non-zero.
func validateRollingUpdateDaemonSet(ru *appsv1.RollingUpdateDaemonSet, fldPath *field.Path) field.ErrorList {
	maxUnavailable, maxSurge := intOrZero(ru.MaxUnavailable), intOrZero(ru.MaxSurge)
	allErrs := validatePositiveIntOrPercent(maxUnavailable, fldPath.Child("maxUnavailable"))
	allErrs = append(allErrs, validatePositiveIntOrPercent(maxSurge, fldPath.Child("maxSurge"))...)
	allErrs = append(allErrs, isNotMoreThan100Percent(maxUnavailable, fldPath.Child("maxUnavailable"))...)
	allErrs = append(allErrs, isNotMoreThan100Percent(maxSurge, fldPath.Child("maxSurge"))...)
	hasUnavailable, hasSurge := intOrPercentValue(maxUnavailable) != 0, intOrPercentValue(maxSurge) != 0
	switch {
	case hasUnavailable && hasSurge:
		allErrs = append(allErrs, field.Invalid(fldPath.Child("maxSurge"), maxSurge, "may not be set when maxUnavailable is non-zero"))
	case !hasUnavailable && !hasSurge:
		allErrs = append(allErrs, field.Required(fldPath.Child("maxUnavailable"), "cannot be 0 when maxSurge is 0"))
	}
	return allErrs
}

// validateDaemonSetUpdate is ValidateDaemonSetUpdate. Upstream's templateGeneration checks are
// left out: apps/v1 has no such field, and the registry keeps it consistent itself.
func validateDaemonSetUpdate(ds, old *appsv1.DaemonSet) field.ErrorList {
	allErrs := validateObjectMetaUpdate(&ds.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	allErrs = append(allErrs, validateImmutableField(ds.Spec.Selector, old.Spec.Selector, field.NewPath("spec", "selector"))...)
	return append(allErrs, validateDaemonSetSpec(&ds.Spec, field.NewPath("spec"))...)
}

func validateDaemonSetStatusUpdate(ds, old *appsv1.DaemonSet) field.ErrorList {
	allErrs := validateObjectMetaUpdate(&ds.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	s, p := ds.Status, field.NewPath("status")
	for _, f := range []struct {
		v    int64
		name string
	}{
		{int64(s.CurrentNumberScheduled), "currentNumberScheduled"},
		{int64(s.NumberMisscheduled), "numberMisscheduled"},
		{int64(s.DesiredNumberScheduled), "desiredNumberScheduled"},
		{int64(s.NumberReady), "numberReady"},
		{s.ObservedGeneration, "observedGeneration"},
		{int64(s.UpdatedNumberScheduled), "updatedNumberScheduled"},
		{int64(s.NumberAvailable), "numberAvailable"},
		{int64(s.NumberUnavailable), "numberUnavailable"},
	} {
		allErrs = append(allErrs, validateNonnegativeField(f.v, p.Child(f.name))...)
	}
	if s.CollisionCount != nil {
		allErrs = append(allErrs, validateNonnegativeField(int64(*s.CollisionCount), p.Child("collisionCount"))...)
	}
	if isDecremented(s.CollisionCount, old.Status.CollisionCount) {
		allErrs = append(allErrs, field.Invalid(p.Child("collisionCount"), replicasOf(s.CollisionCount), "cannot be decremented"))
	}
	return allErrs
}

// ---- StatefulSet ----

// statefulSetOptions are upstream's StatefulSetValidationOptions that Skiff needs.
type statefulSetOptions struct {
	allowInvalidServiceName          bool
	skipValidatePodTemplateSpec      bool
	skipValidateVolumeClaimTemplates bool
}

func validateStatefulSet(ss *appsv1.StatefulSet) field.ErrorList {
	allErrs := validateObjectMeta(&ss.ObjectMeta, true, nameIsDNSLabel, field.NewPath("metadata"))
	return append(allErrs, validateStatefulSetSpec(&ss.Spec, field.NewPath("spec"), statefulSetOptions{})...)
}

// validateStatefulSetSpec is ValidateStatefulSetSpec (the Recreate strategy is alpha and off, as
// its feature gate in 1.37).
func validateStatefulSetSpec(spec *appsv1.StatefulSetSpec, fldPath *field.Path, opts statefulSetOptions) field.ErrorList {
	var allErrs field.ErrorList
	switch spec.PodManagementPolicy {
	case "":
		allErrs = append(allErrs, field.Required(fldPath.Child("podManagementPolicy"), ""))
	case appsv1.OrderedReadyPodManagement, appsv1.ParallelPodManagement:
	default:
		allErrs = append(allErrs, field.Invalid(fldPath.Child("podManagementPolicy"), spec.PodManagementPolicy, fmt.Sprintf("must be '%s' or '%s'", appsv1.OrderedReadyPodManagement, appsv1.ParallelPodManagement)))
	}

	strategyPath := fldPath.Child("updateStrategy")
	switch spec.UpdateStrategy.Type {
	case "":
		allErrs = append(allErrs, field.Required(strategyPath, ""))
	case appsv1.OnDeleteStatefulSetStrategyType:
		if spec.UpdateStrategy.RollingUpdate != nil {
			allErrs = append(allErrs, field.Invalid(strategyPath.Child("rollingUpdate"), spec.UpdateStrategy.RollingUpdate, fmt.Sprintf("only allowed for updateStrategy '%s'", appsv1.RollingUpdateStatefulSetStrategyType)))
		}
	case appsv1.RollingUpdateStatefulSetStrategyType:
		if spec.UpdateStrategy.RollingUpdate != nil {
			allErrs = append(allErrs, validateRollingUpdateStatefulSet(spec.UpdateStrategy.RollingUpdate, strategyPath.Child("rollingUpdate"))...)
		}
	default:
		allErrs = append(allErrs, field.Invalid(strategyPath, spec.UpdateStrategy, fmt.Sprintf("must be '%s' or '%s'", appsv1.RollingUpdateStatefulSetStrategyType, appsv1.OnDeleteStatefulSetStrategyType)))
	}

	if p := spec.PersistentVolumeClaimRetentionPolicy; p != nil {
		retentionPath := fldPath.Child("persistentVolumeClaimRetentionPolicy")
		allErrs = append(allErrs, validatePVCRetentionPolicyType(p.WhenDeleted, retentionPath.Child("whenDeleted"))...)
		allErrs = append(allErrs, validatePVCRetentionPolicyType(p.WhenScaled, retentionPath.Child("whenScaled"))...)
	}
	if !opts.skipValidateVolumeClaimTemplates {
		for i := range spec.VolumeClaimTemplates {
			allErrs = append(allErrs, validatePersistentVolumeClaimSpec(&spec.VolumeClaimTemplates[i].Spec, fldPath.Child("volumeClaimTemplates").Index(i).Child("spec"))...)
		}
	}

	allErrs = append(allErrs, validateNonnegativeField(int64(replicasOf(spec.Replicas)), fldPath.Child("replicas"))...)
	allErrs = append(allErrs, validateNonnegativeField(int64(spec.MinReadySeconds), fldPath.Child("minReadySeconds"))...)
	if spec.Ordinals != nil {
		allErrs = append(allErrs, validateNonnegativeField(int64(spec.Ordinals.Start), fldPath.Child("ordinals", "start"))...)
	}
	if !opts.allowInvalidServiceName && len(spec.ServiceName) > 0 {
		allErrs = append(allErrs, validateDNS1123Label(spec.ServiceName, fldPath.Child("serviceName"))...)
	}

	if spec.Selector == nil {
		allErrs = append(allErrs, field.Required(fldPath.Child("selector"), ""))
	} else {
		allErrs = append(allErrs, unversionedvalidation.ValidateLabelSelector(spec.Selector, unversionedvalidation.LabelSelectorValidationOptions{}, fldPath.Child("selector"))...)
		if len(spec.Selector.MatchLabels)+len(spec.Selector.MatchExpressions) == 0 {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("selector"), spec.Selector, "empty selector is invalid for statefulset"))
		}
	}
	selector, err := metav1.LabelSelectorAsSelector(spec.Selector)
	if err != nil {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("selector"), spec.Selector, ""))
	} else {
		allErrs = append(allErrs, validatePodTemplateSpecForStatefulSet(statefulSetTemplateToValidate(spec), selector, fldPath.Child("template"), opts)...)
	}
	return append(allErrs, validateWorkloadRestartPolicy(&spec.Template, fldPath.Child("template"), "StatefulSet")...)
}

// statefulSetTemplateToValidate returns the template as the controller will stamp it out:
// hostname and subdomain are overwritten by the controller, and each volume claim template
// becomes a persistentVolumeClaim volume of the same name.
func statefulSetTemplateToValidate(spec *appsv1.StatefulSetSpec) *corev1.PodTemplateSpec {
	t := &spec.Template
	if len(t.Spec.Subdomain) == 0 && len(t.Spec.Hostname) == 0 && len(spec.VolumeClaimTemplates) == 0 {
		return t
	}
	t = t.DeepCopy()
	t.Spec.Subdomain, t.Spec.Hostname = "", ""
	if len(spec.VolumeClaimTemplates) == 0 {
		return t
	}
	claims := map[string]bool{}
	volumes := make([]corev1.Volume, 0, len(spec.VolumeClaimTemplates)+len(t.Spec.Volumes))
	for _, c := range spec.VolumeClaimTemplates {
		if claims[c.Name] {
			continue
		}
		claims[c.Name] = true
		volumes = append(volumes, corev1.Volume{Name: c.Name, VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: c.Name},
		}})
	}
	for _, v := range t.Spec.Volumes {
		if !claims[v.Name] {
			volumes = append(volumes, v)
		}
	}
	t.Spec.Volumes = volumes
	return t
}

// validatePodTemplateSpecForStatefulSet is ValidatePodTemplateSpecForStatefulSet; like upstream
// it checks labels and annotations a second time.
func validatePodTemplateSpecForStatefulSet(template *corev1.PodTemplateSpec, selector labels.Selector, fldPath *field.Path, opts statefulSetOptions) field.ErrorList {
	var allErrs field.ErrorList
	if !selector.Empty() && !selector.Matches(labels.Set(template.Labels)) {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("metadata", "labels"), template.Labels, "`selector` does not match template `labels`"))
	}
	if !opts.skipValidatePodTemplateSpec {
		allErrs = append(allErrs, validatePodTemplateSpec(template, fldPath, podValidationOptions{})...)
	}
	allErrs = append(allErrs, unversionedvalidation.ValidateLabels(template.Labels, fldPath.Child("labels"))...)
	allErrs = append(allErrs, validateAnnotations(template.Annotations, fldPath.Child("annotations"))...)
	return append(allErrs, validatePodSpecificAnnotations(template.Annotations, &template.Spec, fldPath.Child("annotations"), podValidationOptions{})...)
}

func validateRollingUpdateStatefulSet(ru *appsv1.RollingUpdateStatefulSetStrategy, fldPath *field.Path) field.ErrorList {
	var partition int32
	if ru.Partition != nil {
		partition = *ru.Partition
	}
	allErrs := validateNonnegativeField(int64(partition), fldPath.Child("partition"))
	if ru.MaxUnavailable != nil {
		p := fldPath.Child("maxUnavailable")
		allErrs = append(allErrs, validatePositiveIntOrPercent(*ru.MaxUnavailable, p)...)
		if intOrPercentValue(*ru.MaxUnavailable) == 0 {
			allErrs = append(allErrs, field.Invalid(p, *ru.MaxUnavailable, "cannot be 0"))
		}
		allErrs = append(allErrs, isNotMoreThan100Percent(*ru.MaxUnavailable, p)...)
	}
	return allErrs
}

func validatePVCRetentionPolicyType(policy appsv1.PersistentVolumeClaimRetentionPolicyType, fldPath *field.Path) field.ErrorList {
	switch policy {
	case appsv1.RetainPersistentVolumeClaimRetentionPolicyType, appsv1.DeletePersistentVolumeClaimRetentionPolicyType:
		return nil
	}
	return field.ErrorList{field.NotSupported(fldPath, policy, []string{string(appsv1.RetainPersistentVolumeClaimRetentionPolicyType), string(appsv1.DeletePersistentVolumeClaimRetentionPolicyType)})}
}

// validateStatefulSetUpdate is ValidateStatefulSetUpdate (1.37): the new spec is validated
// (tolerating a stored invalid serviceName and volume claim templates, and a stored invalid pod
// template), and selector, volumeClaimTemplates, serviceName and podManagementPolicy may not
// change. Everything else (replicas, template, updateStrategy, ordinals, minReadySeconds, ...)
// may.
func validateStatefulSetUpdate(ss, old *appsv1.StatefulSet) field.ErrorList {
	allErrs := validateObjectMetaUpdate(&ss.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	opts := statefulSetOptions{allowInvalidServiceName: true, skipValidateVolumeClaimTemplates: true}
	if len(validateStatefulSetSpec(&old.Spec, nil, opts)) > 0 {
		opts.skipValidatePodTemplateSpec = true
	}
	specPath := field.NewPath("spec")
	allErrs = append(allErrs, validateStatefulSetSpec(&ss.Spec, specPath, opts)...)
	allErrs = append(allErrs, validateImmutableField(ss.Spec.Selector, old.Spec.Selector, specPath.Child("selector"))...)
	allErrs = append(allErrs, validateImmutableField(ss.Spec.VolumeClaimTemplates, old.Spec.VolumeClaimTemplates, specPath.Child("volumeClaimTemplates"))...)
	allErrs = append(allErrs, validateImmutableField(ss.Spec.ServiceName, old.Spec.ServiceName, specPath.Child("serviceName"))...)
	return append(allErrs, validateImmutableField(ss.Spec.PodManagementPolicy, old.Spec.PodManagementPolicy, specPath.Child("podManagementPolicy"))...)
}

func validateStatefulSetStatusUpdate(ss, old *appsv1.StatefulSet) field.ErrorList {
	s, p := ss.Status, field.NewPath("status")
	allErrs := validateNonnegativeField(int64(s.Replicas), p.Child("replicas"))
	allErrs = append(allErrs, validateNonnegativeField(int64(s.ReadyReplicas), p.Child("readyReplicas"))...)
	allErrs = append(allErrs, validateNonnegativeField(int64(s.CurrentReplicas), p.Child("currentReplicas"))...)
	allErrs = append(allErrs, validateNonnegativeField(int64(s.UpdatedReplicas), p.Child("updatedReplicas"))...)
	allErrs = append(allErrs, validateNonnegativeField(int64(s.AvailableReplicas), p.Child("availableReplicas"))...)
	// observedGeneration is a plain int64 in apps/v1 (a pointer in the internal type).
	allErrs = append(allErrs, validateNonnegativeField(s.ObservedGeneration, p.Child("observedGeneration"))...)
	if s.CollisionCount != nil {
		allErrs = append(allErrs, validateNonnegativeField(int64(*s.CollisionCount), p.Child("collisionCount"))...)
	}
	const msg = "cannot be greater than status.replicas"
	if s.ReadyReplicas > s.Replicas {
		allErrs = append(allErrs, field.Invalid(p.Child("readyReplicas"), s.ReadyReplicas, msg))
	}
	if s.CurrentReplicas > s.Replicas {
		allErrs = append(allErrs, field.Invalid(p.Child("currentReplicas"), s.CurrentReplicas, msg))
	}
	if s.UpdatedReplicas > s.Replicas {
		allErrs = append(allErrs, field.Invalid(p.Child("updatedReplicas"), s.UpdatedReplicas, msg))
	}
	if s.AvailableReplicas > s.Replicas {
		allErrs = append(allErrs, field.Invalid(p.Child("availableReplicas"), s.AvailableReplicas, msg))
	}
	if s.AvailableReplicas > s.ReadyReplicas {
		allErrs = append(allErrs, field.Invalid(p.Child("availableReplicas"), s.AvailableReplicas, "cannot be greater than status.readyReplicas"))
	}
	allErrs = append(allErrs, validateObjectMetaUpdate(&ss.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))...)
	if isDecremented(s.CollisionCount, old.Status.CollisionCount) {
		allErrs = append(allErrs, field.Invalid(p.Child("collisionCount"), replicasOf(s.CollisionCount), "cannot be decremented"))
	}
	return allErrs
}

// ---- ControllerRevision ----

func validateControllerRevision(cr *appsv1.ControllerRevision) field.ErrorList {
	allErrs := validateObjectMeta(&cr.ObjectMeta, true, nameIsDNSSubdomain, field.NewPath("metadata"))
	return append(allErrs, validateNonnegativeField(cr.Revision, field.NewPath("revision"))...)
}

// validateControllerRevisionCreate is ValidateControllerRevisionCreate: data must be a JSON
// object.
func validateControllerRevisionCreate(cr *appsv1.ControllerRevision) field.ErrorList {
	allErrs := validateControllerRevision(cr)
	dataPath := field.NewPath("data")
	raw := cr.Data.Raw
	if raw == nil && cr.Data.Object != nil {
		// Built in process rather than decoded: judge the object's JSON form.
		b, err := json.Marshal(cr.Data.Object)
		if err != nil {
			return append(allErrs, field.Invalid(dataPath, "<value omitted>", fmt.Sprintf("error parsing data: %v", err.Error())))
		}
		raw = b
	}
	var v any
	if raw == nil {
		allErrs = append(allErrs, field.Required(dataPath, "data is mandatory"))
	} else if err := json.Unmarshal(raw, &v); err != nil {
		allErrs = append(allErrs, field.Invalid(dataPath, "<value omitted>", fmt.Sprintf("error parsing data: %v", err.Error())))
	} else if v == nil {
		allErrs = append(allErrs, field.Required(dataPath, "data is mandatory"))
	} else if _, isObject := v.(map[string]any); !isObject {
		allErrs = append(allErrs, field.Required(dataPath, "data must be a valid JSON object"))
	}
	return allErrs
}

// validateControllerRevisionUpdate is ValidateControllerRevisionUpdate: data may not change.
func validateControllerRevisionUpdate(cr, old *appsv1.ControllerRevision) field.ErrorList {
	allErrs := validateObjectMetaUpdate(&cr.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	allErrs = append(allErrs, validateControllerRevision(cr)...)
	return append(allErrs, validateImmutableField(cr.Data, old.Data, field.NewPath("data"))...)
}

// ---- ReplicationController ----

func validateReplicationController(rc *corev1.ReplicationController) field.ErrorList {
	allErrs := validateObjectMeta(&rc.ObjectMeta, true, nameIsDNSSubdomain, field.NewPath("metadata"))
	return append(allErrs, validateReplicationControllerSpec(&rc.Spec, field.NewPath("spec"))...)
}

// validateReplicationControllerSpec is ValidateReplicationControllerSpec. Unlike a ReplicaSet's,
// the selector is a plain map, must not be empty and may change on update.
func validateReplicationControllerSpec(spec *corev1.ReplicationControllerSpec, fldPath *field.Path) field.ErrorList {
	allErrs := validateNonnegativeField(int64(spec.MinReadySeconds), fldPath.Child("minReadySeconds"))
	selector := labels.Set(spec.Selector).AsSelector()
	if selector.Empty() {
		allErrs = append(allErrs, field.Required(fldPath.Child("selector"), ""))
	}
	if spec.Replicas == nil {
		allErrs = append(allErrs, field.Required(fldPath.Child("replicas"), ""))
	} else {
		allErrs = append(allErrs, validateNonnegativeField(int64(*spec.Replicas), fldPath.Child("replicas"))...)
	}
	templatePath := fldPath.Child("template")
	if spec.Template == nil {
		return append(allErrs, field.Required(templatePath, ""))
	}
	if !selector.Empty() && !selector.Matches(labels.Set(spec.Template.Labels)) {
		allErrs = append(allErrs, field.Invalid(templatePath.Child("metadata", "labels"), spec.Template.Labels, "`selector` does not match template `labels`"))
	}
	allErrs = append(allErrs, validatePodTemplateSpec(spec.Template, templatePath, podValidationOptions{})...)
	return append(allErrs, validateWorkloadRestartPolicy(spec.Template, templatePath, "ReplicationController")...)
}

func validateReplicationControllerUpdate(rc, old *corev1.ReplicationController) field.ErrorList {
	allErrs := validateObjectMetaUpdate(&rc.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	return append(allErrs, validateReplicationControllerSpec(&rc.Spec, field.NewPath("spec"))...)
}

func validateReplicationControllerStatusUpdate(rc, old *corev1.ReplicationController) field.ErrorList {
	allErrs := validateObjectMetaUpdate(&rc.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	s := rc.Status
	return append(allErrs, validateReplicaCounts(replicaCounts{s.Replicas, s.FullyLabeledReplicas, s.ReadyReplicas,
		s.AvailableReplicas, nil, s.ObservedGeneration}, field.NewPath("status"))...)
}

// ---- PodTemplate ----

func validatePodTemplate(pt *corev1.PodTemplate) field.ErrorList {
	allErrs := validateObjectMeta(&pt.ObjectMeta, true, nameIsDNSSubdomain, field.NewPath("metadata"))
	return append(allErrs, validatePodTemplateSpec(&pt.Template, field.NewPath("template"), podValidationOptions{})...)
}

func validatePodTemplateUpdate(pt, old *corev1.PodTemplate) field.ErrorList {
	allErrs := validateObjectMetaUpdate(&pt.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	return append(allErrs, validatePodTemplateSpec(&pt.Template, field.NewPath("template"), podValidationOptions{})...)
}
