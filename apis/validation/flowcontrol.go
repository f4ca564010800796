package validation

import (
	"fmt"
	"slices"
	"strings"

	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"
	fcboot "k8s.io/apiserver/pkg/apis/flowcontrol/bootstrap"
	"k8s.io/apiserver/pkg/util/shufflesharding"
)

// flowcontrol.apiserver.k8s.io/v1, as upstream's pkg/apis/flowcontrol/validation: the mandatory
// objects (exempt and catch-all, k8s.io/apiserver's bootstrap configuration) keep their fixed
// spec; the exempt priority level may only change spec.exempt.

var (
	fcSupportedDistinguisherMethods = []string{string(flowcontrolv1.FlowDistinguisherMethodByNamespaceType), string(flowcontrolv1.FlowDistinguisherMethodByUserType)}
	fcSupportedVerbs                = sets.New("get", "list", "create", "update", "delete", "deletecollection", "patch", "watch", "proxy")
	fcSupportedSubjectKinds         = []string{string(flowcontrolv1.SubjectKindGroup), string(flowcontrolv1.SubjectKindServiceAccount), string(flowcontrolv1.SubjectKindUser)}
	fcSupportedEnablements          = []string{string(flowcontrolv1.PriorityLevelEnablementExempt), string(flowcontrolv1.PriorityLevelEnablementLimited)}
	fcSupportedLimitResponses       = []string{string(flowcontrolv1.LimitResponseTypeQueue), string(flowcontrolv1.LimitResponseTypeReject)}
)

// fcMaxQueues is upstream's priorityLevelConfigurationQueuingMaxQueues (10^7).
const fcMaxQueues int32 = 10 * 1000 * 1000

const fcNamespaceErrIntro = "each member of this list must be '*' or a DNS-1123 label; "

func mandatoryFlowSchema(name string) *flowcontrolv1.FlowSchema {
	for _, fs := range fcboot.MandatoryFlowSchemas {
		if fs.Name == name {
			return fs
		}
	}
	return nil
}

func mandatoryPriorityLevel(name string) *flowcontrolv1.PriorityLevelConfiguration {
	for _, pl := range fcboot.MandatoryPriorityLevelConfigurations {
		if pl.Name == name {
			return pl
		}
	}
	return nil
}

// validateFlowcontrolCreate validates new flowcontrol objects; ok is false for other kinds.
func validateFlowcontrolCreate(obj runtime.Object) (field.ErrorList, bool) {
	switch o := obj.(type) {
	case *flowcontrolv1.FlowSchema:
		return validateFlowSchema(o), true
	case *flowcontrolv1.PriorityLevelConfiguration:
		return validatePriorityLevelConfiguration(o), true
	}
	return nil, false
}

// validateFlowcontrolUpdate validates updates of flowcontrol objects; ok is false for other kinds.
func validateFlowcontrolUpdate(obj, old runtime.Object) (field.ErrorList, bool) {
	switch o := obj.(type) {
	case *flowcontrolv1.FlowSchema:
		if p, ok := old.(*flowcontrolv1.FlowSchema); ok {
			return append(validateObjectMetaUpdate(&o.ObjectMeta, &p.ObjectMeta, field.NewPath("metadata")), validateFlowSchema(o)...), true
		}
		return mismatchedOld(obj, old), true
	case *flowcontrolv1.PriorityLevelConfiguration:
		if p, ok := old.(*flowcontrolv1.PriorityLevelConfiguration); ok {
			return append(validateObjectMetaUpdate(&o.ObjectMeta, &p.ObjectMeta, field.NewPath("metadata")), validatePriorityLevelConfiguration(o)...), true
		}
		return mismatchedOld(obj, old), true
	}
	return nil, false
}

// validateFlowcontrolStatusUpdate validates status updates of flowcontrol objects; ok is false
// for other kinds.
func validateFlowcontrolStatusUpdate(obj, old runtime.Object) (field.ErrorList, bool) {
	switch o := obj.(type) {
	case *flowcontrolv1.FlowSchema:
		if p, ok := old.(*flowcontrolv1.FlowSchema); ok {
			errs := validateObjectMetaUpdate(&o.ObjectMeta, &p.ObjectMeta, field.NewPath("metadata"))
			return append(errs, validateFlowcontrolConditions(conditionTypes(o.Status.Conditions, func(c flowcontrolv1.FlowSchemaCondition) string { return string(c.Type) }))...), true
		}
		return mismatchedOld(obj, old), true
	case *flowcontrolv1.PriorityLevelConfiguration:
		if p, ok := old.(*flowcontrolv1.PriorityLevelConfiguration); ok {
			errs := validateObjectMetaUpdate(&o.ObjectMeta, &p.ObjectMeta, field.NewPath("metadata"))
			return append(errs, validateFlowcontrolConditions(conditionTypes(o.Status.Conditions, func(c flowcontrolv1.PriorityLevelConfigurationCondition) string { return string(c.Type) }))...), true
		}
		return mismatchedOld(obj, old), true
	}
	return nil, false
}

