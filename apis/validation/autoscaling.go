package validation

import (
	"fmt"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/apimachinery/pkg/api/validation/path"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// ---- autoscaling/v2 HorizontalPodAutoscaler (the internal version; v1 is converted to it) ----

const (
	// maxPeriodSeconds is the largest scaling policy period, as upstream's MaxPeriodSeconds.
	maxPeriodSeconds int32 = 1800
	// maxStabilizationWindowSeconds is upstream's MaxStabilizationWindowSeconds.
	maxStabilizationWindowSeconds int32 = 3600
)

// validateAutoscalingCreate validates new autoscaling objects; ok is false for other kinds.
func validateAutoscalingCreate(obj runtime.Object) (field.ErrorList, bool) {
	if hpa, ok := obj.(*autoscalingv2.HorizontalPodAutoscaler); ok {
		allErrs := validateObjectMeta(&hpa.ObjectMeta, true, nameIsDNSSubdomain, field.NewPath("metadata"))
		return append(allErrs, validateHorizontalPodAutoscalerSpec(hpa.Spec, field.NewPath("spec"), 1)...), true
	}
	return nil, false
}

// validateAutoscalingUpdate validates updates of autoscaling objects; ok is false for other kinds.
func validateAutoscalingUpdate(obj, old runtime.Object) (field.ErrorList, bool) {
	hpa, prev, allErrs, ok := hpaUpdate(obj, old)
	if !ok || prev == nil {
		return allErrs, ok
	}
	// An autoscaler that already has minReplicas 0 (HPAScaleToZero) may keep it.
	lower := int32(1)
	if prev.Spec.MinReplicas != nil && *prev.Spec.MinReplicas == 0 {
		lower = 0
	}
	return append(allErrs, validateHorizontalPodAutoscalerSpec(hpa.Spec, field.NewPath("spec"), lower)...), true
}

// validateAutoscalingStatusUpdate is ValidateHorizontalPodAutoscalerStatusUpdate.
func validateAutoscalingStatusUpdate(obj, old runtime.Object) (field.ErrorList, bool) {
	hpa, prev, allErrs, ok := hpaUpdate(obj, old)
	if !ok || prev == nil {
		return allErrs, ok
	}
	allErrs = append(allErrs, validateNonnegativeField(int64(hpa.Status.CurrentReplicas), field.NewPath("status", "currentReplicas"))...)
	return append(allErrs, validateNonnegativeField(int64(hpa.Status.DesiredReplicas), field.NewPath("status", "desiredReplicas"))...), true
}

// hpaUpdate is the shared start of the update checks: ok is false for other kinds; prev is nil
// (with an error) when old is of another type; otherwise allErrs holds the metadata checks.
func hpaUpdate(obj, old runtime.Object) (hpa, prev *autoscalingv2.HorizontalPodAutoscaler, allErrs field.ErrorList, ok bool) {
	hpa, ok = obj.(*autoscalingv2.HorizontalPodAutoscaler)
	if !ok {
		return nil, nil, nil, false
	}
	prev, isHPA := old.(*autoscalingv2.HorizontalPodAutoscaler)
	if !isHPA {
		return hpa, nil, mismatchedOld(obj, old), true
	}
	return hpa, prev, validateObjectMetaUpdate(&hpa.ObjectMeta, &prev.ObjectMeta, field.NewPath("metadata")), true
}

func validateHorizontalPodAutoscalerSpec(spec autoscalingv2.HorizontalPodAutoscalerSpec, fldPath *field.Path, minReplicasLowerBound int32) field.ErrorList {
	var allErrs field.ErrorList
	if spec.MinReplicas != nil && *spec.MinReplicas < minReplicasLowerBound {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("minReplicas"), *spec.MinReplicas,
			fmt.Sprintf("must be greater than or equal to %d", minReplicasLowerBound)))
	}
	if spec.MaxReplicas < 1 {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("maxReplicas"), spec.MaxReplicas, "must be greater than 0"))
	}
	if spec.MinReplicas != nil && spec.MaxReplicas < *spec.MinReplicas {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("maxReplicas"), spec.MaxReplicas, "must be greater than or equal to `minReplicas`"))
	}
	allErrs = append(allErrs, validateCrossVersionObjectReference(spec.ScaleTargetRef, fldPath.Child("scaleTargetRef"))...)
	allErrs = append(allErrs, validateHPAMetrics(spec.Metrics, fldPath.Child("metrics"), spec.MinReplicas)...)
	return append(allErrs, validateHPABehavior(spec.Behavior, fldPath.Child("behavior"))...)
}

