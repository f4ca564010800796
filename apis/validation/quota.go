package validation

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff-dev/skiff/apis/helper"
)

// Resource quota and limit range validation after upstream's core validation
// (ValidateResourceQuota, ValidateLimitRange and their helpers): same field paths and messages.

var standardQuotaResources = sets.New[corev1.ResourceName](
	corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage,
	corev1.ResourceRequestsCPU, corev1.ResourceRequestsMemory, corev1.ResourceRequestsStorage,
	corev1.ResourceRequestsEphemeralStorage, corev1.ResourceLimitsCPU, corev1.ResourceLimitsMemory,
	corev1.ResourceLimitsEphemeralStorage, corev1.ResourcePods, corev1.ResourceQuotas, corev1.ResourceServices,
	corev1.ResourceReplicationControllers, corev1.ResourceSecrets, corev1.ResourcePersistentVolumeClaims,
	corev1.ResourceConfigMaps, corev1.ResourceServicesNodePorts, corev1.ResourceServicesLoadBalancers,
)

// integerQuotaResources are counted in whole units.
var integerQuotaResources = sets.New[corev1.ResourceName](
	corev1.ResourcePods, corev1.ResourceQuotas, corev1.ResourceServices, corev1.ResourceReplicationControllers,
	corev1.ResourceSecrets, corev1.ResourceConfigMaps, corev1.ResourcePersistentVolumeClaims,
	corev1.ResourceServicesNodePorts, corev1.ResourceServicesLoadBalancers,
)

var standardQuotaScopes = sets.New[corev1.ResourceQuotaScope](
	corev1.ResourceQuotaScopeTerminating, corev1.ResourceQuotaScopeNotTerminating,
	corev1.ResourceQuotaScopeBestEffort, corev1.ResourceQuotaScopeNotBestEffort,
	corev1.ResourceQuotaScopePriorityClass, corev1.ResourceQuotaScopeCrossNamespacePodAffinity,
	corev1.ResourceQuotaScopeVolumeAttributesClass,
)

var podComputeQuotaResources = sets.New[corev1.ResourceName](
	corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceLimitsCPU, corev1.ResourceLimitsMemory,
	corev1.ResourceRequestsCPU, corev1.ResourceRequestsMemory,
)

func isQuotaHugePageResourceName(name corev1.ResourceName) bool {
	return strings.HasPrefix(string(name), corev1.ResourceHugePagesPrefix) ||
		strings.HasPrefix(string(name), corev1.ResourceRequestsHugePagesPrefix)
}

func isStandardQuotaResourceName(name corev1.ResourceName) bool {
	return standardQuotaResources.Has(name) || isQuotaHugePageResourceName(name)
}

// quotaScopeValidForResource is upstream's IsResourceQuotaScopeValidForResource.
func quotaScopeValidForResource(scope corev1.ResourceQuotaScope, name corev1.ResourceName) bool {
	switch scope {
	case corev1.ResourceQuotaScopeTerminating, corev1.ResourceQuotaScopeNotTerminating,
		corev1.ResourceQuotaScopeNotBestEffort, corev1.ResourceQuotaScopePriorityClass,
		corev1.ResourceQuotaScopeCrossNamespacePodAffinity:
		return name == corev1.ResourcePods || podComputeQuotaResources.Has(name)
	case corev1.ResourceQuotaScopeBestEffort:
		return name == corev1.ResourcePods
	case corev1.ResourceQuotaScopeVolumeAttributesClass:
		return name == corev1.ResourcePersistentVolumeClaims || name == corev1.ResourceRequestsStorage
	default:
		return true
	}
}

// validateGenericResourceName is upstream's validateResourceName: qualified, and standard when
// not prefixed.
func validateGenericResourceName(value corev1.ResourceName, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	for _, msg := range validation.IsQualifiedName(string(value)) {
		allErrs = append(allErrs, field.Invalid(fldPath, value, msg))
	}
	if len(allErrs) != 0 {
		return allErrs
	}
	if !strings.Contains(string(value), "/") && !standardResources.Has(value) && value != corev1.ResourceStorage && !isQuotaHugePageResourceName(value) {
		allErrs = append(allErrs, field.Invalid(fldPath, value, "must be a standard resource type or fully qualified"))
	}
	return allErrs
}

func validateQuotaResourceName(value corev1.ResourceName, fldPath *field.Path) field.ErrorList {
	allErrs := validateGenericResourceName(value, fldPath)
	if !strings.Contains(string(value), "/") && !isStandardQuotaResourceName(value) {
		allErrs = append(allErrs, field.Invalid(fldPath, value, "must be a standard resource for quota"))
	}
	return allErrs
}

