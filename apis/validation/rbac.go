package validation

import (
	rbacv1 "k8s.io/api/rbac/v1"
	pathvalidation "k8s.io/apimachinery/pkg/api/validation/path"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// RBAC validation, after upstream's pkg/apis/rbac/validation: names are path segments, rules
// need verbs and either resources (with API groups) or non-resource URLs, bindings reference a
// Role or ClusterRole of rbac.authorization.k8s.io and name User, Group or ServiceAccount
// subjects; a binding's roleRef never changes.

// validateRBACName is upstream's ValidateRBACName: any path segment name.
func validateRBACName(name string, prefix bool) []string {
	return pathvalidation.ValidatePathSegmentName(name, prefix)
}

// validateRBACCreate validates a new RBAC object; ok is false for other types.
func validateRBACCreate(obj runtime.Object) (field.ErrorList, bool) {
	switch o := obj.(type) {
	case *rbacv1.Role:
		return validateRole(o), true
	case *rbacv1.ClusterRole:
		return validateClusterRole(o), true
	case *rbacv1.RoleBinding:
		return validateRoleBinding(o), true
	case *rbacv1.ClusterRoleBinding:
		return validateClusterRoleBinding(o), true
	}
	return nil, false
}

// validateRBACUpdate validates an update of an RBAC object; ok is false for other types.
func validateRBACUpdate(obj, old runtime.Object) (field.ErrorList, bool) {
	meta := func(n, o *metav1.ObjectMeta) field.ErrorList {
		return validateObjectMetaUpdate(n, o, field.NewPath("metadata"))
	}
	switch o := obj.(type) {
	case *rbacv1.Role:
		if p, ok := old.(*rbacv1.Role); ok {
			return append(validateRole(o), meta(&o.ObjectMeta, &p.ObjectMeta)...), true
		}
	case *rbacv1.ClusterRole:
		if p, ok := old.(*rbacv1.ClusterRole); ok {
			return append(validateClusterRole(o), meta(&o.ObjectMeta, &p.ObjectMeta)...), true
		}
	case *rbacv1.RoleBinding:
		if p, ok := old.(*rbacv1.RoleBinding); ok {
			allErrs := append(validateRoleBinding(o), meta(&o.ObjectMeta, &p.ObjectMeta)...)
			if o.RoleRef != p.RoleRef {
				allErrs = append(allErrs, field.Invalid(field.NewPath("roleRef"), o.RoleRef, "cannot change roleRef"))
			}
			return allErrs, true
		}
	case *rbacv1.ClusterRoleBinding:
		if p, ok := old.(*rbacv1.ClusterRoleBinding); ok {
			allErrs := append(validateClusterRoleBinding(o), meta(&o.ObjectMeta, &p.ObjectMeta)...)
			if o.RoleRef != p.RoleRef {
				allErrs = append(allErrs, field.Invalid(field.NewPath("roleRef"), o.RoleRef, "cannot change roleRef"))
			}
			return allErrs, true
		}
	default:
		return nil, false
	}
	return mismatchedOld(obj, old), true
}

func validateRole(r *rbacv1.Role) field.ErrorList {
	allErrs := validateObjectMeta(&r.ObjectMeta, true, validateRBACName, field.NewPath("metadata"))
	for i, rule := range r.Rules {
		allErrs = append(allErrs, ValidatePolicyRule(rule, true, field.NewPath("rules").Index(i))...)
	}
	return allErrs
}

func validateClusterRole(r *rbacv1.ClusterRole) field.ErrorList {
	allErrs := validateObjectMeta(&r.ObjectMeta, false, validateRBACName, field.NewPath("metadata"))
	for i, rule := range r.Rules {
		allErrs = append(allErrs, ValidatePolicyRule(rule, false, field.NewPath("rules").Index(i))...)
	}
	if r.AggregationRule != nil {
		selectors := field.NewPath("aggregationRule", "clusterRoleSelectors")
		if len(r.AggregationRule.ClusterRoleSelectors) == 0 {
			allErrs = append(allErrs, field.Required(selectors, "at least one clusterRoleSelector required if aggregationRule is non-nil"))
		}
		for i := range r.AggregationRule.ClusterRoleSelectors {
			sel := &r.AggregationRule.ClusterRoleSelectors[i]
			allErrs = append(allErrs, metav1validation.ValidateLabelSelector(sel, metav1validation.LabelSelectorValidationOptions{}, selectors.Index(i))...)
			if _, err := metav1.LabelSelectorAsSelector(sel); err != nil {
				allErrs = append(allErrs, field.Invalid(selectors.Index(i), sel, "invalid label selector."))
			}
		}
	}
	return allErrs
}

// ValidatePolicyRule is upstream's rule check: verbs always; non-resource URLs only in cluster
// roles and never mixed with resources; otherwise API groups and resources.
func ValidatePolicyRule(rule rbacv1.PolicyRule, isNamespaced bool, fldPath *field.Path) field.ErrorList {
	allErrs := field.ErrorList{}
	if len(rule.Verbs) == 0 {
		allErrs = append(allErrs, field.Required(fldPath.Child("verbs"), "verbs must contain at least one value"))
	}
	if len(rule.NonResourceURLs) > 0 {
		if isNamespaced {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("nonResourceURLs"), rule.NonResourceURLs, "namespaced rules cannot apply to non-resource URLs"))
		}
		if len(rule.APIGroups) > 0 || len(rule.Resources) > 0 || len(rule.ResourceNames) > 0 {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("nonResourceURLs"), rule.NonResourceURLs, "rules cannot apply to both regular resources and non-resource URLs"))
		}
		return allErrs
	}
	if len(rule.APIGroups) == 0 {
		allErrs = append(allErrs, field.Required(fldPath.Child("apiGroups"), "resource rules must supply at least one api group"))
	}
	if len(rule.Resources) == 0 {
		allErrs = append(allErrs, field.Required(fldPath.Child("resources"), "resource rules must supply at least one resource"))
	}
	return allErrs
}

