package admissionregistration

import (
	"context"
	"fmt"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/skiff-dev/skiff/apiserver/registry"
)

var gv = admissionregistrationv1.SchemeGroupVersion

// The kinds of admissionregistration.k8s.io/v1, cluster-scoped, in the admission-policy
// category as upstream's policies and bindings. Configurations and policies keep a generation.
var (
	ValidatingWebhookConfigurationKind = &registry.Kind{GroupVersion: gv, Resource: "validatingwebhookconfigurations",
		Singular: "validatingwebhookconfiguration", Categories: []string{"api-extensions"}, Generation: true,
		Validate: validateCEL, PrepareForUpdate: webhooksGeneration,
		New:     func() runtime.Object { return &admissionregistrationv1.ValidatingWebhookConfiguration{} },
		NewList: func() runtime.Object { return &admissionregistrationv1.ValidatingWebhookConfigurationList{} }}
	MutatingWebhookConfigurationKind = &registry.Kind{GroupVersion: gv, Resource: "mutatingwebhookconfigurations",
		Singular: "mutatingwebhookconfiguration", Categories: []string{"api-extensions"}, Generation: true,
		Validate: validateCEL, PrepareForUpdate: webhooksGeneration,
		New:     func() runtime.Object { return &admissionregistrationv1.MutatingWebhookConfiguration{} },
		NewList: func() runtime.Object { return &admissionregistrationv1.MutatingWebhookConfigurationList{} }}
	ValidatingAdmissionPolicyKind = &registry.Kind{GroupVersion: gv, Resource: "validatingadmissionpolicies",
		Singular: "validatingadmissionpolicy", Categories: []string{"api-extensions"}, Generation: true, Status: true,
		Validate: validateCEL,
		New:      func() runtime.Object { return &admissionregistrationv1.ValidatingAdmissionPolicy{} },
		NewList:  func() runtime.Object { return &admissionregistrationv1.ValidatingAdmissionPolicyList{} }}
	ValidatingAdmissionPolicyBindingKind = &registry.Kind{GroupVersion: gv, Resource: "validatingadmissionpolicybindings",
		Singular: "validatingadmissionpolicybinding", Categories: []string{"api-extensions"}, Generation: true,
		New:     func() runtime.Object { return &admissionregistrationv1.ValidatingAdmissionPolicyBinding{} },
		NewList: func() runtime.Object { return &admissionregistrationv1.ValidatingAdmissionPolicyBindingList{} }}
	MutatingAdmissionPolicyKind = &registry.Kind{GroupVersion: gv, Resource: "mutatingadmissionpolicies",
		Singular: "mutatingadmissionpolicy", Categories: []string{"api-extensions"}, Generation: true,
		Validate: validateCEL,
		New:      func() runtime.Object { return &admissionregistrationv1.MutatingAdmissionPolicy{} },
		NewList:  func() runtime.Object { return &admissionregistrationv1.MutatingAdmissionPolicyList{} }}
	MutatingAdmissionPolicyBindingKind = &registry.Kind{GroupVersion: gv, Resource: "mutatingadmissionpolicybindings",
		Singular: "mutatingadmissionpolicybinding", Categories: []string{"api-extensions"}, Generation: true,
		New:     func() runtime.Object { return &admissionregistrationv1.MutatingAdmissionPolicyBinding{} },
		NewList: func() runtime.Object { return &admissionregistrationv1.MutatingAdmissionPolicyBindingList{} }}
)

// webhooksGeneration bumps a webhook configuration's generation only when its webhooks change,
// as upstream's strategies (the generic rule, for kinds without a spec, counts labels too).
func webhooksGeneration(obj, old runtime.Object) {
	var changed bool
	switch o := obj.(type) {
	case *admissionregistrationv1.ValidatingWebhookConfiguration:
		changed = !apiequality.Semantic.DeepEqual(o.Webhooks, old.(*admissionregistrationv1.ValidatingWebhookConfiguration).Webhooks)
	case *admissionregistrationv1.MutatingWebhookConfiguration:
		changed = !apiequality.Semantic.DeepEqual(o.Webhooks, old.(*admissionregistrationv1.MutatingWebhookConfiguration).Webhooks)
	}
	newMeta, oldMeta := obj.(metav1.Object), old.(metav1.Object)
	newMeta.SetGeneration(oldMeta.GetGeneration())
	if changed {
		newMeta.SetGeneration(oldMeta.GetGeneration() + 1)
	}
}

// policyParamKindGetter reads a policy's paramKind from the group's storage m.
func policyParamKindGetter(m map[string]rest.Storage, resource string) func(ctx context.Context, name string) (*admissionregistrationv1.ParamKind, error) {
	return func(ctx context.Context, name string) (*admissionregistrationv1.ParamKind, error) {
		getter, ok := m[resource].(rest.Getter)
		if !ok {
			return nil, fmt.Errorf("no storage for %s", resource)
		}
		obj, err := getter.Get(ctx, name, &metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		return policyParamKind(obj), nil
	}
}

// Provider builds admissionregistration.k8s.io/v1.
type Provider struct {
	// Authorizer, when set, checks that whoever sets a policy's paramKind may read that kind;
	// Mapper resolves the kind to its resource.
	Authorizer authorizer.Authorizer
	Mapper     meta.RESTMapper
}

func (Provider) GroupName() string { return admissionregistrationv1.GroupName }

func (p Provider) NewRESTStorage(c *registry.Context) (map[string]map[string]rest.Storage, error) {
	m := map[string]rest.Storage{}
	authz := paramKindAuthorizer{authorizer: p.Authorizer, mapper: p.Mapper}
	vap, mapKind := *ValidatingAdmissionPolicyKind, *MutatingAdmissionPolicyKind
	vap.Validate, mapKind.Validate = authz.validate, authz.validate
	// Bindings read their policy from storage, once it is built.
	vapb, mapb := *ValidatingAdmissionPolicyBindingKind, *MutatingAdmissionPolicyBindingKind
	vapb.Validate = paramRefAuthorizer{authz, policyParamKindGetter(m, vap.Resource)}.validate
	mapb.Validate = paramRefAuthorizer{authz, policyParamKindGetter(m, mapKind.Resource)}.validate
	if err := c.AddKinds(m, ValidatingWebhookConfigurationKind, MutatingWebhookConfigurationKind,
		&vap, &vapb, &mapKind, &mapb); err != nil {
		return nil, err
	}
	return map[string]map[string]rest.Storage{gv.Version: m}, nil
}
