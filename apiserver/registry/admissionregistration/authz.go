package admissionregistration

import (
	"context"
	"fmt"
	"slices"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
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

// paramRefAuthorizer is upstream's binding strategies' check: whoever sets or changes a
// binding's paramRef must be allowed to "get" the object it names ("list" when it selects), of
// the bound policy's paramKind; the write is refused at spec.paramRef otherwise.
type paramRefAuthorizer struct {
	paramKindAuthorizer
	// policy returns the bound policy's paramKind.
	policy func(ctx context.Context, name string) (*admissionregistrationv1.ParamKind, error)
}

func (a paramRefAuthorizer) validate(ctx context.Context, obj, old runtime.Object) field.ErrorList {
	policyName, ref := bindingParamRef(obj)
	if ref == nil || a.authorizer == nil {
		return nil
	}
	if oldPolicy, oldRef := bindingParamRef(old); oldRef != nil && oldPolicy == policyName && apiequality.Semantic.DeepEqual(oldRef, ref) {
		return nil
	}
	if err := a.authorizeParamRef(ctx, policyName, ref); err != nil {
		return field.ErrorList{field.Forbidden(field.NewPath("spec", "paramRef"), err.Error())}
	}
	return nil
}

func bindingParamRef(obj runtime.Object) (string, *admissionregistrationv1.ParamRef) {
	switch o := obj.(type) {
	case *admissionregistrationv1.ValidatingAdmissionPolicyBinding:
		return o.Spec.PolicyName, o.Spec.ParamRef
	case *admissionregistrationv1.MutatingAdmissionPolicyBinding:
		return o.Spec.PolicyName, o.Spec.ParamRef
	}
	return "", nil
}

func (a paramRefAuthorizer) authorizeParamRef(ctx context.Context, policyName string, ref *admissionregistrationv1.ParamRef) error {
	u, ok := genericapirequest.UserFrom(ctx)
	if !ok {
		return fmt.Errorf("cannot identify user to authorize read access to paramRef object")
	}
	if slices.Contains(u.GetGroups(), user.SystemPrivilegedGroup) {
		return nil
	}
	resource, group, version := "*", "*", "*"
	paramKind, policyErr := a.policy(ctx, policyName)
	var gvErr, mapErr error
	if policyErr == nil && paramKind != nil {
		var gv schema.GroupVersion
		if gv, gvErr = schema.ParseGroupVersion(paramKind.APIVersion); gvErr == nil {
			group, version = gv.Group, gv.Version
			var m *meta.RESTMapping
			if a.mapper == nil {
				mapErr = fmt.Errorf("no mapper")
			} else if m, mapErr = a.mapper.RESTMapping(schema.GroupKind{Group: gv.Group, Kind: paramKind.Kind}, gv.Version); mapErr == nil {
				resource = m.Resource.Resource
			}
		}
	}
	verb := "get"
	if len(ref.Name) == 0 {
		verb = "list"
	}
	decision, _, err := a.authorizer.Authorize(ctx, authorizer.AttributesRecord{User: u, Verb: verb, ResourceRequest: true,
		Name: ref.Name, Namespace: ref.Namespace, APIGroup: group, APIVersion: version, Resource: resource})
	if err != nil {
		return fmt.Errorf(`failed to authorize request: %w`, err)
	}
	if decision == authorizer.DecisionAllow {
		return nil
	}
	switch {
	case policyErr != nil:
		return fmt.Errorf(`unable to get policy %s to determine minimum required permissions and user %v does not have "%v" permission for all groups, versions and resources`, policyName, u, verb)
	case gvErr != nil:
		return fmt.Errorf(`unable to parse paramKind %v to determine minimum required permissions and user %v does not have "%v" permission for all groups, versions and resources`, paramKind, u, verb)
	case mapErr != nil:
		return fmt.Errorf(`unable to resolve paramKind %v to determine minimum required permissions and user %v does not have "%v" permission for all groups, versions and resources`, paramKind, u, verb)
	}
	return fmt.Errorf(`user %v does not have "%v" permission on the object referenced by paramRef`, u, verb)
}
