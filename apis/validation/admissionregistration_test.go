package validation

import (
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func validWebhook() admissionregistrationv1.ValidatingWebhook {
	return admissionregistrationv1.ValidatingWebhook{
		Name: "check.example.com",
		Rules: []admissionregistrationv1.RuleWithOperations{{
			Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
			Rule:       admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"configmaps"}},
		}},
		ClientConfig:            admissionregistrationv1.WebhookClientConfig{URL: ptr("https://example.com/check")},
		SideEffects:             ptr(admissionregistrationv1.SideEffectClassNone),
		AdmissionReviewVersions: []string{"v1"},
	}
}

func TestValidatingWebhookConfiguration(t *testing.T) {
	for _, tt := range []struct {
		name   string
		mutate func(*admissionregistrationv1.ValidatingWebhookConfiguration)
		wants  []want
	}{
		{"valid", func(*admissionregistrationv1.ValidatingWebhookConfiguration) {}, nil},
		{"duplicate names", func(c *admissionregistrationv1.ValidatingWebhookConfiguration) {
			c.Webhooks = append(c.Webhooks, c.Webhooks[0])
		}, []want{{"webhooks[1].name", field.ErrorTypeDuplicate, ""}}},
		{"name not fully qualified", func(c *admissionregistrationv1.ValidatingWebhookConfiguration) { c.Webhooks[0].Name = "check" },
			[]want{{"webhooks[0].name", field.ErrorTypeInvalid, "should be a domain with at least three segments separated by dots"}}},
		{"neither url nor service", func(c *admissionregistrationv1.ValidatingWebhookConfiguration) { c.Webhooks[0].ClientConfig.URL = nil },
			[]want{{"webhooks[0].clientConfig", field.ErrorTypeRequired, "exactly one of url or service is required"}}},
		{"both url and service", func(c *admissionregistrationv1.ValidatingWebhookConfiguration) {
			c.Webhooks[0].ClientConfig.Service = &admissionregistrationv1.ServiceReference{Namespace: "ns", Name: "svc", Port: ptr[int32](443)}
		}, []want{{"webhooks[0].clientConfig", field.ErrorTypeRequired, "exactly one of url or service is required"}}},
		{"http url", func(c *admissionregistrationv1.ValidatingWebhookConfiguration) {
			c.Webhooks[0].ClientConfig.URL = ptr("http://example.com/check?x=1")
		}, []want{
			{"webhooks[0].clientConfig.url", field.ErrorTypeInvalid, "'https' is the only allowed URL scheme"},
			{"webhooks[0].clientConfig.url", field.ErrorTypeInvalid, "query parameters are not permitted in the URL"},
		}},
		{"service without name, bad path", func(c *admissionregistrationv1.ValidatingWebhookConfiguration) {
			c.Webhooks[0].ClientConfig.URL = nil
			c.Webhooks[0].ClientConfig.Service = &admissionregistrationv1.ServiceReference{Namespace: "ns", Path: ptr("check"), Port: ptr[int32](443)}
		}, []want{
			{"webhooks[0].clientConfig.service.name", field.ErrorTypeRequired, ""},
			{"webhooks[0].clientConfig.service.path", field.ErrorTypeInvalid, "must start with a '/'"},
		}},
		{"sideEffects required", func(c *admissionregistrationv1.ValidatingWebhookConfiguration) { c.Webhooks[0].SideEffects = nil },
			[]want{{"webhooks[0].sideEffects", field.ErrorTypeRequired, "must specify one of None, NoneOnDryRun"}}},
		{"sideEffects Some refused in v1", func(c *admissionregistrationv1.ValidatingWebhookConfiguration) {
			c.Webhooks[0].SideEffects = ptr(admissionregistrationv1.SideEffectClassSome)
		}, []want{{"webhooks[0].sideEffects", field.ErrorTypeNotSupported, ""}}},
		{"admissionReviewVersions", func(c *admissionregistrationv1.ValidatingWebhookConfiguration) {
			c.Webhooks[0].AdmissionReviewVersions = []string{"v2", "v2"}
		}, []want{
			{"webhooks[0].admissionReviewVersions[1]", field.ErrorTypeInvalid, "duplicate version"},
			{"webhooks[0].admissionReviewVersions", field.ErrorTypeInvalid, "must include at least one of v1, v1beta1"},
		}},
		{"no admissionReviewVersions", func(c *admissionregistrationv1.ValidatingWebhookConfiguration) {
			c.Webhooks[0].AdmissionReviewVersions = nil
		}, []want{{"webhooks[0].admissionReviewVersions", field.ErrorTypeRequired, "must specify one of v1, v1beta1"}}},
		{"timeout out of range", func(c *admissionregistrationv1.ValidatingWebhookConfiguration) {
			c.Webhooks[0].TimeoutSeconds = ptr[int32](31)
		},
			[]want{{"webhooks[0].timeoutSeconds", field.ErrorTypeInvalid, "the timeout value must be between 1 and 30 seconds"}}},
		{"failure and match policies", func(c *admissionregistrationv1.ValidatingWebhookConfiguration) {
			c.Webhooks[0].FailurePolicy = ptr(admissionregistrationv1.FailurePolicyType("Sometimes"))
			c.Webhooks[0].MatchPolicy = ptr(admissionregistrationv1.MatchPolicyType("Loose"))
		}, []want{
			{"webhooks[0].failurePolicy", field.ErrorTypeNotSupported, ""},
			{"webhooks[0].matchPolicy", field.ErrorTypeNotSupported, ""},
		}},
		{"selectors", func(c *admissionregistrationv1.ValidatingWebhookConfiguration) {
			c.Webhooks[0].NamespaceSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"a": "-bad-"}}
			c.Webhooks[0].ObjectSelector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "k", Operator: "Near"}}}
		}, []want{
			{"webhooks[0].namespaceSelector.matchLabels", field.ErrorTypeInvalid, ""},
			{"webhooks[0].objectSelector.matchExpressions[0].operator", field.ErrorTypeInvalid, ""},
		}},
		{"rules", func(c *admissionregistrationv1.ValidatingWebhookConfiguration) {
			c.Webhooks[0].Rules[0].Operations = []admissionregistrationv1.OperationType{"*", "CREATE"}
			c.Webhooks[0].Rules[0].Resources = []string{"*/*", "pods"}
			c.Webhooks[0].Rules[0].Scope = ptr(admissionregistrationv1.ScopeType("Global"))
		}, []want{
			{"webhooks[0].rules[0].operations", field.ErrorTypeInvalid, "if '*' is present, must not specify other operations"},
			{"webhooks[0].rules[0].resources", field.ErrorTypeInvalid, "if '*/*' is present, must not specify other resources"},
			{"webhooks[0].rules[0].scope", field.ErrorTypeNotSupported, ""},
		}},
		{"match conditions", func(c *admissionregistrationv1.ValidatingWebhookConfiguration) {
			c.Webhooks[0].MatchConditions = []admissionregistrationv1.MatchCondition{{Name: "a", Expression: "true"}, {Name: "a", Expression: " "}}
		}, []want{
			{"webhooks[0].matchConditions[1].expression", field.ErrorTypeRequired, ""},
			{"webhooks[0].matchConditions[1].name", field.ErrorTypeDuplicate, ""},
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := &admissionregistrationv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "checks"},
				Webhooks: []admissionregistrationv1.ValidatingWebhook{validWebhook()}}
			tt.mutate(c)
			checkErrs(t, ValidateCreate(defaulted(c)), tt.wants)
		})
	}
}

