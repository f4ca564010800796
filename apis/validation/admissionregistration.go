package validation

import (
	"fmt"
	"net/url"
	"strings"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/api/validation/path"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// The structural rules of admissionregistration.k8s.io/v1, after upstream's
// pkg/apis/admissionregistration/validation. Compiling CEL expressions (match conditions,
// validations, variables) needs k8s.io/apiserver and is done by the storage
// (apiserver/registry/admissionregistration), on top of these.

func validateAdmissionRegistrationCreate(obj runtime.Object) (field.ErrorList, bool) {
	return validateAdmissionRegistration(obj, nil)
}

func validateAdmissionRegistrationUpdate(obj, old runtime.Object) (field.ErrorList, bool) {
	errs, ok := validateAdmissionRegistration(obj, old)
	if !ok {
		return nil, false
	}
	newMeta, oldMeta := metaOf(obj), metaOf(old)
	if newMeta != nil && oldMeta != nil {
		errs = append(apimachineryvalidation.ValidateObjectMetaUpdate(newMeta, oldMeta, field.NewPath("metadata")), errs...)
	}
	return errs, true
}

func metaOf(obj runtime.Object) *metav1.ObjectMeta {
	switch o := obj.(type) {
	case *admissionregistrationv1.ValidatingWebhookConfiguration:
		return &o.ObjectMeta
	case *admissionregistrationv1.MutatingWebhookConfiguration:
		return &o.ObjectMeta
	case *admissionregistrationv1.ValidatingAdmissionPolicy:
		return &o.ObjectMeta
	case *admissionregistrationv1.ValidatingAdmissionPolicyBinding:
		return &o.ObjectMeta
	case *admissionregistrationv1.MutatingAdmissionPolicy:
		return &o.ObjectMeta
	case *admissionregistrationv1.MutatingAdmissionPolicyBinding:
		return &o.ObjectMeta
	}
	return nil
}

// validateAdmissionRegistration validates obj; old, when set, is the stored object of an update,
// whose already-accepted values are still allowed (as upstream's update options).
func validateAdmissionRegistration(obj, old runtime.Object) (field.ErrorList, bool) {
	switch o := obj.(type) {
	case *admissionregistrationv1.ValidatingWebhookConfiguration:
		opts := newWebhookOptions()
		if p, ok := old.(*admissionregistrationv1.ValidatingWebhookConfiguration); ok {
			opts = updateWebhookOptions(validatingWebhooks(p))
		}
		return validateWebhookConfiguration(&o.ObjectMeta, validatingWebhooks(o), opts), true
	case *admissionregistrationv1.MutatingWebhookConfiguration:
		opts := newWebhookOptions()
		if p, ok := old.(*admissionregistrationv1.MutatingWebhookConfiguration); ok {
			opts = updateWebhookOptions(mutatingWebhooks(p))
		}
		return validateWebhookConfiguration(&o.ObjectMeta, mutatingWebhooks(o), opts), true
	case *admissionregistrationv1.ValidatingAdmissionPolicy:
		return validateValidatingAdmissionPolicy(o), true
	case *admissionregistrationv1.ValidatingAdmissionPolicyBinding:
		return validateValidatingAdmissionPolicyBinding(o), true
	case *admissionregistrationv1.MutatingAdmissionPolicy:
		return validateMutatingAdmissionPolicy(o), true
	case *admissionregistrationv1.MutatingAdmissionPolicyBinding:
		return validateMutatingAdmissionPolicyBinding(o), true
	}
	return nil, false
}

// webhook is what validating and mutating webhooks share.
type webhook struct {
	name                    string
	rules                   []admissionregistrationv1.RuleWithOperations
	failurePolicy           *admissionregistrationv1.FailurePolicyType
	matchPolicy             *admissionregistrationv1.MatchPolicyType
	sideEffects             *admissionregistrationv1.SideEffectClass
	timeoutSeconds          *int32
	namespaceSelector       *metav1.LabelSelector
	objectSelector          *metav1.LabelSelector
	clientConfig            admissionregistrationv1.WebhookClientConfig
	admissionReviewVersions []string
	matchConditions         []admissionregistrationv1.MatchCondition
	reinvocationPolicy      *admissionregistrationv1.ReinvocationPolicyType
	mutating                bool
}

func validatingWebhooks(c *admissionregistrationv1.ValidatingWebhookConfiguration) []webhook {
	hooks := make([]webhook, len(c.Webhooks))
	for i := range c.Webhooks {
		h := &c.Webhooks[i]
		hooks[i] = webhook{name: h.Name, rules: h.Rules, failurePolicy: h.FailurePolicy, matchPolicy: h.MatchPolicy,
			sideEffects: h.SideEffects, timeoutSeconds: h.TimeoutSeconds, namespaceSelector: h.NamespaceSelector,
			objectSelector: h.ObjectSelector, clientConfig: h.ClientConfig, admissionReviewVersions: h.AdmissionReviewVersions,
			matchConditions: h.MatchConditions}
	}
	return hooks
}

func mutatingWebhooks(c *admissionregistrationv1.MutatingWebhookConfiguration) []webhook {
	hooks := make([]webhook, len(c.Webhooks))
	for i := range c.Webhooks {
		h := &c.Webhooks[i]
		hooks[i] = webhook{name: h.Name, rules: h.Rules, failurePolicy: h.FailurePolicy, matchPolicy: h.MatchPolicy,
			sideEffects: h.SideEffects, timeoutSeconds: h.TimeoutSeconds, namespaceSelector: h.NamespaceSelector,
			objectSelector: h.ObjectSelector, clientConfig: h.ClientConfig, admissionReviewVersions: h.AdmissionReviewVersions,
			matchConditions: h.MatchConditions, reinvocationPolicy: h.ReinvocationPolicy, mutating: true}
	}
	return hooks
}

// webhookOptions are upstream's validationOptions: strict on create, relaxed on an update of a
// configuration that already breaks a rule (so it can still be edited).
type webhookOptions struct {
	requireNoSideEffects, requireRecognizedAdmissionReviewVersion, requireUniqueWebhookNames bool
	allowInvalidLabelValueInSelector                                                         bool
}

func newWebhookOptions() webhookOptions {
	return webhookOptions{requireNoSideEffects: true, requireRecognizedAdmissionReviewVersion: true, requireUniqueWebhookNames: true}
}

func updateWebhookOptions(old []webhook) webhookOptions {
	opts := webhookOptions{requireNoSideEffects: true, requireRecognizedAdmissionReviewVersion: true, requireUniqueWebhookNames: true}
	names := sets.New[string]()
	for _, h := range old {
		if h.sideEffects == nil || !noSideEffectClasses.Has(string(*h.sideEffects)) {
			opts.requireNoSideEffects = false
		}
		recognized := false
		for _, v := range h.admissionReviewVersions {
			recognized = recognized || acceptedAdmissionReviewVersions.Has(v)
		}
		if !recognized && len(h.admissionReviewVersions) > 0 {
			opts.requireRecognizedAdmissionReviewVersion = false
		}
		if names.Has(h.name) {
			opts.requireUniqueWebhookNames = false
		}
		names.Insert(h.name)
		for _, sel := range []*metav1.LabelSelector{h.namespaceSelector, h.objectSelector} {
			if sel != nil && len(metav1validation.ValidateLabelSelector(sel, metav1validation.LabelSelectorValidationOptions{}, nil)) > 0 {
				opts.allowInvalidLabelValueInSelector = true
			}
		}
	}
	return opts
}

var (
	supportedFailurePolicies      = sets.New(string(admissionregistrationv1.Ignore), string(admissionregistrationv1.Fail))
	supportedMatchPolicies        = sets.New(string(admissionregistrationv1.Exact), string(admissionregistrationv1.Equivalent))
	supportedSideEffectClasses    = sets.New("Unknown", "None", "Some", "NoneOnDryRun")
	noSideEffectClasses           = sets.New("None", "NoneOnDryRun")
	supportedOperations           = sets.New("*", "CREATE", "UPDATE", "DELETE", "CONNECT")
	supportedMutatingOperations   = sets.New("*", "CREATE", "UPDATE", "CONNECT")
	supportedReinvocationPolicies = sets.New("Never", "IfNeeded")
	supportedScopes               = sets.New("Cluster", "Namespaced", "*")
	supportedPolicyReasons        = sets.New(string(metav1.StatusReasonForbidden), string(metav1.StatusReasonInvalid), string(metav1.StatusReasonRequestEntityTooLarge))
	supportedValidationActions    = sets.New("Deny", "Warn", "Audit")
	supportedPatchTypes           = sets.New("ApplyConfiguration", "JSONPatch")
	// acceptedAdmissionReviewVersions are upstream's AcceptedAdmissionReviewVersions.
	acceptedAdmissionReviewVersions = sets.New("v1", "v1beta1")
)

func validateWebhookConfiguration(meta *metav1.ObjectMeta, hooks []webhook, opts webhookOptions) field.ErrorList {
	allErrs := apimachineryvalidation.ValidateObjectMeta(meta, false, apimachineryvalidation.NameIsDNSSubdomain, field.NewPath("metadata"))
	names := sets.New[string]()
	for i, h := range hooks {
		fldPath := field.NewPath("webhooks").Index(i)
		allErrs = append(allErrs, validateWebhook(&h, opts, fldPath)...)
		allErrs = append(allErrs, validateAdmissionReviewVersions(h.admissionReviewVersions, opts.requireRecognizedAdmissionReviewVersion, fldPath.Child("admissionReviewVersions"))...)
		if opts.requireUniqueWebhookNames && len(h.name) > 0 {
			if names.Has(h.name) {
				allErrs = append(allErrs, field.Duplicate(fldPath.Child("name"), h.name))
			}
			names.Insert(h.name)
		}
	}
	return allErrs
}

func validateWebhook(h *webhook, opts webhookOptions, fldPath *field.Path) field.ErrorList {
	allErrs := validation.IsFullyQualifiedName(fldPath.Child("name"), h.name)
	for i := range h.rules {
		allErrs = append(allErrs, validateRuleWithOperations(&h.rules[i], supportedOperations, fldPath.Child("rules").Index(i))...)
	}
	if h.failurePolicy != nil && !supportedFailurePolicies.Has(string(*h.failurePolicy)) {
		allErrs = append(allErrs, field.NotSupported(fldPath.Child("failurePolicy"), *h.failurePolicy, sets.List(supportedFailurePolicies)))
	}
	if h.matchPolicy != nil && !supportedMatchPolicies.Has(string(*h.matchPolicy)) {
		allErrs = append(allErrs, field.NotSupported(fldPath.Child("matchPolicy"), *h.matchPolicy, sets.List(supportedMatchPolicies)))
	}
	allowedSideEffects := supportedSideEffectClasses
	if opts.requireNoSideEffects {
		allowedSideEffects = noSideEffectClasses
	}
	if h.sideEffects == nil {
		allErrs = append(allErrs, field.Required(fldPath.Child("sideEffects"), fmt.Sprintf("must specify one of %v", strings.Join(sets.List(allowedSideEffects), ", "))))
	} else if !allowedSideEffects.Has(string(*h.sideEffects)) {
		allErrs = append(allErrs, field.NotSupported(fldPath.Child("sideEffects"), *h.sideEffects, sets.List(allowedSideEffects)))
	}
	if h.timeoutSeconds != nil && (*h.timeoutSeconds > 30 || *h.timeoutSeconds < 1) {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("timeoutSeconds"), *h.timeoutSeconds, "the timeout value must be between 1 and 30 seconds"))
	}
	selOpts := metav1validation.LabelSelectorValidationOptions{AllowInvalidLabelValueInSelector: opts.allowInvalidLabelValueInSelector}
	if h.namespaceSelector != nil {
		allErrs = append(allErrs, metav1validation.ValidateLabelSelector(h.namespaceSelector, selOpts, fldPath.Child("namespaceSelector"))...)
	}
	if h.objectSelector != nil {
		allErrs = append(allErrs, metav1validation.ValidateLabelSelector(h.objectSelector, selOpts, fldPath.Child("objectSelector"))...)
	}
	if h.mutating && h.reinvocationPolicy != nil && !supportedReinvocationPolicies.Has(string(*h.reinvocationPolicy)) {
		allErrs = append(allErrs, field.NotSupported(fldPath.Child("reinvocationPolicy"), *h.reinvocationPolicy, sets.List(supportedReinvocationPolicies)))
	}
	cc := h.clientConfig
	switch {
	case (cc.URL == nil) == (cc.Service == nil):
		allErrs = append(allErrs, field.Required(fldPath.Child("clientConfig"), "exactly one of url or service is required"))
	case cc.URL != nil:
		allErrs = append(allErrs, validateWebhookURL(fldPath.Child("clientConfig").Child("url"), *cc.URL)...)
	case cc.Service != nil:
		port := int32(443)
		if cc.Service.Port != nil {
			port = *cc.Service.Port
		}
		allErrs = append(allErrs, validateWebhookService(fldPath.Child("clientConfig").Child("service"), cc.Service.Namespace, cc.Service.Name, cc.Service.Path, port)...)
	}
	return append(allErrs, validateMatchConditions(h.matchConditions, fldPath.Child("matchConditions"))...)
}

