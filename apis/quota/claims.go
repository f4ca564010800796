package quota

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apiserver/pkg/admission"
	quota "k8s.io/apiserver/pkg/quota/v1"
	"k8s.io/apiserver/pkg/quota/v1/generic"

	"github.com/skiff-dev/skiff/apis/helper"
)

var claimsGR = corev1.SchemeGroupVersion.WithResource("persistentvolumeclaims").GroupResource()

// claimCountName is count/persistentvolumeclaims.
var claimCountName = generic.ObjectCountQuotaResourceNameFor(claimsGR)

var claimResources = []corev1.ResourceName{corev1.ResourcePersistentVolumeClaims, corev1.ResourceRequestsStorage}

// StorageClassSuffix joins a class and a claim resource into a per-class quota resource:
// "<class>.storageclass.storage.k8s.io/requests.storage".
const StorageClassSuffix = ".storageclass.storage.k8s.io/"

// ResourceByStorageClass is the per-class name of a claim resource, as upstream's
// V1ResourceByStorageClass.
func ResourceByStorageClass(class string, name corev1.ResourceName) corev1.ResourceName {
	return corev1.ResourceName(class + StorageClassSuffix + string(name))
}

// ClaimEvaluator measures PersistentVolumeClaims as upstream's pvcEvaluator: the count (as
// persistentvolumeclaims and count/persistentvolumeclaims), requests.storage, and both per
// storage class; the VolumeAttributesClass scope.
type ClaimEvaluator struct {
	list generic.ListFuncByNamespace
}

var _ quota.Evaluator = &ClaimEvaluator{}

// NewClaimEvaluator returns the claim evaluator; list may be nil for admission-only use.
func NewClaimEvaluator(list generic.ListFuncByNamespace) *ClaimEvaluator {
	return &ClaimEvaluator{list: list}
}

func asClaim(obj runtime.Object) (*corev1.PersistentVolumeClaim, error) {
	pvc, ok := obj.(*corev1.PersistentVolumeClaim)
	if !ok || pvc == nil {
		return nil, fmt.Errorf("expect *api.PersistentVolumeClaim or *v1.PersistentVolumeClaim, got %T", obj)
	}
	return pvc, nil
}

// Constraints has none for claims.
func (e *ClaimEvaluator) Constraints([]corev1.ResourceName, runtime.Object) error { return nil }

// GroupResource is core persistentvolumeclaims.
func (e *ClaimEvaluator) GroupResource() schema.GroupResource { return claimsGR }

// Handles creates and updates (a resize charges the new request), and status updates that
// change what the claim is charged (allocated storage, attribute classes).
func (e *ClaimEvaluator) Handles(a admission.Attributes) bool {
	op := a.GetOperation()
	switch a.GetSubresource() {
	case "":
		return op == admission.Create || op == admission.Update
	case "status":
		pvc, err1 := asClaim(a.GetObject())
		old, err2 := asClaim(a.GetOldObject())
		return err1 == nil && err2 == nil && RequiresQuotaReplenish(pvc, old)
	}
	return false
}

// RequiresQuotaReplenish reports whether a status change changes the claim's charge.
func RequiresQuotaReplenish(pvc, old *corev1.PersistentVolumeClaim) bool {
	if old.Status.AllocatedResources.Storage().Cmp(*pvc.Status.AllocatedResources.Storage()) != 0 {
		return true
	}
	return !attributesClasses(old).Equal(attributesClasses(pvc))
}

// Matches tells whether the quota covers the claim.
func (e *ClaimEvaluator) Matches(q *corev1.ResourceQuota, item runtime.Object) (bool, error) {
	return generic.Matches(q, item, e.MatchingResources, claimMatchesScope)
}

// MatchingResources returns the resources of input that claims use, per-class ones included.
func (e *ClaimEvaluator) MatchingResources(input []corev1.ResourceName) []corev1.ResourceName {
	result := []corev1.ResourceName{}
	for _, name := range input {
		if name == claimCountName || quota.Contains(claimResources, name) {
			result = append(result, name)
			continue
		}
		for _, r := range claimResources {
			if strings.HasSuffix(string(name), StorageClassSuffix+string(r)) {
				result = append(result, name)
				break
			}
		}
	}
	return result
}

