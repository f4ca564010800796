package validatingadmissionpolicystatus

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/skiff-dev/skiff/controllers/controllertest"
	"github.com/skiff-dev/skiff/test/poll"
)

// TestTypeChecking runs the controller against the real API server: a well-typed policy gets
// an empty typeChecking, a confused one a warning per expression at its field path, with
// upstream's messages, and an update is checked again.
func TestTypeChecking(t *testing.T) {
	s := controllertest.Start(t, func(mgr manager.Manager) error {
		return (&Controller{SkipNameValidation: true}).SetupWithManager(mgr)
	})
	ctx := context.Background()
	policies := s.Client.AdmissionregistrationV1().ValidatingAdmissionPolicies()
	policy := func(name string, v admissionregistrationv1.Validation) *admissionregistrationv1.ValidatingAdmissionPolicy {
		return &admissionregistrationv1.ValidatingAdmissionPolicy{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{
				MatchConstraints: &admissionregistrationv1.MatchResources{ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{
					RuleWithOperations: admissionregistrationv1.RuleWithOperations{
						Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
						Rule:       admissionregistrationv1.Rule{APIGroups: []string{"apps"}, APIVersions: []string{"v1"}, Resources: []string{"deployments"}}}}}},
				Validations: []admissionregistrationv1.Validation{v}}}
	}
	checked := func(name string, gen int64) *admissionregistrationv1.ValidatingAdmissionPolicy {
		t.Helper()
		var got *admissionregistrationv1.ValidatingAdmissionPolicy
		poll.Until(t, 30*time.Second, "type checking of "+name, func() error {
			p, err := policies.Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			if p.Status.TypeChecking == nil || p.Status.ObservedGeneration < gen {
				return fmt.Errorf("not checked: %+v", p.Status)
			}
			got = p
			return nil
		})
		return got
	}

	good, err := policies.Create(ctx, policy("good", admissionregistrationv1.Validation{Expression: "object.spec.replicas > 1"}), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p := checked("good", good.Generation); len(p.Status.TypeChecking.ExpressionWarnings) != 0 {
		t.Errorf("well-typed policy: warnings %+v", p.Status.TypeChecking.ExpressionWarnings)
	}

	confused, err := policies.Create(ctx, policy("confused", admissionregistrationv1.Validation{
		Expression: "object.spec.replicas > '1'", MessageExpression: "'wants replicas > 1, got ' + object.spec.replicas"}), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w := checked("confused", confused.Generation).Status.TypeChecking.ExpressionWarnings
	if len(w) != 2 || w[0].FieldRef != "spec.validations[0].expression" ||
		!strings.Contains(w[0].Warning, "found no matching overload for '_>_' applied to '(int, string)'") ||
		w[1].FieldRef != "spec.validations[0].messageExpression" ||
		!strings.Contains(w[1].Warning, "found no matching overload for '_+_' applied to '(string, int)'") {
		t.Errorf("confused policy: warnings %+v", w)
	}

	// A new generation is checked again: the fixed policy has no warnings.
	p, err := policies.Get(ctx, "confused", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p.Spec.Validations = []admissionregistrationv1.Validation{{Expression: "object.spec.replicas > 1"}}
	if p, err = policies.Update(ctx, p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := checked("confused", p.Generation); len(got.Status.TypeChecking.ExpressionWarnings) != 0 {
		t.Errorf("fixed policy: warnings %+v", got.Status.TypeChecking.ExpressionWarnings)
	}
}