func validateAdmissionReviewVersions(versions []string, requireRecognized bool, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	accepted := strings.Join(sets.List(acceptedAdmissionReviewVersions), ", ")
	if len(versions) < 1 {
		return field.ErrorList{field.Required(fldPath, fmt.Sprintf("must specify one of %v", accepted))}
	}
	seen := map[string]bool{}
	recognized := false
	for i, v := range versions {
		if seen[v] {
			allErrs = append(allErrs, field.Invalid(fldPath.Index(i), v, "duplicate version"))
			continue
		}
		seen[v] = true
		for _, msg := range validation.IsDNS1035Label(v) {
			allErrs = append(allErrs, field.Invalid(fldPath.Index(i), v, msg))
		}
		recognized = recognized || acceptedAdmissionReviewVersions.Has(v)
	}
	if requireRecognized && !recognized {
		allErrs = append(allErrs, field.Invalid(fldPath, versions, fmt.Sprintf("must include at least one of %v", accepted)))
	}
	return allErrs
}

// validateWebhookURL is k8s.io/apiserver's webhook.ValidateWebhookURL with https forced.
func validateWebhookURL(fldPath *field.Path, raw string) field.ErrorList {
	const form = "; desired format: https://host[/path]"
	u, err := url.Parse(raw)
	if err != nil {
		return field.ErrorList{field.Required(fldPath, "url must be a valid URL: "+err.Error()+form)}
	}
	var allErrs field.ErrorList
	if u.Scheme != "https" {
		allErrs = append(allErrs, field.Invalid(fldPath, u.Scheme, "'https' is the only allowed URL scheme"+form))
	}
	if len(u.Host) == 0 {
		allErrs = append(allErrs, field.Invalid(fldPath, u.Host, "host must be specified"+form))
	}
	if u.User != nil {
		allErrs = append(allErrs, field.Invalid(fldPath, u.User.String(), "user information is not permitted in the URL"))
	}
	if len(u.Fragment) != 0 {
		allErrs = append(allErrs, field.Invalid(fldPath, u.Fragment, "fragments are not permitted in the URL"))
	}
	if len(u.RawQuery) != 0 {
		allErrs = append(allErrs, field.Invalid(fldPath, u.RawQuery, "query parameters are not permitted in the URL"))
	}
	return allErrs
}