func conditionTypes[C any](conds []C, typ func(C) string) []string {
	out := make([]string, 0, len(conds))
	for _, c := range conds {
		out = append(out, typ(c))
	}
	return out
}

// validateFlowcontrolConditions is upstream's status check of both kinds: every condition has a
// type, and no type appears twice.
func validateFlowcontrolConditions(types []string) field.ErrorList {
	var allErrs field.ErrorList
	fldPath := field.NewPath("status", "conditions")
	seen := sets.New[string]()
	for i, t := range types {
		if seen.Has(t) {
			allErrs = append(allErrs, field.Duplicate(fldPath.Index(i).Child("type"), t))
		}
		seen.Insert(t)
		if t == "" {
			allErrs = append(allErrs, field.Required(fldPath.Index(i).Child("type"), ""))
		}
	}
	return allErrs
}

func validateFlowSchema(fs *flowcontrolv1.FlowSchema) field.ErrorList {
	allErrs := validateObjectMeta(&fs.ObjectMeta, false, apimachineryvalidation.NameIsDNSSubdomain, field.NewPath("metadata"))
	specPath := field.NewPath("spec")
	allErrs = append(allErrs, validateFlowSchemaSpec(fs.Name, &fs.Spec, specPath)...)
	if mand := mandatoryFlowSchema(fs.Name); mand != nil && !apiequality.Semantic.DeepEqual(fs.Spec, mand.Spec) {
		allErrs = append(allErrs, field.Invalid(specPath, fs.Spec, fmt.Sprintf("spec of '%s' must equal the fixed value", fs.Name)))
	}
	return append(allErrs, validateFlowcontrolConditions(conditionTypes(fs.Status.Conditions, func(c flowcontrolv1.FlowSchemaCondition) string { return string(c.Type) }))...)
}

func validateFlowSchemaSpec(name string, spec *flowcontrolv1.FlowSchemaSpec, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	prec := fldPath.Child("matchingPrecedence")
	if spec.MatchingPrecedence <= 0 {
		allErrs = append(allErrs, field.Invalid(prec, spec.MatchingPrecedence, "must be a positive value"))
	}
	if spec.MatchingPrecedence > flowcontrolv1.FlowSchemaMaxMatchingPrecedence {
		allErrs = append(allErrs, field.Invalid(prec, spec.MatchingPrecedence, fmt.Sprintf("must not be greater than %v", flowcontrolv1.FlowSchemaMaxMatchingPrecedence)))
	}
	if spec.MatchingPrecedence == 1 && name != flowcontrolv1.FlowSchemaNameExempt {
		allErrs = append(allErrs, field.Invalid(prec, spec.MatchingPrecedence, "only the schema named 'exempt' may have matchingPrecedence 1"))
	}
	if spec.DistinguisherMethod != nil && !slices.Contains(fcSupportedDistinguisherMethods, string(spec.DistinguisherMethod.Type)) {
		allErrs = append(allErrs, field.NotSupported(fldPath.Child("distinguisherMethod").Child("type"), spec.DistinguisherMethod, fcSupportedDistinguisherMethods))
	}
	plPath := fldPath.Child("priorityLevelConfiguration").Child("name")
	if pl := spec.PriorityLevelConfiguration.Name; pl != "" {
		for _, msg := range apimachineryvalidation.NameIsDNSSubdomain(pl, false) {
			allErrs = append(allErrs, field.Invalid(plPath, pl, msg))
		}
	} else {
		allErrs = append(allErrs, field.Required(plPath, "must reference a priority level"))
	}
	for i := range spec.Rules {
		allErrs = append(allErrs, validatePolicyRulesWithSubjects(&spec.Rules[i], fldPath.Child("rules").Index(i))...)
	}
	return allErrs
}

