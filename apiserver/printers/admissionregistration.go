package printers

import (
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func init() {
	gr := func(resource string) schema.GroupResource {
		return schema.GroupResource{Group: admissionregistrationv1.GroupName, Resource: resource}
	}
	register(gr("validatingwebhookconfigurations"), newConvertor(webhookColumns,
		func(l *admissionregistrationv1.ValidatingWebhookConfigurationList) []admissionregistrationv1.ValidatingWebhookConfiguration {
			return l.Items
		},
		func(c *admissionregistrationv1.ValidatingWebhookConfiguration) metav1.TableRow {
			return cells(c.Name, int64(len(c.Webhooks)), translateTimestampSince(c.CreationTimestamp))
		}))
	register(gr("mutatingwebhookconfigurations"), newConvertor(webhookColumns,
		func(l *admissionregistrationv1.MutatingWebhookConfigurationList) []admissionregistrationv1.MutatingWebhookConfiguration {
			return l.Items
		},
		func(c *admissionregistrationv1.MutatingWebhookConfiguration) metav1.TableRow {
			return cells(c.Name, int64(len(c.Webhooks)), translateTimestampSince(c.CreationTimestamp))
		}))
	register(gr("validatingadmissionpolicies"), newConvertor(validatingPolicyColumns,
		func(l *admissionregistrationv1.ValidatingAdmissionPolicyList) []admissionregistrationv1.ValidatingAdmissionPolicy {
			return l.Items
		},
		func(p *admissionregistrationv1.ValidatingAdmissionPolicy) metav1.TableRow {
			return cells(p.Name, int64(len(p.Spec.Validations)), paramKindCell(p.Spec.ParamKind), translateTimestampSince(p.CreationTimestamp))
		}))
	register(gr("validatingadmissionpolicybindings"), newConvertor(policyBindingColumns,
		func(l *admissionregistrationv1.ValidatingAdmissionPolicyBindingList) []admissionregistrationv1.ValidatingAdmissionPolicyBinding {
			return l.Items
		},
		func(b *admissionregistrationv1.ValidatingAdmissionPolicyBinding) metav1.TableRow {
			return cells(b.Name, b.Spec.PolicyName, paramRefCell(b.Spec.ParamRef), translateTimestampSince(b.CreationTimestamp))
		}))
	register(gr("mutatingadmissionpolicies"), newConvertor(mutatingPolicyColumns,
		func(l *admissionregistrationv1.MutatingAdmissionPolicyList) []admissionregistrationv1.MutatingAdmissionPolicy {
			return l.Items
		},
		func(p *admissionregistrationv1.MutatingAdmissionPolicy) metav1.TableRow {
			return cells(p.Name, int64(len(p.Spec.Mutations)), paramKindCell(p.Spec.ParamKind), translateTimestampSince(p.CreationTimestamp))
		}))
	register(gr("mutatingadmissionpolicybindings"), newConvertor(policyBindingColumns,
		func(l *admissionregistrationv1.MutatingAdmissionPolicyBindingList) []admissionregistrationv1.MutatingAdmissionPolicyBinding {
			return l.Items
		},
		func(b *admissionregistrationv1.MutatingAdmissionPolicyBinding) metav1.TableRow {
			return cells(b.Name, b.Spec.PolicyName, paramRefCell(b.Spec.ParamRef), translateTimestampSince(b.CreationTimestamp))
		}))
}

var (
	webhookColumns = []metav1.TableColumnDefinition{
		nameColumn,
		{Name: "Webhooks", Type: "integer", Description: "Webhooks indicates the number of webhooks registered in this configuration"},
		ageColumn,
	}
	paramKindColumn         = metav1.TableColumnDefinition{Name: "ParamKind", Type: "string", Description: "ParamKind specifies the kind of resources used to parameterize this policy"}
	validatingPolicyColumns = []metav1.TableColumnDefinition{
		nameColumn,
		{Name: "Validations", Type: "integer", Description: "Validations indicates the number of validation rules defined in this configuration"},
		paramKindColumn, ageColumn,
	}
	mutatingPolicyColumns = []metav1.TableColumnDefinition{
		nameColumn,
		{Name: "Mutations", Type: "integer", Description: "Mutation indicates the number of mutations rules defined in this configuration"},
		paramKindColumn, ageColumn,
	}
	policyBindingColumns = []metav1.TableColumnDefinition{
		nameColumn,
		{Name: "PolicyName", Type: "string", Description: "PolicyName indicates the policy definition which the policy binding binded to"},
		{Name: "ParamRef", Type: "string", Description: "ParamRef indicates the param resource which sets the configuration param"},
		ageColumn,
	}
)

func paramKindCell(pk *admissionregistrationv1.ParamKind) string {
	if pk == nil {
		return "<unset>"
	}
	return pk.APIVersion + "/" + pk.Kind
}

// paramRefCell is upstream's: namespace/name, */name when no namespace is given (the param may
// be cluster-scoped), or the selector.
func paramRefCell(pr *admissionregistrationv1.ParamRef) string {
	switch {
	case pr == nil:
		return "<unset>"
	case len(pr.Name) > 0 && pr.Namespace != "":
		return pr.Namespace + "/" + pr.Name
	case len(pr.Name) > 0:
		return "*/" + pr.Name
	case pr.Selector != nil:
		return pr.Selector.String()
	}
	return "<unset>"
}
