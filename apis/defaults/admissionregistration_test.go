package defaults

import (
	"reflect"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestAdmissionRegistrationDefaults(t *testing.T) {
	rule := admissionregistrationv1.RuleWithOperations{Rule: admissionregistrationv1.Rule{Resources: []string{"pods"}}}
	m := &admissionregistrationv1.MutatingWebhookConfiguration{Webhooks: []admissionregistrationv1.MutatingWebhook{{
		Rules:        []admissionregistrationv1.RuleWithOperations{rule},
		ClientConfig: admissionregistrationv1.WebhookClientConfig{Service: &admissionregistrationv1.ServiceReference{Name: "s"}},
	}}}
	Default(m)
	want := admissionregistrationv1.MutatingWebhook{
		Rules: []admissionregistrationv1.RuleWithOperations{{Rule: admissionregistrationv1.Rule{Resources: []string{"pods"},
			Scope: ptrTo(admissionregistrationv1.AllScopes)}}},
		ClientConfig:       admissionregistrationv1.WebhookClientConfig{Service: &admissionregistrationv1.ServiceReference{Name: "s", Port: ptrTo[int32](443)}},
		FailurePolicy:      ptrTo(admissionregistrationv1.Fail),
		MatchPolicy:        ptrTo(admissionregistrationv1.Equivalent),
		NamespaceSelector:  &metav1.LabelSelector{},
		ObjectSelector:     &metav1.LabelSelector{},
		TimeoutSeconds:     ptrTo[int32](10),
		ReinvocationPolicy: ptrTo(admissionregistrationv1.NeverReinvocationPolicy),
	}
	if !reflect.DeepEqual(m.Webhooks[0], want) {
		t.Errorf("mutating webhook:\n got %+v\nwant %+v", m.Webhooks[0], want)
	}

	// Set values are kept; the validating webhook has no reinvocation policy.
	v := &admissionregistrationv1.ValidatingWebhookConfiguration{Webhooks: []admissionregistrationv1.ValidatingWebhook{{
		FailurePolicy: ptrTo(admissionregistrationv1.Ignore), TimeoutSeconds: ptrTo[int32](3)}}}
	Default(v)
	if h := v.Webhooks[0]; *h.FailurePolicy != admissionregistrationv1.Ignore || *h.TimeoutSeconds != 3 || *h.MatchPolicy != admissionregistrationv1.Equivalent {
		t.Errorf("validating webhook: %+v", h)
	}

	p := &admissionregistrationv1.ValidatingAdmissionPolicy{Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{
		MatchConstraints: &admissionregistrationv1.MatchResources{ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{RuleWithOperations: rule}}}}}
	Default(p)
	mc := p.Spec.MatchConstraints
	if *p.Spec.FailurePolicy != admissionregistrationv1.Fail || *mc.MatchPolicy != admissionregistrationv1.Equivalent ||
		mc.NamespaceSelector == nil || mc.ObjectSelector == nil || *mc.ResourceRules[0].Scope != admissionregistrationv1.AllScopes {
		t.Errorf("policy: %+v", p.Spec)
	}
	b := &admissionregistrationv1.ValidatingAdmissionPolicyBinding{}
	Default(b)
	if b.Spec.MatchResources != nil {
		t.Errorf("binding without matchResources got %+v", b.Spec.MatchResources)
	}
}
