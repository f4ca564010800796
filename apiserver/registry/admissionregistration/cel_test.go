package admissionregistration

import (
	"context"
	"strings"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func TestValidateCEL(t *testing.T) {
	vap := func(spec admissionregistrationv1.ValidatingAdmissionPolicySpec) *admissionregistrationv1.ValidatingAdmissionPolicy {
		return &admissionregistrationv1.ValidatingAdmissionPolicy{Spec: spec}
	}
	for _, tt := range []struct {
		name string
		obj  runtime.Object
		want []string // "path type" of each error
	}{
		{"valid policy", vap(admissionregistrationv1.ValidatingAdmissionPolicySpec{
			Variables:   []admissionregistrationv1.Variable{{Name: "r", Expression: "object.spec.replicas"}},
			Validations: []admissionregistrationv1.Validation{{Expression: "variables.r <= 5", MessageExpression: "'too many: ' + string(variables.r)"}},
		}), nil},
		{"syntax errors", vap(admissionregistrationv1.ValidatingAdmissionPolicySpec{
			MatchConditions:  []admissionregistrationv1.MatchCondition{{Name: "c", Expression: "object.metadata.name =="}},
			Validations:      []admissionregistrationv1.Validation{{Expression: "object.spec.replicas <="}, {Expression: "true", MessageExpression: "'x' +"}},
			AuditAnnotations: []admissionregistrationv1.AuditAnnotation{{Key: "k", ValueExpression: "("}},
		}), []string{"spec.matchConditions[0].expression Invalid", "spec.validations[0].expression Invalid",
			"spec.validations[1].messageExpression Invalid", "spec.auditAnnotations[0].valueExpression Invalid"}},
		{"params only with a paramKind", vap(admissionregistrationv1.ValidatingAdmissionPolicySpec{
			Validations: []admissionregistrationv1.Validation{{Expression: "params.max > 1"}},
		}), []string{"spec.validations[0].expression Invalid"}},
		{"undeclared variable", vap(admissionregistrationv1.ValidatingAdmissionPolicySpec{
			Variables:   []admissionregistrationv1.Variable{{Name: "a", Expression: "variables.b"}},
			Validations: []admissionregistrationv1.Validation{{Expression: "true"}},
		}), []string{"spec.variables[0].expression Invalid"}},
		{"webhook match condition", &admissionregistrationv1.MutatingWebhookConfiguration{Webhooks: []admissionregistrationv1.MutatingWebhook{
			{}, {MatchConditions: []admissionregistrationv1.MatchCondition{{Name: "ok", Expression: "request.operation == 'CREATE'"}, {Name: "bad", Expression: "1 +"}}},
		}}, []string{"webhooks[1].matchConditions[1].expression Invalid"}},
		{"mutating policy", &admissionregistrationv1.MutatingAdmissionPolicy{Spec: admissionregistrationv1.MutatingAdmissionPolicySpec{
			Mutations: []admissionregistrationv1.Mutation{
				{PatchType: admissionregistrationv1.PatchTypeJSONPatch, JSONPatch: &admissionregistrationv1.JSONPatch{
					Expression: `[JSONPatch{op: "add", path: "/metadata/labels/a", value: "b"}]`}},
				{PatchType: admissionregistrationv1.PatchTypeApplyConfiguration, ApplyConfiguration: &admissionregistrationv1.ApplyConfiguration{
					Expression: "Object{"}},
			}}}, []string{"spec.mutations[1].applyConfiguration.expression Invalid"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			errs := validateCEL(context.Background(), tt.obj, nil)
			var got []string
			for _, e := range errs {
				got = append(got, e.Field+" "+string(errTypeName(e.Type)))
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got:\n%s\nwant:\n%s\n(%v)", strings.Join(got, "\n"), strings.Join(tt.want, "\n"), errs)
			}
		})
	}
}

func errTypeName(t field.ErrorType) string {
	return strings.TrimPrefix(string(t), "FieldValue")
}