func validatePolicyRulesWithSubjects(rule *flowcontrolv1.PolicyRulesWithSubjects, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if len(rule.Subjects) == 0 {
		allErrs = append(allErrs, field.Required(fldPath.Child("subjects"), "subjects must contain at least one value"))
	}
	for i := range rule.Subjects {
		allErrs = append(allErrs, validateFlowcontrolSubject(&rule.Subjects[i], fldPath.Child("subjects").Index(i))...)
	}
	if len(rule.ResourceRules) == 0 && len(rule.NonResourceRules) == 0 {
		allErrs = append(allErrs, field.Required(fldPath, "at least one of resourceRules and nonResourceRules has to be non-empty"))
	}
	for i := range rule.ResourceRules {
		allErrs = append(allErrs, validateFlowcontrolResourceRule(&rule.ResourceRules[i], fldPath.Child("resourceRules").Index(i))...)
	}
	for i := range rule.NonResourceRules {
		allErrs = append(allErrs, validateFlowcontrolNonResourceRule(&rule.NonResourceRules[i], fldPath.Child("nonResourceRules").Index(i))...)
	}
	return allErrs
}

func validateFlowcontrolSubject(s *flowcontrolv1.Subject, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	forbid := func(set bool, child, msg string) {
		if set {
			allErrs = append(allErrs, field.Forbidden(fldPath.Child(child), msg))
		}
	}
	const (
		notUser  = "user is forbidden when subject kind is not 'User'"
		notGroup = "group is forbidden when subject kind is not 'Group'"
		notSA    = "serviceAccount is forbidden when subject kind is not 'ServiceAccount'"
	)
	switch s.Kind {
	case flowcontrolv1.SubjectKindServiceAccount:
		p := fldPath.Child("serviceAccount")
		switch sa := s.ServiceAccount; {
		case sa == nil:
			allErrs = append(allErrs, field.Required(p, "serviceAccount is required when subject kind is 'ServiceAccount'"))
		default:
			if sa.Name == "" {
				allErrs = append(allErrs, field.Required(p.Child("name"), ""))
			} else if sa.Name != flowcontrolv1.NameAll {
				for _, msg := range apimachineryvalidation.ValidateServiceAccountName(sa.Name, false) {
					allErrs = append(allErrs, field.Invalid(p.Child("name"), sa.Name, msg))
				}
			}
			if sa.Namespace == "" {
				allErrs = append(allErrs, field.Required(p.Child("namespace"), "must specify namespace for service account"))
			} else {
				for _, msg := range apimachineryvalidation.ValidateNamespaceName(sa.Namespace, false) {
					allErrs = append(allErrs, field.Invalid(p.Child("namespace"), sa.Namespace, msg))
				}
			}
		}
		forbid(s.User != nil, "user", notUser)
		forbid(s.Group != nil, "group", notGroup)
	case flowcontrolv1.SubjectKindUser:
		if s.User == nil {
			allErrs = append(allErrs, field.Required(fldPath.Child("user"), "user is required when subject kind is 'User'"))
		} else if s.User.Name == "" {
			allErrs = append(allErrs, field.Required(fldPath.Child("user").Child("name"), ""))
		}
		forbid(s.ServiceAccount != nil, "serviceAccount", notSA)
		forbid(s.Group != nil, "group", notGroup)
	case flowcontrolv1.SubjectKindGroup:
		if s.Group == nil {
			allErrs = append(allErrs, field.Required(fldPath.Child("group"), "group is required when subject kind is 'Group'"))
		} else if s.Group.Name == "" {
			allErrs = append(allErrs, field.Required(fldPath.Child("group").Child("name"), ""))
		}
		forbid(s.ServiceAccount != nil, "serviceAccount", notSA)
		forbid(s.User != nil, "user", notUser)
	default:
		allErrs = append(allErrs, field.NotSupported(fldPath.Child("kind"), s.Kind, fcSupportedSubjectKinds))
	}
	return allErrs
}

func validateFlowcontrolVerbs(verbs []string, fldPath *field.Path) field.ErrorList {
	switch {
	case len(verbs) == 0:
		return field.ErrorList{field.Required(fldPath, "verbs must contain at least one value")}
	case slices.Contains(verbs, "*"):
		if len(verbs) > 1 {
			return field.ErrorList{field.Invalid(fldPath, verbs, "if '*' is present, must not specify other verbs")}
		}
	case !fcSupportedVerbs.HasAll(verbs...):
		return field.ErrorList{field.NotSupported(fldPath, verbs, sets.List(fcSupportedVerbs))}
	}
	return nil
}

func validateFlowcontrolNonResourceRule(rule *flowcontrolv1.NonResourcePolicyRule, fldPath *field.Path) field.ErrorList {
	allErrs := validateFlowcontrolVerbs(rule.Verbs, fldPath.Child("verbs"))
	urls := fldPath.Child("nonResourceURLs")
	switch {
	case len(rule.NonResourceURLs) == 0:
		allErrs = append(allErrs, field.Required(urls, "nonResourceURLs must contain at least one value"))
	case slices.Contains(rule.NonResourceURLs, "*"):
		if len(rule.NonResourceURLs) > 1 {
			allErrs = append(allErrs, field.Invalid(urls, rule.NonResourceURLs, "if '*' is present, must not specify other non-resource URLs"))
		}
	default:
		for i, u := range rule.NonResourceURLs {
			if err := validateNonResourceURLPath(u, urls.Index(i)); err != nil {
				allErrs = append(allErrs, err)
			}
		}
	}
	return allErrs
}