// MatchingScopes returns the scope selectors the claim matches.
func (e *ClaimEvaluator) MatchingScopes(item runtime.Object, scopes []corev1.ScopedResourceSelectorRequirement) ([]corev1.ScopedResourceSelectorRequirement, error) {
	return matchingScopes(item, scopes, claimMatchesScope)
}

// UncoveredQuotaScopes returns the limited scopes no matched quota scope covers.
func (e *ClaimEvaluator) UncoveredQuotaScopes(limited, matched []corev1.ScopedResourceSelectorRequirement) ([]corev1.ScopedResourceSelectorRequirement, error) {
	return uncoveredScopes(limited, matched), nil
}

// Usage is what the claim is charged: one claim (per class too) and its storage request rounded
// up to a whole byte, or the allocated storage when larger (an expansion under way).
func (e *ClaimEvaluator) Usage(item runtime.Object) (corev1.ResourceList, error) {
	result := corev1.ResourceList{}
	pvc, err := asClaim(item)
	if err != nil {
		return result, err
	}
	one := *resource.NewQuantity(1, resource.DecimalSI)
	result[corev1.ResourcePersistentVolumeClaims] = one
	result[claimCountName] = one
	class := helper.PersistentVolumeClaimClass(pvc)
	if class != "" {
		result[ResourceByStorageClass(class, corev1.ResourcePersistentVolumeClaims)] = one
	}
	if storage := claimStorage(pvc); storage != nil {
		result[corev1.ResourceRequestsStorage] = *storage
		if class != "" {
			result[ResourceByStorageClass(class, corev1.ResourceRequestsStorage)] = *storage
		}
	}
	return result, nil
}

func claimStorage(pvc *corev1.PersistentVolumeClaim) *resource.Quantity {
	roundUp := func(q resource.Quantity) *resource.Quantity {
		r := q.DeepCopy()
		r.RoundUp(0)
		return &r
	}
	request, ok := pvc.Spec.Resources.Requests[corev1.ResourceStorage]
	if !ok {
		return nil
	}
	result := roundUp(request)
	if allocated, ok := pvc.Status.AllocatedResources[corev1.ResourceStorage]; ok && allocated.Cmp(*result) > 0 {
		result = roundUp(allocated)
	}
	return result
}

// UsageStats sums the usage of the namespace's claims.
func (e *ClaimEvaluator) UsageStats(options quota.UsageStatsOptions) (quota.UsageStats, error) {
	return generic.CalculateUsageStats(options, e.list, claimMatchesScope, e.Usage)
}

// claimMatchesScope: only the VolumeAttributesClass scope applies to claims, matched against
// every attributes class the claim refers to.
func claimMatchesScope(s corev1.ScopedResourceSelectorRequirement, obj runtime.Object) (bool, error) {
	pvc, err := asClaim(obj)
	if err != nil {
		return false, err
	}
	if s.ScopeName != corev1.ResourceQuotaScopeVolumeAttributesClass {
		return false, nil
	}
	names := attributesClasses(pvc)
	if s.Operator == corev1.ScopeSelectorOpExists {
		return names.Len() != 0, nil
	}
	sel, err := scopeSelector(s)
	if err != nil {
		return false, err
	}
	if names.Len() == 0 {
		return sel.Matches(labels.Set{}), nil
	}
	for name := range names {
		if sel.Matches(labels.Set{string(corev1.ResourceQuotaScopeVolumeAttributesClass): name}) {
			return true, nil
		}
	}
	return false, nil
}

// attributesClasses are the VolumeAttributesClasses the claim asks for, has, or is moving to.
func attributesClasses(pvc *corev1.PersistentVolumeClaim) sets.Set[string] {
	names := sets.New[string]()
	if n := pvc.Spec.VolumeAttributesClassName; n != nil && *n != "" {
		names.Insert(*n)
	}
	if n := pvc.Status.CurrentVolumeAttributesClassName; n != nil && *n != "" {
		names.Insert(*n)
	}
	if m := pvc.Status.ModifyVolumeStatus; m != nil && m.TargetVolumeAttributesClassName != "" {
		names.Insert(m.TargetVolumeAttributesClassName)
	}
	return names
}