// validateWebhookService is k8s.io/apiserver's webhook.ValidateWebhookService.
func validateWebhookService(fldPath *field.Path, namespace, name string, urlPath *string, port int32) field.ErrorList {
	var allErrs field.ErrorList
	if len(name) == 0 {
		allErrs = append(allErrs, field.Required(fldPath.Child("name"), ""))
	}
	if len(namespace) == 0 {
		allErrs = append(allErrs, field.Required(fldPath.Child("namespace"), ""))
	}
	if errs := validation.IsValidPortNum(int(port)); errs != nil {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("port"), port, "port is not valid: "+strings.Join(errs, ", ")))
	}
	if urlPath == nil || *urlPath == "/" || len(*urlPath) == 0 {
		return allErrs
	}
	p := *urlPath
	if p == "//" {
		return append(allErrs, field.Invalid(fldPath.Child("path"), p, "segment[0] may not be empty"))
	}
	if !strings.HasPrefix(p, "/") {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("path"), p, "must start with a '/'"))
	}
	check := strings.TrimSuffix(p[1:], "/")
	for i, step := range strings.Split(check, "/") {
		if len(step) == 0 {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("path"), p, fmt.Sprintf("segment[%d] may not be empty", i)))
			continue
		}
		for _, failure := range validation.IsDNS1123Subdomain(step) {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("path"), p, fmt.Sprintf("segment[%d]: %v", i, failure)))
		}
	}
	return allErrs
}