func validateNonResourceURLPath(path string, fldPath *field.Path) *field.Error {
	switch {
	case path == "":
		return field.Invalid(fldPath, path, "must not be empty")
	case path == "/":
		return nil
	case !strings.HasPrefix(path, "/"):
		return field.Invalid(fldPath, path, "must start with slash")
	case strings.Contains(path, " "):
		return field.Invalid(fldPath, path, "must not contain white-space")
	case strings.Contains(path, "//"):
		return field.Invalid(fldPath, path, "must not contain double slash")
	}
	if n := strings.Count(path, "*"); n > 1 || (n == 1 && !strings.HasSuffix(path, "/*")) {
		return field.Invalid(fldPath, path, "wildcard can only do suffix matching")
	}
	return nil
}

func validateFlowcontrolResourceRule(rule *flowcontrolv1.ResourcePolicyRule, fldPath *field.Path) field.ErrorList {
	allErrs := validateFlowcontrolVerbs(rule.Verbs, fldPath.Child("verbs"))
	if len(rule.APIGroups) == 0 {
		allErrs = append(allErrs, field.Required(fldPath.Child("apiGroups"), "resource rules must supply at least one api group"))
	} else if len(rule.APIGroups) > 1 && slices.Contains(rule.APIGroups, "*") {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("apiGroups"), rule.APIGroups, "if '*' is present, must not specify other api groups"))
	}
	if len(rule.Resources) == 0 {
		allErrs = append(allErrs, field.Required(fldPath.Child("resources"), "resource rules must supply at least one resource"))
	} else if len(rule.Resources) > 1 && slices.Contains(rule.Resources, "*") {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("resources"), rule.Resources, "if '*' is present, must not specify other resources"))
	}
	ns := fldPath.Child("namespaces")
	switch {
	case len(rule.Namespaces) == 0 && !rule.ClusterScope:
		allErrs = append(allErrs, field.Required(ns, "resource rules that are not cluster scoped must supply at least one namespace"))
	case slices.Contains(rule.Namespaces, "*"):
		if len(rule.Namespaces) > 1 {
			allErrs = append(allErrs, field.Invalid(ns, rule.Namespaces, "if '*' is present, must not specify other namespaces"))
		}
	default:
		for i, n := range rule.Namespaces {
			for _, msg := range apimachineryvalidation.ValidateNamespaceName(n, false) {
				allErrs = append(allErrs, field.Invalid(ns.Index(i), n, fcNamespaceErrIntro+msg))
			}
		}
	}
	return allErrs
}

func validatePriorityLevelConfiguration(pl *flowcontrolv1.PriorityLevelConfiguration) field.ErrorList {
	allErrs := validateObjectMeta(&pl.ObjectMeta, false, apimachineryvalidation.NameIsDNSSubdomain, field.NewPath("metadata"))
	specPath := field.NewPath("spec")
	allErrs = append(allErrs, validatePriorityLevelSpec(&pl.Spec, pl.Name, specPath)...)
	if mand := mandatoryPriorityLevel(pl.Name); mand != nil {
		have := pl.Spec.DeepCopy()
		msg := "spec of '%s' must equal the fixed value"
		if pl.Name == flowcontrolv1.PriorityLevelConfigurationNameExempt {
			have.Exempt = mand.Spec.Exempt
			msg = "spec of '%s' except the 'spec.exempt' field must equal the fixed value"
		}
		if !apiequality.Semantic.DeepEqual(*have, mand.Spec) {
			allErrs = append(allErrs, field.Invalid(specPath, pl.Spec, fmt.Sprintf(msg, pl.Name)))
		}
	}
	return append(allErrs, validateFlowcontrolConditions(conditionTypes(pl.Status.Conditions, func(c flowcontrolv1.PriorityLevelConfigurationCondition) string { return string(c.Type) }))...)
}

