package validation

import (
	"testing"

	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	fcboot "k8s.io/apiserver/pkg/apis/flowcontrol/bootstrap"
)

func TestFlowSchema(t *testing.T) {
	schema := func(mutate func(*flowcontrolv1.FlowSchema)) *flowcontrolv1.FlowSchema {
		fs := &flowcontrolv1.FlowSchema{ObjectMeta: metav1.ObjectMeta{Name: "team-a", ResourceVersion: "1"},
			Spec: flowcontrolv1.FlowSchemaSpec{PriorityLevelConfiguration: flowcontrolv1.PriorityLevelConfigurationReference{Name: "workload-low"},
				DistinguisherMethod: &flowcontrolv1.FlowDistinguisherMethod{Type: flowcontrolv1.FlowDistinguisherMethodByUserType},
				Rules: []flowcontrolv1.PolicyRulesWithSubjects{{
					Subjects: []flowcontrolv1.Subject{{Kind: flowcontrolv1.SubjectKindServiceAccount,
						ServiceAccount: &flowcontrolv1.ServiceAccountSubject{Namespace: "team-a", Name: "*"}}},
					ResourceRules:    []flowcontrolv1.ResourcePolicyRule{{Verbs: []string{"get", "list"}, APIGroups: []string{"*"}, Resources: []string{"*"}, Namespaces: []string{"team-a"}}},
					NonResourceRules: []flowcontrolv1.NonResourcePolicyRule{{Verbs: []string{"*"}, NonResourceURLs: []string{"/healthz", "/apis/*"}}},
				}}}}
		mutate(fs)
		return defaulted(fs)
	}
	same := func(*flowcontrolv1.FlowSchema) {}
	catchAll := fcboot.MandatoryFlowSchemaCatchAll.DeepCopy()
	catchAll.ResourceVersion = "1"
	changedCatchAll := catchAll.DeepCopy()
	changedCatchAll.Spec.MatchingPrecedence = 9000
	for _, tc := range []struct {
		name      string
		obj, old  *flowcontrolv1.FlowSchema
		create    []want
		updateErr []want
	}{
		{"valid, matchingPrecedence defaulted to 1000", schema(same), schema(same), nil, nil},
		{"precedence 1 is the exempt schema's", schema(func(fs *flowcontrolv1.FlowSchema) { fs.Spec.MatchingPrecedence = 1 }), nil,
			[]want{{"spec.matchingPrecedence", field.ErrorTypeInvalid, "only the schema named 'exempt'"}}, nil},
		{"precedence too large", schema(func(fs *flowcontrolv1.FlowSchema) { fs.Spec.MatchingPrecedence = 10001 }), nil,
			[]want{{"spec.matchingPrecedence", field.ErrorTypeInvalid, "must not be greater than 10000"}}, nil},
		{"no priority level, unknown distinguisher", schema(func(fs *flowcontrolv1.FlowSchema) {
			fs.Spec.PriorityLevelConfiguration.Name = ""
			fs.Spec.DistinguisherMethod.Type = "ByPod"
		}), nil, []want{{"spec.priorityLevelConfiguration.name", field.ErrorTypeRequired, "must reference a priority level"},
			{"spec.distinguisherMethod.type", field.ErrorTypeNotSupported, ""}}, nil},
		{"subjects", schema(func(fs *flowcontrolv1.FlowSchema) {
			fs.Spec.Rules[0].Subjects = []flowcontrolv1.Subject{
				{Kind: flowcontrolv1.SubjectKindServiceAccount, ServiceAccount: &flowcontrolv1.ServiceAccountSubject{Name: "sa"}},
				{Kind: flowcontrolv1.SubjectKindUser, User: &flowcontrolv1.UserSubject{Name: "u"}, Group: &flowcontrolv1.GroupSubject{Name: "g"}},
				{Kind: flowcontrolv1.SubjectKindGroup},
				{Kind: "Robot"},
			}
		}), nil, []want{{"spec.rules[0].subjects[0].serviceAccount.namespace", field.ErrorTypeRequired, ""},
			{"spec.rules[0].subjects[1].group", field.ErrorTypeForbidden, "group is forbidden when subject kind is not 'Group'"},
			{"spec.rules[0].subjects[2].group", field.ErrorTypeRequired, ""},
			{"spec.rules[0].subjects[3].kind", field.ErrorTypeNotSupported, ""}}, nil},
		{"rules", schema(func(fs *flowcontrolv1.FlowSchema) {
			fs.Spec.Rules = append(fs.Spec.Rules, flowcontrolv1.PolicyRulesWithSubjects{
				Subjects: []flowcontrolv1.Subject{{Kind: flowcontrolv1.SubjectKindGroup, Group: &flowcontrolv1.GroupSubject{Name: "g"}}}})
			fs.Spec.Rules[0].ResourceRules[0] = flowcontrolv1.ResourcePolicyRule{Verbs: []string{"get", "bake"}, APIGroups: []string{"*", "apps"}, Resources: []string{"pods"}}
			fs.Spec.Rules[0].NonResourceRules[0] = flowcontrolv1.NonResourcePolicyRule{Verbs: []string{"*", "get"}, NonResourceURLs: []string{"healthz", "/a/*/b"}}
		}), nil, []want{{"spec.rules[0].resourceRules[0].verbs", field.ErrorTypeNotSupported, ""},
			{"spec.rules[0].resourceRules[0].apiGroups", field.ErrorTypeInvalid, "if '*' is present"},
			{"spec.rules[0].resourceRules[0].namespaces", field.ErrorTypeRequired, "not cluster scoped"},
			{"spec.rules[0].nonResourceRules[0].verbs", field.ErrorTypeInvalid, "if '*' is present"},
			{"spec.rules[0].nonResourceRules[0].nonResourceURLs[0]", field.ErrorTypeInvalid, "must start with slash"},
			{"spec.rules[0].nonResourceRules[0].nonResourceURLs[1]", field.ErrorTypeInvalid, "wildcard can only do suffix matching"},
			{"spec.rules[1]", field.ErrorTypeRequired, "at least one of resourceRules and nonResourceRules"}}, nil},
		{"duplicate status condition", schema(func(fs *flowcontrolv1.FlowSchema) {
			fs.Status.Conditions = []flowcontrolv1.FlowSchemaCondition{{Type: "Dangling"}, {Type: "Dangling"}}
		}), nil, []want{{"status.conditions[1].type", field.ErrorTypeDuplicate, ""}}, nil},
		{"the mandatory catch-all keeps its spec", changedCatchAll, catchAll,
			[]want{{"spec", field.ErrorTypeInvalid, "spec of 'catch-all' must equal the fixed value"}},
			[]want{{"spec", field.ErrorTypeInvalid, "spec of 'catch-all' must equal the fixed value"}}},
		{"the mandatory catch-all as bootstrapped", catchAll, catchAll, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkErrs(t, ValidateCreate(tc.obj), tc.create)
			if tc.old != nil {
				checkErrs(t, ValidateUpdate(tc.obj, tc.old), tc.updateErr)
			}
		})
	}
}