func hasWildcard(values []string) bool {
	for _, v := range values {
		if v == "*" {
			return true
		}
	}
	return false
}

func validateRuleWithOperations(r *admissionregistrationv1.RuleWithOperations, operations sets.Set[string], fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	ops := make([]string, len(r.Operations))
	for i, o := range r.Operations {
		ops[i] = string(o)
	}
	if len(ops) == 0 {
		allErrs = append(allErrs, field.Required(fldPath.Child("operations"), ""))
	}
	if len(ops) > 1 && hasWildcard(ops) {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("operations"), r.Operations, "if '*' is present, must not specify other operations"))
	}
	for i, o := range ops {
		if !operations.Has(o) {
			allErrs = append(allErrs, field.NotSupported(fldPath.Child("operations").Index(i), r.Operations[i], sets.List(operations)))
		}
	}
	return append(allErrs, validateRule(&r.Rule, fldPath)...)
}

func validateRule(r *admissionregistrationv1.Rule, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if len(r.APIGroups) == 0 {
		allErrs = append(allErrs, field.Required(fldPath.Child("apiGroups"), ""))
	}
	if len(r.APIGroups) > 1 && hasWildcard(r.APIGroups) {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("apiGroups"), r.APIGroups, "if '*' is present, must not specify other API groups"))
	}
	if len(r.APIVersions) == 0 {
		allErrs = append(allErrs, field.Required(fldPath.Child("apiVersions"), ""))
	}
	if len(r.APIVersions) > 1 && hasWildcard(r.APIVersions) {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("apiVersions"), r.APIVersions, "if '*' is present, must not specify other API versions"))
	}
	for i, v := range r.APIVersions {
		if v == "" {
			allErrs = append(allErrs, field.Required(fldPath.Child("apiVersions").Index(i), ""))
		}
	}
	allErrs = append(allErrs, validateRuleResources(r.Resources, fldPath.Child("resources"))...)
	if r.Scope != nil && !supportedScopes.Has(string(*r.Scope)) {
		allErrs = append(allErrs, field.NotSupported(fldPath.Child("scope"), *r.Scope, sets.List(supportedScopes)))
	}
	return allErrs
}