func validatePriorityLevelSpec(spec *flowcontrolv1.PriorityLevelConfigurationSpec, name string, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if (name == flowcontrolv1.PriorityLevelConfigurationNameExempt) != (spec.Type == flowcontrolv1.PriorityLevelEnablementExempt) {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("type"), spec.Type, "must be 'Exempt' if and only if `name` is 'exempt'"))
	}
	percent := func(p *int32, path *field.Path) {
		if p != nil && (*p < 0 || *p > 100) {
			allErrs = append(allErrs, field.Invalid(path, *p, "must be between 0 and 100, inclusive"))
		}
	}
	switch spec.Type {
	case flowcontrolv1.PriorityLevelEnablementExempt:
		if spec.Limited != nil {
			allErrs = append(allErrs, field.Forbidden(fldPath.Child("limited"), "must be nil if the type is not Limited"))
		}
		if e := spec.Exempt; e != nil {
			if e.NominalConcurrencyShares != nil && *e.NominalConcurrencyShares < 0 {
				allErrs = append(allErrs, field.Invalid(fldPath.Child("exempt", "nominalConcurrencyShares"), *e.NominalConcurrencyShares, "must be a non-negative integer"))
			}
			percent(e.LendablePercent, fldPath.Child("exempt", "lendablePercent"))
		}
	case flowcontrolv1.PriorityLevelEnablementLimited:
		if spec.Exempt != nil {
			allErrs = append(allErrs, field.Forbidden(fldPath.Child("exempt"), "must be nil if the type is Limited"))
		}
		l := spec.Limited
		if l == nil {
			allErrs = append(allErrs, field.Required(fldPath.Child("limited"), "must not be empty when type is Limited"))
			break
		}
		lp := fldPath.Child("limited")
		if l.NominalConcurrencyShares != nil && *l.NominalConcurrencyShares < 0 {
			allErrs = append(allErrs, field.Invalid(lp.Child("nominalConcurrencyShares"), *l.NominalConcurrencyShares, "must be a non-negative integer"))
		}
		allErrs = append(allErrs, validateLimitResponse(l.LimitResponse, lp.Child("limitResponse"))...)
		percent(l.LendablePercent, lp.Child("lendablePercent"))
		if l.BorrowingLimitPercent != nil && *l.BorrowingLimitPercent < 0 {
			allErrs = append(allErrs, field.Invalid(lp.Child("borrowingLimitPercent"), *l.BorrowingLimitPercent, "if specified, must be a non-negative integer"))
		}
	case "":
		allErrs = append(allErrs, field.Required(fldPath.Child("type"), ""))
	default:
		allErrs = append(allErrs, field.NotSupported(fldPath.Child("type"), spec.Type, fcSupportedEnablements))
	}
	return allErrs
}

func validateLimitResponse(lr flowcontrolv1.LimitResponse, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	switch lr.Type {
	case flowcontrolv1.LimitResponseTypeReject:
		if lr.Queuing != nil {
			allErrs = append(allErrs, field.Forbidden(fldPath.Child("queuing"), "must be nil if limited.limitResponse.type is not Limited"))
		}
	case flowcontrolv1.LimitResponseTypeQueue:
		q := lr.Queuing
		if q == nil {
			return append(allErrs, field.Required(fldPath.Child("queuing"), "must not be empty if limited.limitResponse.type is Limited"))
		}
		qp := fldPath.Child("queuing")
		if q.QueueLengthLimit <= 0 {
			allErrs = append(allErrs, field.Invalid(qp.Child("queueLengthLimit"), q.QueueLengthLimit, "must be positive"))
		}
		if q.Queues <= 0 {
			allErrs = append(allErrs, field.Invalid(qp.Child("queues"), q.Queues, "must be positive"))
		} else if q.Queues > fcMaxQueues {
			allErrs = append(allErrs, field.Invalid(qp.Child("queues"), q.Queues, fmt.Sprintf("must not be greater than %d", fcMaxQueues)))
		}
		switch {
		case q.HandSize <= 0:
			allErrs = append(allErrs, field.Invalid(qp.Child("handSize"), q.HandSize, "must be positive"))
		case q.HandSize > q.Queues:
			allErrs = append(allErrs, field.Invalid(qp.Child("handSize"), q.HandSize, fmt.Sprintf("should not be greater than queues (%d)", q.Queues)))
		case shufflesharding.RequiredEntropyBits(int(q.Queues), int(q.HandSize)) > shufflesharding.MaxHashBits:
			allErrs = append(allErrs, field.Invalid(qp.Child("handSize"), q.HandSize,
				fmt.Sprintf("required entropy bits of deckSize %d and handSize %d should not be greater than %d", q.Queues, q.HandSize, shufflesharding.MaxHashBits)))
		}
	case "":
		allErrs = append(allErrs, field.Required(fldPath.Child("type"), ""))
	default:
		allErrs = append(allErrs, field.NotSupported(fldPath.Child("type"), lr.Type, fcSupportedLimitResponses))
	}
	return allErrs
}
