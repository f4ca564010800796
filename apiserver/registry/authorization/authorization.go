package authorization

import (
	"context"
	"fmt"

	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/skiff-dev/skiff/apiserver/registry"
)

// Provider builds authorization.k8s.io/v1. Authorizer and RuleResolver answer the reviews;
// without an Authorizer the group is not served, without a RuleResolver selfsubjectrulesreviews.
type Provider struct {
	Authorizer   authorizer.Authorizer
	RuleResolver authorizer.RuleResolver
}

func (Provider) GroupName() string { return authorizationv1.GroupName }

func (p Provider) NewRESTStorage(*registry.Context) (map[string]map[string]rest.Storage, error) {
	if p.Authorizer == nil {
		return nil, nil
	}
	m := map[string]rest.Storage{}
	addAuthorizationReviews(m, p.Authorizer, p.RuleResolver)
	return map[string]map[string]rest.Storage{authorizationv1.SchemeGroupVersion.Version: m}, nil
}

// addAuthorizationReviews installs the four reviews.
func addAuthorizationReviews(storage map[string]rest.Storage, a authorizer.Authorizer, rules authorizer.RuleResolver) {
	storage["subjectaccessreviews"] = &accessReviewREST{kind: "SubjectAccessReview", authz: a}
	storage["selfsubjectaccessreviews"] = &accessReviewREST{kind: "SelfSubjectAccessReview", authz: a}
	storage["localsubjectaccessreviews"] = &accessReviewREST{kind: "LocalSubjectAccessReview", authz: a, namespaced: true}
	if rules != nil {
		storage["selfsubjectrulesreviews"] = &rulesReviewREST{rules: rules}
	}
}

type accessReviewREST struct {
	kind       string
	namespaced bool
	authz      authorizer.Authorizer
}

var (
	_ rest.Creater              = &accessReviewREST{}
	_ rest.Scoper               = &accessReviewREST{}
	_ rest.SingularNameProvider = &accessReviewREST{}
)

func (r *accessReviewREST) New() runtime.Object {
	switch r.kind {
	case "SelfSubjectAccessReview":
		return &authorizationv1.SelfSubjectAccessReview{}
	case "LocalSubjectAccessReview":
		return &authorizationv1.LocalSubjectAccessReview{}
	}
	return &authorizationv1.SubjectAccessReview{}
}
func (r *accessReviewREST) Destroy()                {}
func (r *accessReviewREST) NamespaceScoped() bool   { return r.namespaced }
func (r *accessReviewREST) GetSingularName() string { return lower(r.kind) }

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func (r *accessReviewREST) Create(ctx context.Context, obj runtime.Object, createValidation rest.ValidateObjectFunc, options *metav1.CreateOptions) (runtime.Object, error) {
	gk := schema.GroupKind{Group: authorizationv1.GroupName, Kind: r.kind}
	var u user.Info
	var res *authorizationv1.ResourceAttributes
	var nonRes *authorizationv1.NonResourceAttributes
	var status *authorizationv1.SubjectAccessReviewStatus
	var errs field.ErrorList
	spec := field.NewPath("spec")
	switch o := obj.(type) {
	case *authorizationv1.SubjectAccessReview:
		errs = validateSARSpec(o.Spec, spec)
		u = sarUser(o.Spec)
		res, nonRes, status = o.Spec.ResourceAttributes, o.Spec.NonResourceAttributes, &o.Status
	case *authorizationv1.LocalSubjectAccessReview:
		errs = validateSARSpec(o.Spec, spec)
		ns := genericapirequest.NamespaceValue(ctx)
		if o.Spec.NonResourceAttributes != nil {
			errs = append(errs, field.Invalid(spec.Child("nonResourceAttributes"), o.Spec.NonResourceAttributes, "disallowed on this kind of request"))
		}
		if o.Spec.ResourceAttributes != nil && o.Spec.ResourceAttributes.Namespace != ns {
			errs = append(errs, field.Invalid(spec.Child("resourceAttributes", "namespace"), o.Spec.ResourceAttributes.Namespace, "must match metadata.namespace"))
		}
		if o.Namespace != "" && o.Namespace != ns {
			errs = append(errs, field.Invalid(field.NewPath("metadata", "namespace"), o.Namespace, "must match the request's namespace"))
		}
		u = sarUser(o.Spec)
		res, nonRes, status = o.Spec.ResourceAttributes, o.Spec.NonResourceAttributes, &o.Status
	case *authorizationv1.SelfSubjectAccessReview:
		errs = validateAttributes(o.Spec.ResourceAttributes, o.Spec.NonResourceAttributes, spec)
		var ok bool
		if u, ok = genericapirequest.UserFrom(ctx); !ok {
			return nil, apierrors.NewBadRequest("no user present on request")
		}
		res, nonRes, status = o.Spec.ResourceAttributes, o.Spec.NonResourceAttributes, &o.Status
	default:
		return nil, apierrors.NewBadRequest(fmt.Sprintf("not a %s: %T", r.kind, obj))
	}
	if len(errs) > 0 {
		return nil, apierrors.NewInvalid(gk, "", errs)
	}
	if createValidation != nil {
		if err := createValidation(ctx, obj.DeepCopyObject()); err != nil {
			return nil, err
		}
	}
	attrs := authorizer.AttributesRecord{User: u}
	if res != nil {
		attrs.Verb, attrs.Namespace, attrs.APIGroup, attrs.APIVersion = res.Verb, res.Namespace, res.Group, res.Version
		attrs.Resource, attrs.Subresource, attrs.Name, attrs.ResourceRequest = res.Resource, res.Subresource, res.Name, true
	} else {
		attrs.Verb, attrs.Path = nonRes.Verb, nonRes.Path
	}
	decision, reason, err := r.authz.Authorize(ctx, attrs)
	*status = authorizationv1.SubjectAccessReviewStatus{
		Allowed: decision == authorizer.DecisionAllow,
		Denied:  decision == authorizer.DecisionDeny,
		Reason:  reason,
	}
	if err != nil {
		status.EvaluationError = err.Error()
	}
	return obj, nil
}