func validateQuotaQuantity(name corev1.ResourceName, value resource.Quantity, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if value.Cmp(resource.Quantity{}) < 0 {
		allErrs = append(allErrs, field.Invalid(fldPath, value.String(), isNegativeErrorMsg))
	}
	if (integerQuotaResources.Has(name) || helper.IsExtendedResourceName(name)) && value.MilliValue()%1000 != 0 {
		allErrs = append(allErrs, field.Invalid(fldPath, value, isNotIntegerErrorMsg))
	}
	return allErrs
}

func validateQuotaResourceList(list corev1.ResourceList, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	for _, name := range sortedResourceNames(list) {
		p := fldPath.Key(string(name))
		allErrs = append(allErrs, validateQuotaResourceName(name, p)...)
		allErrs = append(allErrs, validateQuotaQuantity(name, list[name], p)...)
	}
	return allErrs
}

func validateResourceQuota(q *corev1.ResourceQuota) field.ErrorList {
	allErrs := validateObjectMeta(&q.ObjectMeta, true, nameIsDNSSubdomain, field.NewPath("metadata"))
	allErrs = append(allErrs, validateResourceQuotaSpec(&q.Spec, field.NewPath("spec"))...)
	return append(allErrs, validateResourceQuotaStatus(&q.Status, field.NewPath("status"))...)
}

func validateResourceQuotaSpec(spec *corev1.ResourceQuotaSpec, fldPath *field.Path) field.ErrorList {
	allErrs := validateQuotaResourceList(spec.Hard, fldPath.Child("hard"))
	allErrs = append(allErrs, validateQuotaScopes(spec, fldPath)...)
	return append(allErrs, validateQuotaScopeSelector(spec, fldPath)...)
}

func validateResourceQuotaStatus(status *corev1.ResourceQuotaStatus, fldPath *field.Path) field.ErrorList {
	allErrs := validateQuotaResourceList(status.Hard, fldPath.Child("hard"))
	return append(allErrs, validateQuotaResourceList(status.Used, fldPath.Child("used"))...)
}

var conflictingScopes = [][2]corev1.ResourceQuotaScope{
	{corev1.ResourceQuotaScopeBestEffort, corev1.ResourceQuotaScopeNotBestEffort},
	{corev1.ResourceQuotaScopeTerminating, corev1.ResourceQuotaScopeNotTerminating},
}

func validateQuotaScopes(spec *corev1.ResourceQuotaSpec, fld *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if len(spec.Scopes) == 0 {
		return nil
	}
	fldPath := fld.Child("scopes")
	hard := sortedResourceNames(spec.Hard)
	seen := sets.New[corev1.ResourceQuotaScope]()
	for _, scope := range spec.Scopes {
		if !standardQuotaScopes.Has(scope) {
			allErrs = append(allErrs, field.Invalid(fldPath, spec.Scopes, "unsupported scope"))
		}
		for _, name := range hard {
			if isStandardQuotaResourceName(name) && !quotaScopeValidForResource(scope, name) {
				allErrs = append(allErrs, field.Invalid(fldPath, spec.Scopes, "unsupported scope applied to resource"))
			}
		}
		seen.Insert(scope)
	}
	for _, pair := range conflictingScopes {
		if seen.Has(pair[0]) && seen.Has(pair[1]) {
			allErrs = append(allErrs, field.Invalid(fldPath, spec.Scopes, "conflicting scopes"))
		}
	}
	return allErrs
}

func validateQuotaScopeSelector(spec *corev1.ResourceQuotaSpec, fld *field.Path) field.ErrorList {
	if spec.ScopeSelector == nil {
		return nil
	}
	var allErrs field.ErrorList
	fldPath := fld.Child("scopeSelector", "matchExpressions")
	hard := sortedResourceNames(spec.Hard)
	seen := sets.New[corev1.ResourceQuotaScope]()
	for _, req := range spec.ScopeSelector.MatchExpressions {
		if !standardQuotaScopes.Has(req.ScopeName) {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("scopeName"), req.ScopeName, "unsupported scope"))
		}
		for _, name := range hard {
			if isStandardQuotaResourceName(name) && !quotaScopeValidForResource(req.ScopeName, name) {
				allErrs = append(allErrs, field.Invalid(fldPath, spec.ScopeSelector, "unsupported scope applied to resource"))
			}
		}
		switch req.ScopeName {
		case corev1.ResourceQuotaScopeBestEffort, corev1.ResourceQuotaScopeNotBestEffort,
			corev1.ResourceQuotaScopeTerminating, corev1.ResourceQuotaScopeNotTerminating,
			corev1.ResourceQuotaScopeCrossNamespacePodAffinity:
			if req.Operator != corev1.ScopeSelectorOpExists {
				allErrs = append(allErrs, field.Invalid(fldPath.Child("operator"), req.Operator,
					"must be 'Exist' when scope is any of ResourceQuotaScopeTerminating, ResourceQuotaScopeNotTerminating, ResourceQuotaScopeBestEffort, ResourceQuotaScopeNotBestEffort or ResourceQuotaScopeCrossNamespacePodAffinity"))
			}
		}
		switch req.Operator {
		case corev1.ScopeSelectorOpIn, corev1.ScopeSelectorOpNotIn:
			if len(req.Values) == 0 {
				allErrs = append(allErrs, field.Required(fldPath.Child("values"),
					"must be at least one value when `operator` is 'In' or 'NotIn' for scope selector"))
			}
		case corev1.ScopeSelectorOpExists, corev1.ScopeSelectorOpDoesNotExist:
			if len(req.Values) != 0 {
				allErrs = append(allErrs, field.Invalid(fldPath.Child("values"), req.Values,
					"must be no value when `operator` is 'Exist' or 'DoesNotExist' for scope selector"))
			}
		default:
			allErrs = append(allErrs, field.Invalid(fldPath.Child("operator"), req.Operator, "not a valid selector operator"))
		}
		seen.Insert(req.ScopeName)
	}
	for _, pair := range conflictingScopes {
		if seen.Has(pair[0]) && seen.Has(pair[1]) {
			allErrs = append(allErrs, field.Invalid(fldPath, spec.Scopes, "conflicting scopes"))
		}
	}
	return allErrs
}