// validateRuleResources is upstream's validateResources (subresources allowed).
func validateRuleResources(resources []string, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if len(resources) == 0 {
		allErrs = append(allErrs, field.Required(fldPath, ""))
	}
	wildcardSub, wildcardRes := sets.New[string](), sets.New[string]()
	doubleWildcard, singleWildcard, plain := false, false, false
	for i, rs := range resources {
		if rs == "" {
			allErrs = append(allErrs, field.Required(fldPath.Index(i), ""))
			continue
		}
		doubleWildcard = doubleWildcard || rs == "*/*"
		singleWildcard = singleWildcard || rs == "*"
		res, sub, found := strings.Cut(rs, "/")
		if !found {
			plain = rs != "*"
			continue
		}
		if wildcardSub.Has(res) {
			allErrs = append(allErrs, field.Invalid(fldPath.Index(i), rs, fmt.Sprintf("if '%s/*' is present, must not specify %s", res, rs)))
		}
		if wildcardRes.Has(sub) {
			allErrs = append(allErrs, field.Invalid(fldPath.Index(i), rs, fmt.Sprintf("if '*/%s' is present, must not specify %s", sub, rs)))
		}
		if sub == "*" {
			wildcardSub.Insert(res)
		}
		if res == "*" {
			wildcardRes.Insert(sub)
		}
	}
	if len(resources) > 1 && doubleWildcard {
		allErrs = append(allErrs, field.Invalid(fldPath, resources, "if '*/*' is present, must not specify other resources"))
	}
	if singleWildcard && plain {
		allErrs = append(allErrs, field.Invalid(fldPath, resources, "if '*' is present, must not specify other resources without subresources"))
	}
	return allErrs
}

// validateMatchConditions checks names and presence; the storage compiles the expressions.
func validateMatchConditions(conditions []admissionregistrationv1.MatchCondition, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if len(conditions) > 64 {
		allErrs = append(allErrs, field.TooMany(fldPath, len(conditions), 64))
	}
	names := sets.New[string]()
	for i, c := range conditions {
		if strings.TrimSpace(c.Expression) == "" {
			allErrs = append(allErrs, field.Required(fldPath.Index(i).Child("expression"), ""))
		}
		if len(c.Name) == 0 {
			allErrs = append(allErrs, field.Required(fldPath.Index(i).Child("name"), ""))
		} else {
			allErrs = append(allErrs, validateQualifiedName(c.Name, fldPath.Index(i).Child("name"))...)
			if names.Has(c.Name) {
				allErrs = append(allErrs, field.Duplicate(fldPath.Index(i).Child("name"), c.Name))
			}
			names.Insert(c.Name)
		}
	}
	return allErrs
}

func validateValidatingAdmissionPolicy(p *admissionregistrationv1.ValidatingAdmissionPolicy) field.ErrorList {
	allErrs := apimachineryvalidation.ValidateObjectMeta(&p.ObjectMeta, false, apimachineryvalidation.NameIsDNSSubdomain, field.NewPath("metadata"))
	spec, fldPath := &p.Spec, field.NewPath("spec")
	allErrs = append(allErrs, validatePolicyCommon(spec.FailurePolicy, spec.ParamKind, spec.MatchConstraints, spec.MatchConditions, spec.Variables, supportedOperations, fldPath)...)
	if len(spec.Validations) == 0 && len(spec.AuditAnnotations) == 0 {
		allErrs = append(allErrs, field.Required(fldPath.Child("validations"), "validations or auditAnnotations must contain at least one item"))
		return append(allErrs, field.Required(fldPath.Child("auditAnnotations"), "validations or auditAnnotations must contain at least one item"))
	}
	for i, v := range spec.Validations {
		vp := fldPath.Child("validations").Index(i)
		if strings.TrimSpace(v.Expression) == "" {
			allErrs = append(allErrs, field.Required(vp.Child("expression"), "expression is not specified"))
		}
		if len(v.MessageExpression) > 0 && strings.TrimSpace(v.MessageExpression) == "" {
			allErrs = append(allErrs, field.Invalid(vp.Child("messageExpression"), v.MessageExpression, "must be non-empty if specified"))
		}
		trimmed := strings.TrimSpace(v.Message)
		if len(v.Message) > 0 && trimmed == "" {
			allErrs = append(allErrs, field.Invalid(vp.Child("message"), v.Message, "must be non-empty if specified"))
		} else if strings.ContainsAny(trimmed, "\n") {
			allErrs = append(allErrs, field.Invalid(vp.Child("message"), v.Message, "must not contain line breaks"))
		}
		if v.Reason != nil && !supportedPolicyReasons.Has(string(*v.Reason)) {
			allErrs = append(allErrs, field.NotSupported(vp.Child("reason"), *v.Reason, sets.List(supportedPolicyReasons)))
		}
	}
	if len(spec.AuditAnnotations) > 20 {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("auditAnnotations"), spec.AuditAnnotations, "must not have more than 20 auditAnnotations"))
	}
	keys := sets.New[string]()
	for i, a := range spec.AuditAnnotations {
		ap := fldPath.Child("auditAnnotations").Index(i)
		if len(a.Key) == 0 {
			allErrs = append(allErrs, field.Required(ap.Child("key"), ""))
		} else {
			for _, msg := range validation.IsQualifiedName(p.Name + "/" + a.Key) {
				allErrs = append(allErrs, field.Invalid(ap.Child("key"), a.Key, msg))
			}
		}
		if strings.TrimSpace(a.ValueExpression) == "" {
			allErrs = append(allErrs, field.Required(ap.Child("valueExpression"), "valueExpression is not specified"))
		}
		if keys.Has(a.Key) {
			allErrs = append(allErrs, field.Duplicate(ap.Child("key"), a.Key))
		}
		keys.Insert(a.Key)
	}
	return allErrs
}