func TestPriorityLevelConfiguration(t *testing.T) {
	level := func(mutate func(*flowcontrolv1.PriorityLevelConfiguration)) *flowcontrolv1.PriorityLevelConfiguration {
		pl := &flowcontrolv1.PriorityLevelConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "team-a", ResourceVersion: "1"},
			Spec: flowcontrolv1.PriorityLevelConfigurationSpec{Type: flowcontrolv1.PriorityLevelEnablementLimited,
				Limited: &flowcontrolv1.LimitedPriorityLevelConfiguration{LimitResponse: flowcontrolv1.LimitResponse{
					Type: flowcontrolv1.LimitResponseTypeQueue, Queuing: &flowcontrolv1.QueuingConfiguration{}}}}}
		mutate(pl)
		return defaulted(pl)
	}
	same := func(*flowcontrolv1.PriorityLevelConfiguration) {}
	exempt := fcboot.MandatoryPriorityLevelConfigurationExempt.DeepCopy()
	exempt.ResourceVersion = "1"
	exemptShares := exempt.DeepCopy()
	exemptShares.Spec.Exempt.NominalConcurrencyShares = ptr(int32(10))
	exemptLimited := exempt.DeepCopy()
	exemptLimited.Spec.Type = flowcontrolv1.PriorityLevelEnablementLimited
	exemptLimitedErrs := []want{{"spec.type", field.ErrorTypeInvalid, ""}, {"spec.exempt", field.ErrorTypeForbidden, ""},
		{"spec.limited", field.ErrorTypeRequired, ""}, {"spec", field.ErrorTypeInvalid, "except the 'spec.exempt' field"}}
	for _, tc := range []struct {
		name      string
		obj, old  *flowcontrolv1.PriorityLevelConfiguration
		create    []want
		updateErr []want
	}{
		{"valid, queuing defaulted", level(same), level(same), nil, nil},
		{"Exempt is the exempt level's", level(func(pl *flowcontrolv1.PriorityLevelConfiguration) {
			pl.Spec.Type, pl.Spec.Limited = flowcontrolv1.PriorityLevelEnablementExempt, nil
		}), nil, []want{{"spec.type", field.ErrorTypeInvalid, "must be 'Exempt' if and only if `name` is 'exempt'"}}, nil},
		{"limited without limited, unknown type", level(func(pl *flowcontrolv1.PriorityLevelConfiguration) { pl.Spec.Limited = nil }), nil,
			[]want{{"spec.limited", field.ErrorTypeRequired, ""}}, nil},
		{"unknown type", level(func(pl *flowcontrolv1.PriorityLevelConfiguration) { pl.Spec.Type = "Sometimes" }), nil,
			[]want{{"spec.type", field.ErrorTypeNotSupported, ""}}, nil},
		{"numbers out of range", level(func(pl *flowcontrolv1.PriorityLevelConfiguration) {
			l := pl.Spec.Limited
			l.NominalConcurrencyShares, l.LendablePercent, l.BorrowingLimitPercent = ptr[int32](-1), ptr[int32](101), ptr[int32](-1)
			l.LimitResponse.Queuing = &flowcontrolv1.QueuingConfiguration{Queues: 4, HandSize: 5, QueueLengthLimit: -1}
		}), nil, []want{{"spec.limited.nominalConcurrencyShares", field.ErrorTypeInvalid, "non-negative"},
			{"spec.limited.lendablePercent", field.ErrorTypeInvalid, "between 0 and 100"},
			{"spec.limited.borrowingLimitPercent", field.ErrorTypeInvalid, ""},
			{"spec.limited.limitResponse.queuing.queueLengthLimit", field.ErrorTypeInvalid, "must be positive"},
			{"spec.limited.limitResponse.queuing.handSize", field.ErrorTypeInvalid, "should not be greater than queues (4)"}}, nil},
		{"too much entropy", level(func(pl *flowcontrolv1.PriorityLevelConfiguration) {
			pl.Spec.Limited.LimitResponse.Queuing = &flowcontrolv1.QueuingConfiguration{Queues: 10000000, HandSize: 100, QueueLengthLimit: 1}
		}), nil, []want{{"spec.limited.limitResponse.queuing.handSize", field.ErrorTypeInvalid, "required entropy bits"}}, nil},
		{"Reject takes no queuing", level(func(pl *flowcontrolv1.PriorityLevelConfiguration) {
			pl.Spec.Limited.LimitResponse.Type = flowcontrolv1.LimitResponseTypeReject
		}), nil, []want{{"spec.limited.limitResponse.queuing", field.ErrorTypeForbidden, ""}}, nil},
		{"the exempt level may change spec.exempt", exemptShares, exempt, nil, nil},
		{"but not the rest", exemptLimited, exempt,
			exemptLimitedErrs, exemptLimitedErrs},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkErrs(t, ValidateCreate(tc.obj), tc.create)
			if tc.old != nil {
				checkErrs(t, ValidateUpdate(tc.obj, tc.old), tc.updateErr)
			}
		})
	}
	t.Run("status update: condition types", func(t *testing.T) {
		pl := level(same)
		pl.Status.Conditions = []flowcontrolv1.PriorityLevelConfigurationCondition{{Type: ""}}
		checkErrs(t, ValidateStatusUpdate(pl, level(same)), []want{{"status.conditions[0].type", field.ErrorTypeRequired, ""}})
	})
}