func validateRoleBinding(b *rbacv1.RoleBinding) field.ErrorList {
	allErrs := validateObjectMeta(&b.ObjectMeta, true, validateRBACName, field.NewPath("metadata"))
	allErrs = append(allErrs, validateRoleRef(b.RoleRef, []string{"Role", "ClusterRole"})...)
	for i, s := range b.Subjects {
		allErrs = append(allErrs, validateSubject(s, true, field.NewPath("subjects").Index(i))...)
	}
	return allErrs
}

func validateClusterRoleBinding(b *rbacv1.ClusterRoleBinding) field.ErrorList {
	allErrs := validateObjectMeta(&b.ObjectMeta, false, validateRBACName, field.NewPath("metadata"))
	allErrs = append(allErrs, validateRoleRef(b.RoleRef, []string{"ClusterRole"})...)
	for i, s := range b.Subjects {
		allErrs = append(allErrs, validateSubject(s, false, field.NewPath("subjects").Index(i))...)
	}
	return allErrs
}

func validateRoleRef(ref rbacv1.RoleRef, kinds []string) field.ErrorList {
	allErrs := field.ErrorList{}
	p := field.NewPath("roleRef")
	if ref.APIGroup != rbacv1.GroupName {
		allErrs = append(allErrs, field.NotSupported(p.Child("apiGroup"), ref.APIGroup, []string{rbacv1.GroupName}))
	}
	known := false
	for _, k := range kinds {
		known = known || ref.Kind == k
	}
	if !known {
		allErrs = append(allErrs, field.NotSupported(p.Child("kind"), ref.Kind, kinds))
	}
	if ref.Name == "" {
		allErrs = append(allErrs, field.Required(p.Child("name"), ""))
	} else {
		for _, msg := range validateRBACName(ref.Name, false) {
			allErrs = append(allErrs, field.Invalid(p.Child("name"), ref.Name, msg))
		}
	}
	return allErrs
}

// validateSubject is upstream's ValidateRoleBindingSubject.
func validateSubject(s rbacv1.Subject, isNamespaced bool, fldPath *field.Path) field.ErrorList {
	allErrs := field.ErrorList{}
	if s.Name == "" {
		allErrs = append(allErrs, field.Required(fldPath.Child("name"), ""))
	}
	switch s.Kind {
	case rbacv1.ServiceAccountKind:
		if s.Name != "" {
			for _, msg := range nameIsDNSSubdomain(s.Name, false) {
				allErrs = append(allErrs, field.Invalid(fldPath.Child("name"), s.Name, msg))
			}
		}
		if s.APIGroup != "" {
			allErrs = append(allErrs, field.NotSupported(fldPath.Child("apiGroup"), s.APIGroup, []string{""}))
		}
		if !isNamespaced && s.Namespace == "" {
			allErrs = append(allErrs, field.Required(fldPath.Child("namespace"), ""))
		}
	case rbacv1.UserKind, rbacv1.GroupKind:
		if s.APIGroup != rbacv1.GroupName {
			allErrs = append(allErrs, field.NotSupported(fldPath.Child("apiGroup"), s.APIGroup, []string{rbacv1.GroupName}))
		}
	default:
		allErrs = append(allErrs, field.NotSupported(fldPath.Child("kind"), s.Kind, []string{rbacv1.ServiceAccountKind, rbacv1.UserKind, rbacv1.GroupKind}))
	}
	return allErrs
}