func validateCrossVersionObjectReference(ref autoscalingv2.CrossVersionObjectReference, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if len(ref.Kind) == 0 {
		allErrs = append(allErrs, field.Required(fldPath.Child("kind"), ""))
	} else {
		for _, msg := range path.IsValidPathSegmentName(ref.Kind) {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("kind"), ref.Kind, msg))
		}
	}
	if len(ref.Name) == 0 {
		allErrs = append(allErrs, field.Required(fldPath.Child("name"), ""))
	} else {
		for _, msg := range path.IsValidPathSegmentName(ref.Name) {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("name"), ref.Name, msg))
		}
	}
	return allErrs
}

func validateHPAMetrics(metrics []autoscalingv2.MetricSpec, fldPath *field.Path, minReplicas *int32) field.ErrorList {
	var allErrs field.ErrorList
	objectOrExternal := false
	for i, m := range metrics {
		allErrs = append(allErrs, validateMetricSpec(m, fldPath.Index(i))...)
		if m.Type == autoscalingv2.ObjectMetricSourceType || m.Type == autoscalingv2.ExternalMetricSourceType {
			objectOrExternal = true
		}
	}
	if minReplicas != nil && *minReplicas == 0 && !objectOrExternal {
		allErrs = append(allErrs, field.Forbidden(fldPath, "must specify at least one Object or External metric to support scaling to zero replicas"))
	}
	return allErrs
}

var (
	validSelectPolicies = sets.New(string(autoscalingv2.MaxChangePolicySelect), string(autoscalingv2.MinChangePolicySelect), string(autoscalingv2.DisabledPolicySelect))
	validPolicyTypes    = sets.New(string(autoscalingv2.PodsScalingPolicy), string(autoscalingv2.PercentScalingPolicy))
	validMetricSources  = sets.New(string(autoscalingv2.ObjectMetricSourceType), string(autoscalingv2.PodsMetricSourceType),
		string(autoscalingv2.ResourceMetricSourceType), string(autoscalingv2.ExternalMetricSourceType), string(autoscalingv2.ContainerResourceMetricSourceType))
)

func validateHPABehavior(b *autoscalingv2.HorizontalPodAutoscalerBehavior, fldPath *field.Path) field.ErrorList {
	if b == nil {
		return nil
	}
	allErrs := validateScalingRules(b.ScaleUp, fldPath.Child("scaleUp"))
	return append(allErrs, validateScalingRules(b.ScaleDown, fldPath.Child("scaleDown"))...)
}

func validateScalingRules(rules *autoscalingv2.HPAScalingRules, fldPath *field.Path) field.ErrorList {
	if rules == nil {
		return nil
	}
	var allErrs field.ErrorList
	if w := rules.StabilizationWindowSeconds; w != nil && *w < 0 {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("stabilizationWindowSeconds"), *w, "must be greater than or equal to zero"))
	}
	if w := rules.StabilizationWindowSeconds; w != nil && *w > maxStabilizationWindowSeconds {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("stabilizationWindowSeconds"), *w,
			fmt.Sprintf("must be less than or equal to %v", maxStabilizationWindowSeconds)))
	}
	if p := rules.SelectPolicy; p != nil && !validSelectPolicies.Has(string(*p)) {
		allErrs = append(allErrs, field.NotSupported(fldPath.Child("selectPolicy"), *p, sets.List(validSelectPolicies)))
	}
	if t := rules.Tolerance; t != nil && t.Sign() < 0 {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("tolerance"), t.String(), "must be greater than or equal to zero"))
	}
	policies := fldPath.Child("policies")
	if len(rules.Policies) == 0 {
		allErrs = append(allErrs, field.Required(policies, "must specify at least one Policy"))
	}
	for i, p := range rules.Policies {
		idx := policies.Index(i)
		if !validPolicyTypes.Has(string(p.Type)) {
			allErrs = append(allErrs, field.NotSupported(idx.Child("type"), p.Type, sets.List(validPolicyTypes)))
		}
		if p.Value <= 0 {
			allErrs = append(allErrs, field.Invalid(idx.Child("value"), p.Value, "must be greater than zero"))
		}
		if p.PeriodSeconds <= 0 {
			allErrs = append(allErrs, field.Invalid(idx.Child("periodSeconds"), p.PeriodSeconds, "must be greater than zero"))
		}
		if p.PeriodSeconds > maxPeriodSeconds {
			allErrs = append(allErrs, field.Invalid(idx.Child("periodSeconds"), p.PeriodSeconds,
				fmt.Sprintf("must be less than or equal to %v", maxPeriodSeconds)))
		}
	}
	return allErrs
}