func validateResourceQuotaUpdate(q, old *corev1.ResourceQuota) field.ErrorList {
	allErrs := validateObjectMetaUpdate(&q.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	allErrs = append(allErrs, validateResourceQuotaSpec(&q.Spec, field.NewPath("spec"))...)
	if !sets.New(q.Spec.Scopes...).Equal(sets.New(old.Spec.Scopes...)) {
		allErrs = append(allErrs, field.Invalid(field.NewPath("spec", "scopes"), q.Spec.Scopes, fieldImmutableErrorMsg))
	}
	return allErrs
}

func validateResourceQuotaStatusUpdate(q, old *corev1.ResourceQuota) field.ErrorList {
	allErrs := validateObjectMetaUpdate(&q.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	if q.ResourceVersion == "" {
		allErrs = append(allErrs, field.Required(field.NewPath("resourceVersion"), ""))
	}
	return append(allErrs, validateResourceQuotaStatus(&q.Status, field.NewPath("status"))...)
}

var standardLimitTypes = sets.New[corev1.LimitType](corev1.LimitTypePod, corev1.LimitTypeContainer, corev1.LimitTypePersistentVolumeClaim)

func validateLimitRangeTypeName(value corev1.LimitType, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	for _, msg := range validation.IsQualifiedName(string(value)) {
		allErrs = append(allErrs, field.Invalid(fldPath, value, msg))
	}
	if len(allErrs) == 0 && !strings.Contains(string(value), "/") && !standardLimitTypes.Has(value) {
		allErrs = append(allErrs, field.Invalid(fldPath, value, "must be a standard limit type or fully qualified"))
	}
	return allErrs
}

func validateLimitRangeResourceName(limitType corev1.LimitType, value corev1.ResourceName, fldPath *field.Path) field.ErrorList {
	switch limitType {
	case corev1.LimitTypePod, corev1.LimitTypeContainer:
		return validateContainerResourceName(value, fldPath)
	default:
		return validateGenericResourceName(value, fldPath)
	}
}

func validateLimitRange(lr *corev1.LimitRange) field.ErrorList {
	allErrs := validateObjectMeta(&lr.ObjectMeta, true, nameIsDNSSubdomain, field.NewPath("metadata"))
	types := sets.New[corev1.LimitType]()
	fldPath := field.NewPath("spec", "limits")
	for i := range lr.Spec.Limits {
		idxPath := fldPath.Index(i)
		item := &lr.Spec.Limits[i]
		allErrs = append(allErrs, validateLimitRangeTypeName(item.Type, idxPath.Child("type"))...)
		if types.Has(item.Type) {
			allErrs = append(allErrs, field.Duplicate(idxPath.Child("type"), item.Type))
		}
		types.Insert(item.Type)

		keys := sets.New[corev1.ResourceName]()
		collect := func(list corev1.ResourceList, child string) {
			for _, k := range sortedResourceNames(list) {
				allErrs = append(allErrs, validateLimitRangeResourceName(item.Type, k, idxPath.Child(child).Key(string(k)))...)
				keys.Insert(k)
			}
		}
		collect(item.Max, "max")
		collect(item.Min, "min")
		defaults, defaultRequests := item.Default, item.DefaultRequest
		if item.Type == corev1.LimitTypePod {
			if len(item.Default) > 0 {
				allErrs = append(allErrs, field.Forbidden(idxPath.Child("default"), "may not be specified when `type` is 'Pod'"))
			}
			if len(item.DefaultRequest) > 0 {
				allErrs = append(allErrs, field.Forbidden(idxPath.Child("defaultRequest"), "may not be specified when `type` is 'Pod'"))
			}
			defaults, defaultRequests = nil, nil
		} else {
			collect(item.Default, "default")
			collect(item.DefaultRequest, "defaultRequest")
		}
		if item.Type == corev1.LimitTypePersistentVolumeClaim {
			_, minFound := item.Min[corev1.ResourceStorage]
			_, maxFound := item.Max[corev1.ResourceStorage]
			if !minFound && !maxFound {
				allErrs = append(allErrs, field.Required(idxPath.Child("limits"), "either minimum or maximum storage value is required, but neither was provided"))
			}
		}
		collect(item.MaxLimitRequestRatio, "maxLimitRequestRatio")

		names := sets.List(keys)
		sort.Slice(names, func(a, b int) bool { return names[a] < names[b] })
		for _, k := range names {
			minQ, minFound := item.Min[k]
			maxQ, maxFound := item.Max[k]
			defQ, defFound := defaults[k]
			defReqQ, defReqFound := defaultRequests[k]
			ratio, ratioFound := item.MaxLimitRequestRatio[k]
			if minFound && maxFound && minQ.Cmp(maxQ) > 0 {
				allErrs = append(allErrs, field.Invalid(idxPath.Child("min").Key(string(k)), minQ, fmt.Sprintf("min value %s is greater than max value %s", minQ.String(), maxQ.String())))
			}
			if defReqFound && minFound && minQ.Cmp(defReqQ) > 0 {
				allErrs = append(allErrs, field.Invalid(idxPath.Child("defaultRequest").Key(string(k)), defReqQ, fmt.Sprintf("min value %s is greater than default request value %s", minQ.String(), defReqQ.String())))
			}
			if defReqFound && maxFound && defReqQ.Cmp(maxQ) > 0 {
				allErrs = append(allErrs, field.Invalid(idxPath.Child("defaultRequest").Key(string(k)), defReqQ, fmt.Sprintf("default request value %s is greater than max value %s", defReqQ.String(), maxQ.String())))
			}
			if defReqFound && defFound && defReqQ.Cmp(defQ) > 0 {
				allErrs = append(allErrs, field.Invalid(idxPath.Child("defaultRequest").Key(string(k)), defReqQ, fmt.Sprintf("default request value %s is greater than default limit value %s", defReqQ.String(), defQ.String())))
			}
			if defFound && minFound && minQ.Cmp(defQ) > 0 {
				allErrs = append(allErrs, field.Invalid(idxPath.Child("default").Key(string(k)), minQ, fmt.Sprintf("min value %s is greater than default value %s", minQ.String(), defQ.String())))
			}
			if defFound && maxFound && defQ.Cmp(maxQ) > 0 {
				allErrs = append(allErrs, field.Invalid(idxPath.Child("default").Key(string(k)), maxQ, fmt.Sprintf("default value %s is greater than max value %s", defQ.String(), maxQ.String())))
			}
			if ratioFound && ratio.Cmp(*resource.NewQuantity(1, resource.DecimalSI)) < 0 {
				allErrs = append(allErrs, field.Invalid(idxPath.Child("maxLimitRequestRatio").Key(string(k)), ratio, fmt.Sprintf("ratio %s is less than 1", ratio.String())))
			}
			if ratioFound && minFound && maxFound {
				ratioValue, minValue, maxValue := float64(ratio.Value()), minQ.Value(), maxQ.Value()
				if ratio.Value() < resource.MaxMilliValue && minValue < resource.MaxMilliValue && maxValue < resource.MaxMilliValue {
					ratioValue = float64(ratio.MilliValue()) / 1000
					minValue, maxValue = minQ.MilliValue(), maxQ.MilliValue()
				}
				if minValue != 0 {
					limit := float64(maxValue) / float64(minValue)
					if ratioValue > limit {
						allErrs = append(allErrs, field.Invalid(idxPath.Child("maxLimitRequestRatio").Key(string(k)), ratio, fmt.Sprintf("ratio %s is greater than max/min = %f", ratio.String(), limit)))
					}
				}
			}
			if !isOvercommitAllowed(k) && defFound && defReqFound && defQ.Cmp(defReqQ) != 0 {
				allErrs = append(allErrs, field.Invalid(idxPath.Child("defaultRequest").Key(string(k)), defReqQ, fmt.Sprintf("default value %s must equal to defaultRequest value %s in %s", defQ.String(), defReqQ.String(), k)))
			}
		}
	}
	return allErrs
}

func validateLimitRangeUpdate(lr, old *corev1.LimitRange) field.ErrorList {
	allErrs := validateObjectMetaUpdate(&lr.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	return append(allErrs, validateLimitRange(lr)...)
}