func TestWebhookConfigurationUpdateKeepsAcceptedValues(t *testing.T) {
	// Stored before sideEffects None was required: an update may keep Unknown.
	old := &admissionregistrationv1.MutatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "m", ResourceVersion: "1"},
		Webhooks: []admissionregistrationv1.MutatingWebhook{{Name: "m.example.com", SideEffects: ptr(admissionregistrationv1.SideEffectClassUnknown),
			ClientConfig: admissionregistrationv1.WebhookClientConfig{URL: ptr("https://example.com")}, AdmissionReviewVersions: []string{"v1"}}}}
	defaulted(old)
	updated := old.DeepCopy()
	updated.Webhooks[0].TimeoutSeconds = ptr[int32](5)
	checkErrs(t, ValidateUpdate(updated, old), nil)
	checkErrs(t, ValidateCreate(updated), []want{{"webhooks[0].sideEffects", field.ErrorTypeNotSupported, ""}})
	updated.Webhooks[0].ReinvocationPolicy = ptr(admissionregistrationv1.ReinvocationPolicyType("Always"))
	checkErrs(t, ValidateUpdate(updated, old), []want{{"webhooks[0].reinvocationPolicy", field.ErrorTypeNotSupported, ""}})
}

func TestValidatingAdmissionPolicyAndBinding(t *testing.T) {
	rule := admissionregistrationv1.NamedRuleWithOperations{RuleWithOperations: admissionregistrationv1.RuleWithOperations{
		Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
		Rule:       admissionregistrationv1.Rule{APIGroups: []string{"apps"}, APIVersions: []string{"v1"}, Resources: []string{"deployments"}}}}
	for _, tt := range []struct {
		name   string
		mutate func(*admissionregistrationv1.ValidatingAdmissionPolicy)
		wants  []want
	}{
		{"valid", func(*admissionregistrationv1.ValidatingAdmissionPolicy) {}, nil},
		{"nothing to check", func(p *admissionregistrationv1.ValidatingAdmissionPolicy) { p.Spec.Validations = nil }, []want{
			{"spec.validations", field.ErrorTypeRequired, "validations or auditAnnotations must contain at least one item"},
			{"spec.auditAnnotations", field.ErrorTypeRequired, "validations or auditAnnotations must contain at least one item"},
		}},
		{"no match constraints", func(p *admissionregistrationv1.ValidatingAdmissionPolicy) { p.Spec.MatchConstraints = nil },
			[]want{{"spec.matchConstraints", field.ErrorTypeRequired, ""}}},
		{"no resource rules", func(p *admissionregistrationv1.ValidatingAdmissionPolicy) {
			p.Spec.MatchConstraints.ResourceRules = nil
		},
			[]want{{"spec.matchConstraints.resourceRules", field.ErrorTypeRequired, ""}}},
		{"validation", func(p *admissionregistrationv1.ValidatingAdmissionPolicy) {
			p.Spec.Validations = []admissionregistrationv1.Validation{{Expression: " ", Message: "two\nlines", Reason: ptr(metav1.StatusReasonConflict)}}
		}, []want{
			{"spec.validations[0].expression", field.ErrorTypeRequired, "expression is not specified"},
			{"spec.validations[0].message", field.ErrorTypeInvalid, "must not contain line breaks"},
			{"spec.validations[0].reason", field.ErrorTypeNotSupported, ""},
		}},
		{"paramKind and variables", func(p *admissionregistrationv1.ValidatingAdmissionPolicy) {
			p.Spec.ParamKind = &admissionregistrationv1.ParamKind{APIVersion: "a/b/c"}
			p.Spec.Variables = []admissionregistrationv1.Variable{{Name: "in", Expression: "1"}}
		}, []want{
			{"spec.paramKind.apiVersion", field.ErrorTypeInvalid, "unexpected GroupVersion string: a/b/c"},
			{"spec.paramKind.kind", field.ErrorTypeRequired, ""},
			{"spec.variables[0].name", field.ErrorTypeInvalid, "must be a valid CEL identifier"},
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := &admissionregistrationv1.ValidatingAdmissionPolicy{ObjectMeta: metav1.ObjectMeta{Name: "p"},
				Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{
					MatchConstraints: &admissionregistrationv1.MatchResources{ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{rule}},
					Validations:      []admissionregistrationv1.Validation{{Expression: "true"}}}}
			tt.mutate(p)
			checkErrs(t, ValidateCreate(defaulted(p)), tt.wants)
		})
	}

	binding := func(spec admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec) *admissionregistrationv1.ValidatingAdmissionPolicyBinding {
		return defaulted(&admissionregistrationv1.ValidatingAdmissionPolicyBinding{ObjectMeta: metav1.ObjectMeta{Name: "b"}, Spec: spec})
	}
	checkErrs(t, ValidateCreate(binding(admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{
		PolicyName: "p", ValidationActions: []admissionregistrationv1.ValidationAction{"Deny"}})), nil)
	checkErrs(t, ValidateCreate(binding(admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{
		ValidationActions: []admissionregistrationv1.ValidationAction{"Deny", "Warn", "Deny"},
		ParamRef:          &admissionregistrationv1.ParamRef{Name: "x", Selector: &metav1.LabelSelector{}},
	})), []want{
		{"spec.policyName", field.ErrorTypeRequired, ""},
		{"spec.paramRef.name", field.ErrorTypeForbidden, "name and selector are mutually exclusive"},
		{"spec.paramRef.selector", field.ErrorTypeForbidden, "name and selector are mutually exclusive"},
		{"spec.paramRef.parameterNotFoundAction", field.ErrorTypeRequired, ""},
		{"spec.validationActions[2]", field.ErrorTypeDuplicate, ""},
		{"spec.validationActions", field.ErrorTypeInvalid, "must not contain both Deny and Warn"},
	})
	checkErrs(t, ValidateCreate(binding(admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{PolicyName: "p"})),
		[]want{{"spec.validationActions", field.ErrorTypeRequired, "at least one validation action is required"}})
}

