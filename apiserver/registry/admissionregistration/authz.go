package admissionregistration

import (
	"context"
	"fmt"
	"slices"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
)

// paramKindAuthorizer is upstream's policy strategies' check: whoever sets or changes a
// policy's paramKind must be allowed to "get" every object of that kind (system:masters
// always is), or the write is refused at spec.paramKind.
type paramKindAuthorizer struct {
	authorizer authorizer.Authorizer
	// mapper resolves the paramKind to its resource; when it cannot, every resource of the
	// group version is required.
	mapper meta.RESTMapper
}

// validate is a Kind's Validate: the CEL checks, then the paramKind authorization.
func (a paramKindAuthorizer) validate(ctx context.Context, obj, old runtime.Object) field.ErrorList {
	errs := validateCEL(ctx, obj, old)
	if len(errs) > 0 {
		return errs
	}
	paramKind, oldParamKind := policyParamKind(obj), policyParamKind(old)
	if paramKind == nil || (oldParamKind != nil && *oldParamKind == *paramKind) {
		return nil
	}
	if err := a.authorize(ctx, paramKind); err != nil {
		return field.ErrorList{field.Forbidden(field.NewPath("spec", "paramKind"), err.Error())}
	}
	return nil
}

func policyParamKind(obj runtime.Object) *admissionregistrationv1.ParamKind {
	switch o := obj.(type) {
	case *admissionregistrationv1.ValidatingAdmissionPolicy:
		return o.Spec.ParamKind
	case *admissionregistrationv1.MutatingAdmissionPolicy:
		return o.Spec.ParamKind
	}
	return nil
}

func (a paramKindAuthorizer) authorize(ctx context.Context, paramKind *admissionregistrationv1.ParamKind) error {
	if a.authorizer == nil {
		return nil
	}
	u, ok := genericapirequest.UserFrom(ctx)
	if !ok {
		return fmt.Errorf("cannot identify user to authorize read access to paramKind resources")
	}
	if slices.Contains(u.GetGroups(), user.SystemPrivilegedGroup) {
		return nil
	}
	resource, group, version := "*", "*", "*"
	if gv, err := schema.ParseGroupVersion(paramKind.APIVersion); err == nil {
		group, version = gv.Group, gv.Version
		if a.mapper != nil {
			if m, err := a.mapper.RESTMapping(schema.GroupKind{Group: gv.Group, Kind: paramKind.Kind}, gv.Version); err == nil {
				resource = m.Resource.Resource
			}
		}
	}
	decision, _, err := a.authorizer.Authorize(ctx, authorizer.AttributesRecord{User: u, Verb: "get", ResourceRequest: true,
		Name: "*", Namespace: "*", APIGroup: group, APIVersion: version, Resource: resource})
	if err != nil {
		return err
	}
	if decision != authorizer.DecisionAllow {
		return fmt.Errorf(`user %v must have "get" permission on all objects of the referenced paramKind (kind=%s, apiVersion=%s)`, u, paramKind.Kind, paramKind.APIVersion)
	}
	return nil
}
