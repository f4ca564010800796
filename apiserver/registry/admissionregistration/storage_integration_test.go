package admissionregistration_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	"github.com/skiff-dev/skiff/apiserver/apiservertest"
	"github.com/skiff-dev/skiff/test/poll"
)

func TestStorage(t *testing.T) {
	s := apiservertest.Start(t)
	c, ctx := s.Client, context.Background()

	// Discovery: the six kinds of upstream's default v1, the policies' status, the category.
	list, err := c.Discovery().ServerResourcesForGroupVersion("admissionregistration.k8s.io/v1")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range list.APIResources {
		names = append(names, r.Name)
		if !r.Namespaced && !slices.Contains(r.Categories, "api-extensions") && r.Name != "validatingadmissionpolicies/status" {
			t.Errorf("%s: categories %v", r.Name, r.Categories)
		}
	}
	slices.Sort(names)
	want := []string{"mutatingadmissionpolicies", "mutatingadmissionpolicybindings", "mutatingwebhookconfigurations",
		"validatingadmissionpolicies", "validatingadmissionpolicies/status", "validatingadmissionpolicybindings", "validatingwebhookconfigurations"}
	if !slices.Equal(names, want) {
		t.Errorf("resources %v, want %v", names, want)
	}

	// Generation follows the webhooks, not the labels.
	configs := c.AdmissionregistrationV1().ValidatingWebhookConfigurations()
	cfg, err := configs.Create(ctx, &admissionregistrationv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "c"},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{Name: "a.example.com", SideEffects: ptr.To(admissionregistrationv1.SideEffectClassNone),
			AdmissionReviewVersions: []string{"v1"}, ClientConfig: admissionregistrationv1.WebhookClientConfig{URL: ptr.To("https://example.com")}}}},
		metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Labels = map[string]string{"a": "b"}
	if cfg, err = configs.Update(ctx, cfg, metav1.UpdateOptions{}); err != nil || cfg.Generation != 1 {
		t.Fatalf("after a label change: generation %d, %v", cfg.Generation, err)
	}
	cfg.Webhooks[0].TimeoutSeconds = ptr.To[int32](3)
	if cfg, err = configs.Update(ctx, cfg, metav1.UpdateOptions{}); err != nil || cfg.Generation != 2 {
		t.Fatalf("after a webhook change: generation %d, %v", cfg.Generation, err)
	}

	// The policy's status subresource keeps the spec; the main resource keeps the status.
	policies := c.AdmissionregistrationV1().ValidatingAdmissionPolicies()
	p, err := policies.Create(ctx, &admissionregistrationv1.ValidatingAdmissionPolicy{ObjectMeta: metav1.ObjectMeta{Name: "p"},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{
			MatchConstraints: &admissionregistrationv1.MatchResources{ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{
				RuleWithOperations: admissionregistrationv1.RuleWithOperations{Operations: []admissionregistrationv1.OperationType{"CREATE"},
					Rule: admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}}}}}},
			Validations: []admissionregistrationv1.Validation{{Expression: "true"}}},
		Status: admissionregistrationv1.ValidatingAdmissionPolicyStatus{ObservedGeneration: 7}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Status.ObservedGeneration != 0 || p.Generation != 1 {
		t.Errorf("created: generation %d, status %+v", p.Generation, p.Status)
	}
	p.Status.ObservedGeneration = 1
	p.Spec.Validations[0].Expression = "false"
	if p, err = policies.UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil || p.Status.ObservedGeneration != 1 || p.Spec.Validations[0].Expression != "true" {
		t.Fatalf("status update: %+v, %v", p, err)
	}
	t.Run("paramKind authorization", func(t *testing.T) { paramKindAuthorization(t, s) })
}

// paramKindAuthorization: setting a policy's paramKind needs "get" on that kind, as upstream.
func paramKindAuthorization(t *testing.T, s *apiservertest.Server) {
	ctx := context.Background()
	if _, err := s.Client.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "policy-writer"},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{"admissionregistration.k8s.io"}, Resources: []string{"validatingadmissionpolicies", "validatingadmissionpolicybindings"}, Verbs: []string{"create"}}}},
		metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Client.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "policy-writer"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "policy-writer"},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "alice"}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	cfg := rest.CopyConfig(s.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: "alice"}
	aliceClient := kubernetes.NewForConfigOrDie(cfg).AdmissionregistrationV1()
	alice := aliceClient.ValidatingAdmissionPolicies()
	policy := func(name string) *admissionregistrationv1.ValidatingAdmissionPolicy {
		return &admissionregistrationv1.ValidatingAdmissionPolicy{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{
				ParamKind: &admissionregistrationv1.ParamKind{APIVersion: "v1", Kind: "ConfigMap"},
				MatchConstraints: &admissionregistrationv1.MatchResources{ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{
					RuleWithOperations: admissionregistrationv1.RuleWithOperations{Operations: []admissionregistrationv1.OperationType{"CREATE"},
						Rule: admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}}}}}},
				Validations: []admissionregistrationv1.Validation{{Expression: "params.data.size() > 0"}}}}
	}
	// The binding reaches the authorizer through its informer: wait until alice may create.
	var err error
	poll.Eventually(t, "alice's role binding in effect", func() error {
		if _, err = alice.Create(ctx, policy("by-alice"), metav1.CreateOptions{}); apierrors.IsForbidden(err) {
			return err
		}
		return nil
	})
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), `spec.paramKind: Forbidden: user &{alice`) ||
		!strings.Contains(err.Error(), `must have "get" permission on all objects of the referenced paramKind (kind=ConfigMap, apiVersion=v1)`) {
		t.Errorf("alice without get on configmaps: %v", err)
	}
	if _, err := s.Client.AdmissionregistrationV1().ValidatingAdmissionPolicies().Create(ctx, policy("by-admin"), metav1.CreateOptions{}); err != nil {
		t.Errorf("system:masters: %v", err)
	}

	// A binding's paramRef needs get on the object it names, of the policy's paramKind.
	binding := &admissionregistrationv1.ValidatingAdmissionPolicyBinding{ObjectMeta: metav1.ObjectMeta{Name: "by-alice"},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{PolicyName: "by-admin",
			ValidationActions: []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny},
			ParamRef: &admissionregistrationv1.ParamRef{Name: "limits", Namespace: "default",
				ParameterNotFoundAction: ptr.To(admissionregistrationv1.DenyAction)}}}
	_, err = aliceClient.ValidatingAdmissionPolicyBindings().Create(ctx, binding, metav1.CreateOptions{})
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), `spec.paramRef: Forbidden: user &{alice`) ||
		!strings.Contains(err.Error(), `does not have "get" permission on the object referenced by paramRef`) {
		t.Errorf("alice's binding without get on the param: %v", err)
	}
	if _, err := s.Client.AdmissionregistrationV1().ValidatingAdmissionPolicyBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Errorf("system:masters' binding: %v", err)
	}
}