func validateMutatingAdmissionPolicy(p *admissionregistrationv1.MutatingAdmissionPolicy) field.ErrorList {
	allErrs := apimachineryvalidation.ValidateObjectMeta(&p.ObjectMeta, false, apimachineryvalidation.NameIsDNSSubdomain, field.NewPath("metadata"))
	spec, fldPath := &p.Spec, field.NewPath("spec")
	allErrs = append(allErrs, validatePolicyCommon(spec.FailurePolicy, spec.ParamKind, spec.MatchConstraints, spec.MatchConditions, spec.Variables, supportedMutatingOperations, fldPath)...)
	if len(spec.Mutations) == 0 {
		allErrs = append(allErrs, field.Required(fldPath.Child("mutations"), "mutations must contain at least one item"))
	}
	for i, m := range spec.Mutations {
		mp := fldPath.Child("mutations").Index(i)
		switch m.PatchType {
		case "":
			allErrs = append(allErrs, field.Required(mp.Child("patchType"), ""))
		case admissionregistrationv1.PatchTypeJSONPatch:
			if m.JSONPatch == nil {
				allErrs = append(allErrs, field.Required(mp.Child("jsonPatch"), "must be specified when patchType is JSONPatch"))
			} else if strings.TrimSpace(m.JSONPatch.Expression) == "" {
				allErrs = append(allErrs, field.Required(mp.Child("jsonPatch", "expression"), ""))
			}
			if m.ApplyConfiguration != nil {
				allErrs = append(allErrs, field.Invalid(mp.Child("applyConfiguration"), "{applyConfiguration}", "must not be specified when patchType is JSONPatch"))
			}
		case admissionregistrationv1.PatchTypeApplyConfiguration:
			if m.ApplyConfiguration == nil {
				allErrs = append(allErrs, field.Required(mp.Child("applyConfiguration"), "must be specified when patchType is ApplyConfiguration"))
			} else if strings.TrimSpace(m.ApplyConfiguration.Expression) == "" {
				allErrs = append(allErrs, field.Required(mp.Child("applyConfiguration", "expression"), ""))
			}
			if m.JSONPatch != nil {
				allErrs = append(allErrs, field.Invalid(mp.Child("jsonPatch"), "{jsonPatch}", "must not be specified when patchType is ApplyConfiguration"))
			}
		default:
			allErrs = append(allErrs, field.NotSupported(mp.Child("patchType"), m.PatchType, sets.List(supportedPatchTypes)))
		}
	}
	if spec.ReinvocationPolicy == "" {
		allErrs = append(allErrs, field.Required(fldPath.Child("reinvocationPolicy"), ""))
	} else if !supportedReinvocationPolicies.Has(string(spec.ReinvocationPolicy)) {
		allErrs = append(allErrs, field.NotSupported(fldPath.Child("reinvocationPolicy"), spec.ReinvocationPolicy, sets.List(supportedReinvocationPolicies)))
	}
	return allErrs
}

// validatePolicyCommon checks what validating and mutating policies share.
func validatePolicyCommon(failurePolicy *admissionregistrationv1.FailurePolicyType, paramKind *admissionregistrationv1.ParamKind,
	match *admissionregistrationv1.MatchResources, conditions []admissionregistrationv1.MatchCondition,
	variables []admissionregistrationv1.Variable, operations sets.Set[string], fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if failurePolicy == nil {
		allErrs = append(allErrs, field.Required(fldPath.Child("failurePolicy"), ""))
	} else if !supportedFailurePolicies.Has(string(*failurePolicy)) {
		allErrs = append(allErrs, field.NotSupported(fldPath.Child("failurePolicy"), *failurePolicy, sets.List(supportedFailurePolicies)))
	}
	if paramKind != nil {
		allErrs = append(allErrs, validateParamKind(paramKind, fldPath.Child("paramKind"))...)
	}
	if match == nil {
		allErrs = append(allErrs, field.Required(fldPath.Child("matchConstraints"), ""))
	} else {
		allErrs = append(allErrs, validateMatchResources(match, operations, fldPath.Child("matchConstraints"))...)
		if len(match.ResourceRules) == 0 {
			allErrs = append(allErrs, field.Required(fldPath.Child("matchConstraints", "resourceRules"), ""))
		}
	}
	allErrs = append(allErrs, validateMatchConditions(conditions, fldPath.Child("matchConditions"))...)
	for i, v := range variables {
		vp := fldPath.Child("variables").Index(i)
		if strings.TrimSpace(v.Name) == "" {
			allErrs = append(allErrs, field.Required(vp.Child("name"), "name is not specified"))
		} else if !isCELIdentifier(v.Name) {
			allErrs = append(allErrs, field.Invalid(vp.Child("name"), v.Name, "must be a valid CEL identifier"))
		}
		if strings.TrimSpace(v.Expression) == "" {
			allErrs = append(allErrs, field.Required(vp.Child("expression"), "expression is not specified"))
		}
	}
	return allErrs
}