func TestMutatingAdmissionPolicy(t *testing.T) {
	p := defaulted(&admissionregistrationv1.MutatingAdmissionPolicy{ObjectMeta: metav1.ObjectMeta{Name: "m"},
		Spec: admissionregistrationv1.MutatingAdmissionPolicySpec{
			MatchConstraints: &admissionregistrationv1.MatchResources{ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{
				RuleWithOperations: admissionregistrationv1.RuleWithOperations{
					Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Delete},
					Rule:       admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}}}}}},
			Mutations: []admissionregistrationv1.Mutation{{PatchType: admissionregistrationv1.PatchTypeJSONPatch}},
		}})
	checkErrs(t, ValidateCreate(p), []want{
		{"spec.matchConstraints.resourceRules[0].operations[0]", field.ErrorTypeNotSupported, ""},
		{"spec.mutations[0].jsonPatch", field.ErrorTypeRequired, "must be specified when patchType is JSONPatch"},
		{"spec.reinvocationPolicy", field.ErrorTypeRequired, ""},
	})
}

func TestValidatingAdmissionPolicyStatus(t *testing.T) {
	p := &admissionregistrationv1.ValidatingAdmissionPolicy{ObjectMeta: metav1.ObjectMeta{Name: "p"},
		Status: admissionregistrationv1.ValidatingAdmissionPolicyStatus{TypeChecking: &admissionregistrationv1.TypeChecking{
			ExpressionWarnings: []admissionregistrationv1.ExpressionWarning{{FieldRef: "spec.validations[0].expression", Warning: "w"}, {}}}}}
	checkErrs(t, ValidateStatusUpdate(p, p), []want{
		{"status.typeChecking.expressionWarnings[1].warning", field.ErrorTypeRequired, ""},
		{"status.typeChecking.expressionWarnings[1].fieldRef", field.ErrorTypeRequired, ""},
	})
}