func sarUser(spec authorizationv1.SubjectAccessReviewSpec) user.Info {
	extra := map[string][]string{}
	for k, v := range spec.Extra {
		extra[k] = v
	}
	return &user.DefaultInfo{Name: spec.User, UID: spec.UID, Groups: spec.Groups, Extra: extra}
}

func validateSARSpec(spec authorizationv1.SubjectAccessReviewSpec, fldPath *field.Path) field.ErrorList {
	errs := validateAttributes(spec.ResourceAttributes, spec.NonResourceAttributes, fldPath)
	if spec.User == "" && len(spec.Groups) == 0 {
		errs = append(errs, field.Invalid(fldPath.Child("user"), spec.User, "at least one of user or group must be specified"))
	}
	return errs
}

func validateAttributes(res *authorizationv1.ResourceAttributes, nonRes *authorizationv1.NonResourceAttributes, fldPath *field.Path) field.ErrorList {
	switch {
	case res != nil && nonRes != nil:
		return field.ErrorList{field.Invalid(fldPath.Child("nonResourceAttributes"), nonRes, `cannot be specified in combination with resourceAttributes`)}
	case res == nil && nonRes == nil:
		return field.ErrorList{field.Invalid(fldPath.Child("resourceAttributes"), res, `exactly one of nonResourceAttributes or resourceAttributes must be specified`)}
	}
	return nil
}

// rulesReviewREST answers SelfSubjectRulesReview from the authorizers' rule resolvers.
type rulesReviewREST struct {
	rules authorizer.RuleResolver
}

var (
	_ rest.Creater              = &rulesReviewREST{}
	_ rest.Scoper               = &rulesReviewREST{}
	_ rest.SingularNameProvider = &rulesReviewREST{}
)

func (r *rulesReviewREST) New() runtime.Object     { return &authorizationv1.SelfSubjectRulesReview{} }
func (r *rulesReviewREST) Destroy()                {}
func (r *rulesReviewREST) NamespaceScoped() bool   { return false }
func (r *rulesReviewREST) GetSingularName() string { return "selfsubjectrulesreview" }

func (r *rulesReviewREST) Create(ctx context.Context, obj runtime.Object, createValidation rest.ValidateObjectFunc, options *metav1.CreateOptions) (runtime.Object, error) {
	review, ok := obj.(*authorizationv1.SelfSubjectRulesReview)
	if !ok {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("not a SelfSubjectRulesReview: %T", obj))
	}
	u, ok := genericapirequest.UserFrom(ctx)
	if !ok {
		return nil, apierrors.NewBadRequest("no user present on request")
	}
	if createValidation != nil {
		if err := createValidation(ctx, obj.DeepCopyObject()); err != nil {
			return nil, err
		}
	}
	resource, nonResource, incomplete, err := r.rules.RulesFor(ctx, u, review.Spec.Namespace)
	status := authorizationv1.SubjectRulesReviewStatus{Incomplete: incomplete,
		ResourceRules: []authorizationv1.ResourceRule{}, NonResourceRules: []authorizationv1.NonResourceRule{}}
	for _, rr := range resource {
		status.ResourceRules = append(status.ResourceRules, authorizationv1.ResourceRule{
			Verbs: rr.GetVerbs(), APIGroups: rr.GetAPIGroups(), Resources: rr.GetResources(), ResourceNames: rr.GetResourceNames()})
	}
	for _, nr := range nonResource {
		status.NonResourceRules = append(status.NonResourceRules, authorizationv1.NonResourceRule{
			Verbs: nr.GetVerbs(), NonResourceURLs: nr.GetNonResourceURLs()})
	}
	if err != nil {
		status.EvaluationError = err.Error()
	}
	review.Status = status
	return review, nil
}