var celReserved = sets.New("true", "false", "null", "in", "as", "break", "const", "continue", "else",
	"for", "function", "if", "import", "let", "loop", "package", "namespace", "return", "var", "void", "while")

func isCELIdentifier(name string) bool {
	if celReserved.Has(name) || name == "" {
		return false
	}
	for i, r := range name {
		letter := r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z')
		if !letter && (i == 0 || r < '0' || r > '9') {
			return false
		}
	}
	return true
}

func validateParamKind(pk *admissionregistrationv1.ParamKind, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if len(pk.APIVersion) == 0 {
		allErrs = append(allErrs, field.Required(fldPath.Child("apiVersion"), ""))
	} else if strings.Count(pk.APIVersion, "/") > 1 {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("apiVersion"), pk.APIVersion, fmt.Sprintf("unexpected GroupVersion string: %v", pk.APIVersion)))
	} else {
		group, version, found := strings.Cut(pk.APIVersion, "/")
		if !found {
			group, version = "", pk.APIVersion
		}
		if len(group) > 0 {
			if errs := validation.IsDNS1123Subdomain(group); len(errs) > 0 {
				allErrs = append(allErrs, field.Invalid(fldPath.Child("apiVersion"), group, strings.Join(errs, ",")))
			}
		}
		if len(version) == 0 {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("apiVersion"), pk.APIVersion, "version must be specified"))
		} else if errs := validation.IsDNS1035Label(version); len(errs) > 0 {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("apiVersion"), version, strings.Join(errs, ",")))
		}
	}
	if len(pk.Kind) == 0 {
		allErrs = append(allErrs, field.Required(fldPath.Child("kind"), ""))
	} else if errs := validation.IsDNS1035Label(strings.ToLower(pk.Kind)); len(errs) > 0 {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("kind"), pk.Kind, "may have mixed case, but should otherwise match: "+strings.Join(errs, ",")))
	}
	return allErrs
}

func validateMatchResources(mc *admissionregistrationv1.MatchResources, operations sets.Set[string], fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if mc == nil {
		return nil
	}
	if mc.MatchPolicy == nil {
		allErrs = append(allErrs, field.Required(fldPath.Child("matchPolicy"), ""))
	} else if !supportedMatchPolicies.Has(string(*mc.MatchPolicy)) {
		allErrs = append(allErrs, field.NotSupported(fldPath.Child("matchPolicy"), *mc.MatchPolicy, sets.List(supportedMatchPolicies)))
	}
	for name, sel := range map[string]*metav1.LabelSelector{"namespaceSelector": mc.NamespaceSelector, "objectSelector": mc.ObjectSelector} {
		if sel == nil {
			allErrs = append(allErrs, field.Required(fldPath.Child(name), ""))
		} else {
			allErrs = append(allErrs, metav1validation.ValidateLabelSelector(sel, metav1validation.LabelSelectorValidationOptions{}, fldPath.Child(name))...)
		}
	}
	for i := range mc.ResourceRules {
		allErrs = append(allErrs, validateNamedRule(&mc.ResourceRules[i], operations, fldPath.Child("resourceRules").Index(i))...)
	}
	for i := range mc.ExcludeResourceRules {
		allErrs = append(allErrs, validateNamedRule(&mc.ExcludeResourceRules[i], operations, fldPath.Child("excludeResourceRules").Index(i))...)
	}
	return allErrs
}

func validateNamedRule(n *admissionregistrationv1.NamedRuleWithOperations, operations sets.Set[string], fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	names := sets.New[string]()
	for i, name := range n.ResourceNames {
		for _, msg := range path.IsValidPathSegmentName(name) {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("resourceNames").Index(i), name, msg))
		}
		if names.Has(name) {
			allErrs = append(allErrs, field.Duplicate(fldPath.Child("resourceNames").Index(i), name))
		}
		names.Insert(name)
	}
	return append(allErrs, validateRuleWithOperations(&n.RuleWithOperations, operations, fldPath)...)
}