// validateMetricSpec checks that the type names one source, that exactly that source is given
// and that it is valid, as upstream's.
func validateMetricSpec(spec autoscalingv2.MetricSpec, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if len(spec.Type) == 0 {
		allErrs = append(allErrs, field.Required(fldPath.Child("type"), "must specify a metric source type"))
	}
	if !validMetricSources.Has(string(spec.Type)) {
		allErrs = append(allErrs, field.NotSupported(fldPath.Child("type"), spec.Type, sets.List(validMetricSources)))
	}
	present := sets.New[string]()
	check := func(name string, given bool, validate func() field.ErrorList) {
		if !given {
			return
		}
		present.Insert(name)
		if present.Len() == 1 {
			allErrs = append(allErrs, validate()...)
		}
	}
	check("object", spec.Object != nil, func() field.ErrorList { return validateObjectSource(spec.Object, fldPath.Child("object")) })
	check("external", spec.External != nil, func() field.ErrorList { return validateExternalSource(spec.External, fldPath.Child("external")) })
	check("pods", spec.Pods != nil, func() field.ErrorList { return validatePodsSource(spec.Pods, fldPath.Child("pods")) })
	check("resource", spec.Resource != nil, func() field.ErrorList {
		return validateResourceTarget(spec.Resource.Target, fldPath.Child("resource"), len(spec.Resource.Name) == 0)
	})
	check("containerResource", spec.ContainerResource != nil, func() field.ErrorList {
		return validateContainerResourceSource(spec.ContainerResource, fldPath.Child("containerResource"))
	})
	expected := map[autoscalingv2.MetricSourceType]string{
		autoscalingv2.ObjectMetricSourceType: "object", autoscalingv2.PodsMetricSourceType: "pods",
		autoscalingv2.ResourceMetricSourceType: "resource", autoscalingv2.ExternalMetricSourceType: "external",
		autoscalingv2.ContainerResourceMetricSourceType: "containerResource",
	}[spec.Type]
	if expected == "" {
		allErrs = append(allErrs, field.NotSupported(fldPath.Child("type"), spec.Type, sets.List(validMetricSources)))
	} else if !present.Has(expected) {
		allErrs = append(allErrs, field.Required(fldPath.Child(expected), "must populate information for the given metric source"))
	}
	if present.Len() != 1 {
		present.Delete(expected)
		for _, typ := range sets.List(present) {
			allErrs = append(allErrs, field.Forbidden(fldPath.Child(typ), "must populate the given metric source only"))
		}
	}
	return allErrs
}

func validateObjectSource(src *autoscalingv2.ObjectMetricSource, fldPath *field.Path) field.ErrorList {
	allErrs := validateCrossVersionObjectReference(src.DescribedObject, fldPath.Child("describedObject"))
	allErrs = append(allErrs, validateMetricIdentifier(src.Metric, fldPath.Child("metric"))...)
	allErrs = append(allErrs, validateMetricTarget(src.Target, fldPath.Child("target"))...)
	if src.Target.Value == nil && src.Target.AverageValue == nil {
		allErrs = append(allErrs, field.Required(fldPath.Child("target").Child("averageValue"), "must set either a target value or averageValue"))
	}
	return allErrs
}

