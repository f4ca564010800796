package printers

import (
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func admissionRegistrationGR(r string) schema.GroupResource {
	return schema.GroupResource{Group: "admissionregistration.k8s.io", Resource: r}
}

func init() {
	for r, objs := range map[string][2]runtime.Object{
		"validatingwebhookconfigurations":   {&admissionregistrationv1.ValidatingWebhookConfiguration{}, &admissionregistrationv1.ValidatingWebhookConfigurationList{}},
		"mutatingwebhookconfigurations":     {&admissionregistrationv1.MutatingWebhookConfiguration{}, &admissionregistrationv1.MutatingWebhookConfigurationList{}},
		"validatingadmissionpolicies":       {&admissionregistrationv1.ValidatingAdmissionPolicy{}, &admissionregistrationv1.ValidatingAdmissionPolicyList{}},
		"validatingadmissionpolicybindings": {&admissionregistrationv1.ValidatingAdmissionPolicyBinding{}, &admissionregistrationv1.ValidatingAdmissionPolicyBindingList{}},
		"mutatingadmissionpolicies":         {&admissionregistrationv1.MutatingAdmissionPolicy{}, &admissionregistrationv1.MutatingAdmissionPolicyList{}},
		"mutatingadmissionpolicybindings":   {&admissionregistrationv1.MutatingAdmissionPolicyBinding{}, &admissionregistrationv1.MutatingAdmissionPolicyBindingList{}},
	} {
		gr := admissionRegistrationGR(r)
		zeroObjects[gr], emptyLists[gr], columnsTestedElsewhere[gr] = objs[0], objs[1], true
	}
}

// TestAdmissionRegistrationRows checks upstream's columns (all of priority 0, types as
// upstream's) and cells.
func TestAdmissionRegistrationRows(t *testing.T) {
	gr := admissionRegistrationGR
	meta := metav1.ObjectMeta{Name: "x", CreationTimestamp: ago(2 * time.Minute)}
	tests := []struct {
		resource string
		obj      runtime.Object
		columns  []string
		want     []any
	}{
		{"validatingwebhookconfigurations", &admissionregistrationv1.ValidatingWebhookConfiguration{ObjectMeta: meta,
			Webhooks: make([]admissionregistrationv1.ValidatingWebhook, 2)},
			[]string{"Name", "Webhooks", "Age"}, []any{"x", int64(2), "2m"}},
		{"mutatingwebhookconfigurations", &admissionregistrationv1.MutatingWebhookConfiguration{ObjectMeta: meta},
			[]string{"Name", "Webhooks", "Age"}, []any{"x", int64(0), "2m"}},
		{"validatingadmissionpolicies", &admissionregistrationv1.ValidatingAdmissionPolicy{ObjectMeta: meta,
			Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{Validations: make([]admissionregistrationv1.Validation, 1),
				ParamKind: &admissionregistrationv1.ParamKind{APIVersion: "v1", Kind: "ConfigMap"}}},
			[]string{"Name", "Validations", "ParamKind", "Age"}, []any{"x", int64(1), "v1/ConfigMap", "2m"}},
		{"validatingadmissionpolicybindings", &admissionregistrationv1.ValidatingAdmissionPolicyBinding{ObjectMeta: meta,
			Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{PolicyName: "p", ParamRef: &admissionregistrationv1.ParamRef{Name: "limits"}}},
			[]string{"Name", "PolicyName", "ParamRef", "Age"}, []any{"x", "p", "*/limits", "2m"}},
		{"mutatingadmissionpolicies", &admissionregistrationv1.MutatingAdmissionPolicy{ObjectMeta: meta},
			[]string{"Name", "Mutations", "ParamKind", "Age"}, []any{"x", int64(0), "<unset>", "2m"}},
		{"mutatingadmissionpolicybindings", &admissionregistrationv1.MutatingAdmissionPolicyBinding{ObjectMeta: meta,
			Spec: admissionregistrationv1.MutatingAdmissionPolicyBindingSpec{PolicyName: "p", ParamRef: &admissionregistrationv1.ParamRef{Namespace: "ns", Name: "limits"}}},
			[]string{"Name", "PolicyName", "ParamRef", "Age"}, []any{"x", "p", "ns/limits", "2m"}},
	}
	for _, tt := range tests {
		t.Run(tt.resource, func(t *testing.T) {
			table := convert(t, gr(tt.resource), tt.obj)
			var names []string
			for _, c := range table.ColumnDefinitions {
				names = append(names, c.Name)
				if c.Priority != 0 || c.Description == "" {
					t.Errorf("column %+v", c)
				}
			}
			checkCells(t, toAny(names), toAny(tt.columns))
			checkCells(t, rowCells(t, gr(tt.resource), tt.obj), tt.want)
		})
	}
}