func validateValidatingAdmissionPolicyBinding(b *admissionregistrationv1.ValidatingAdmissionPolicyBinding) field.ErrorList {
	allErrs := apimachineryvalidation.ValidateObjectMeta(&b.ObjectMeta, false, apimachineryvalidation.NameIsDNSSubdomain, field.NewPath("metadata"))
	fldPath := field.NewPath("spec")
	allErrs = append(allErrs, validateBindingCommon(b.Spec.PolicyName, b.Spec.ParamRef, b.Spec.MatchResources, supportedOperations, fldPath)...)
	va := fldPath.Child("validationActions")
	actions := sets.New[string]()
	for i, a := range b.Spec.ValidationActions {
		if !supportedValidationActions.Has(string(a)) {
			allErrs = append(allErrs, field.NotSupported(va.Index(i), a, sets.List(supportedValidationActions)))
		}
		if actions.Has(string(a)) {
			allErrs = append(allErrs, field.Duplicate(va.Index(i), a))
		}
		actions.Insert(string(a))
	}
	if actions.Has("Deny") && actions.Has("Warn") {
		allErrs = append(allErrs, field.Invalid(va, b.Spec.ValidationActions, "must not contain both Deny and Warn (repeating the same validation failure information in the API response and headers serves no purpose)"))
	}
	if len(actions) == 0 {
		allErrs = append(allErrs, field.Required(va, "at least one validation action is required"))
	}
	return allErrs
}

func validateMutatingAdmissionPolicyBinding(b *admissionregistrationv1.MutatingAdmissionPolicyBinding) field.ErrorList {
	allErrs := apimachineryvalidation.ValidateObjectMeta(&b.ObjectMeta, false, apimachineryvalidation.NameIsDNSSubdomain, field.NewPath("metadata"))
	return append(allErrs, validateBindingCommon(b.Spec.PolicyName, b.Spec.ParamRef, b.Spec.MatchResources, supportedMutatingOperations, field.NewPath("spec"))...)
}

func validateBindingCommon(policyName string, pr *admissionregistrationv1.ParamRef, match *admissionregistrationv1.MatchResources, operations sets.Set[string], fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if len(policyName) == 0 {
		allErrs = append(allErrs, field.Required(fldPath.Child("policyName"), ""))
	} else {
		for _, msg := range apimachineryvalidation.NameIsDNSSubdomain(policyName, false) {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("policyName"), policyName, msg))
		}
	}
	if pr != nil {
		pp := fldPath.Child("paramRef")
		if len(pr.Name) > 0 {
			for _, msg := range path.IsValidPathSegmentName(pr.Name) {
				allErrs = append(allErrs, field.Invalid(pp.Child("name"), pr.Name, msg))
			}
			if pr.Selector != nil {
				allErrs = append(allErrs, field.Forbidden(pp.Child("name"), `name and selector are mutually exclusive`))
			}
		}
		if pr.Selector != nil {
			allErrs = append(allErrs, metav1validation.ValidateLabelSelector(pr.Selector, metav1validation.LabelSelectorValidationOptions{}, pp.Child("selector"))...)
			if len(pr.Name) > 0 {
				allErrs = append(allErrs, field.Forbidden(pp.Child("selector"), `name and selector are mutually exclusive`))
			}
		}
		if len(pr.Name) == 0 && pr.Selector == nil {
			allErrs = append(allErrs, field.Required(pp, `one of name or selector must be specified`))
		}
		if pr.ParameterNotFoundAction == nil || len(*pr.ParameterNotFoundAction) == 0 {
			allErrs = append(allErrs, field.Required(pp.Child("parameterNotFoundAction"), ""))
		} else if a := *pr.ParameterNotFoundAction; a != admissionregistrationv1.DenyAction && a != admissionregistrationv1.AllowAction {
			allErrs = append(allErrs, field.NotSupported(pp.Child("parameterNotFoundAction"), pr.ParameterNotFoundAction, []string{"Deny", "Allow"}))
		}
	}
	return append(allErrs, validateMatchResources(match, operations, fldPath.Child("matchResources"))...)
}

// validateValidatingAdmissionPolicyStatus is upstream's status validation but for the JSONPath
// parse of fieldRef (client-go's jsonpath is not imported here).
func validateValidatingAdmissionPolicyStatus(status *admissionregistrationv1.ValidatingAdmissionPolicyStatus, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if tc := status.TypeChecking; tc != nil {
		for i, w := range tc.ExpressionWarnings {
			wp := fldPath.Child("typeChecking", "expressionWarnings").Index(i)
			if w.Warning == "" {
				allErrs = append(allErrs, field.Required(wp.Child("warning"), ""))
			}
			if strings.TrimSpace(w.FieldRef) == "" {
				allErrs = append(allErrs, field.Required(wp.Child("fieldRef"), ""))
			}
		}
	}
	return append(allErrs, metav1validation.ValidateConditions(status.Conditions, fldPath.Child("conditions"))...)
}