func validateExternalSource(src *autoscalingv2.ExternalMetricSource, fldPath *field.Path) field.ErrorList {
	allErrs := validateMetricIdentifier(src.Metric, fldPath.Child("metric"))
	allErrs = append(allErrs, validateMetricTarget(src.Target, fldPath.Child("target"))...)
	if src.Target.Value == nil && src.Target.AverageValue == nil {
		allErrs = append(allErrs, field.Required(fldPath.Child("target").Child("averageValue"), "must set either a target value for metric or a per-pod target"))
	}
	if src.Target.Value != nil && src.Target.AverageValue != nil {
		allErrs = append(allErrs, field.Forbidden(fldPath.Child("target").Child("value"), "may not set both a target value for metric and a per-pod target"))
	}
	return allErrs
}

func validatePodsSource(src *autoscalingv2.PodsMetricSource, fldPath *field.Path) field.ErrorList {
	allErrs := validateMetricIdentifier(src.Metric, fldPath.Child("metric"))
	allErrs = append(allErrs, validateMetricTarget(src.Target, fldPath.Child("target"))...)
	if src.Target.AverageValue == nil {
		allErrs = append(allErrs, field.Required(fldPath.Child("target").Child("averageValue"), "must specify a positive target averageValue"))
	}
	return allErrs
}

func validateContainerResourceSource(src *autoscalingv2.ContainerResourceMetricSource, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if len(src.Name) == 0 {
		allErrs = append(allErrs, field.Required(fldPath.Child("name"), "must specify a resource name"))
	} else {
		allErrs = append(allErrs, validateContainerResourceName(src.Name, fldPath.Child("name"))...)
	}
	if len(src.Container) == 0 {
		allErrs = append(allErrs, field.Required(fldPath.Child("container"), "must specify a container"))
	} else {
		allErrs = append(allErrs, validateDNS1123Label(src.Container, fldPath.Child("container"))...)
	}
	return append(allErrs, validateUtilizationOrValue(src.Target, fldPath)...)
}

// validateResourceTarget is validateResourceSource; noName reports a missing resource name.
func validateResourceTarget(t autoscalingv2.MetricTarget, fldPath *field.Path, noName bool) field.ErrorList {
	var allErrs field.ErrorList
	if noName {
		allErrs = append(allErrs, field.Required(fldPath.Child("name"), "must specify a resource name"))
	}
	return append(allErrs, validateUtilizationOrValue(t, fldPath)...)
}

func validateUtilizationOrValue(t autoscalingv2.MetricTarget, fldPath *field.Path) field.ErrorList {
	allErrs := validateMetricTarget(t, fldPath.Child("target"))
	if t.AverageUtilization == nil && t.AverageValue == nil {
		allErrs = append(allErrs, field.Required(fldPath.Child("target").Child("averageUtilization"), "must set either a target raw value or a target utilization"))
	}
	if t.AverageUtilization != nil && t.AverageValue != nil {
		allErrs = append(allErrs, field.Forbidden(fldPath.Child("target").Child("averageValue"), "may not set both a target raw value and a target utilization"))
	}
	return allErrs
}

func validateMetricTarget(mt autoscalingv2.MetricTarget, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if len(mt.Type) == 0 {
		allErrs = append(allErrs, field.Required(fldPath.Child("type"), "must specify a metric target type"))
	}
	if mt.Type != autoscalingv2.UtilizationMetricType && mt.Type != autoscalingv2.ValueMetricType && mt.Type != autoscalingv2.AverageValueMetricType {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("type"), mt.Type, "must be either Utilization, Value, or AverageValue"))
	}
	if mt.Value != nil && mt.Value.Sign() != 1 {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("value"), mt.Value.String(), "must be positive"))
	}
	if mt.AverageValue != nil && mt.AverageValue.Sign() != 1 {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("averageValue"), mt.AverageValue.String(), "must be positive"))
	}
	if mt.AverageUtilization != nil && *mt.AverageUtilization < 1 {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("averageUtilization"), *mt.AverageUtilization, "must be greater than 0"))
	}
	return allErrs
}

func validateMetricIdentifier(id autoscalingv2.MetricIdentifier, fldPath *field.Path) field.ErrorList {
	if len(id.Name) == 0 {
		return field.ErrorList{field.Required(fldPath.Child("name"), "must specify a metric name")}
	}
	var allErrs field.ErrorList
	for _, msg := range path.IsValidPathSegmentName(id.Name) {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("name"), id.Name, msg))
	}
	return allErrs
}
