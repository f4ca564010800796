package clusterroleaggregation

import (
	"context"
	"fmt"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/skiff-dev/skiff/controllers/controllertest"
	"github.com/skiff-dev/skiff/test/poll"
)

func TestAggregate(t *testing.T) {
	sel := func(k string) metav1.LabelSelector {
		return metav1.LabelSelector{MatchLabels: map[string]string{k: "true"}}
	}
	get := rbacv1.PolicyRule{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"pods"}}
	del := rbacv1.PolicyRule{Verbs: []string{"delete"}, APIGroups: []string{""}, Resources: []string{"pods"}}
	agg := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "agg", Labels: map[string]string{"a": "true"}},
		AggregationRule: &rbacv1.AggregationRule{ClusterRoleSelectors: []metav1.LabelSelector{sel("a"), sel("b")}}}
	roles := []rbacv1.ClusterRole{
		*agg,
		{ObjectMeta: metav1.ObjectMeta{Name: "z", Labels: map[string]string{"a": "true"}}, Rules: []rbacv1.PolicyRule{del}},
		{ObjectMeta: metav1.ObjectMeta{Name: "y", Labels: map[string]string{"a": "true", "b": "true"}}, Rules: []rbacv1.PolicyRule{get}},
		{ObjectMeta: metav1.ObjectMeta{Name: "x", Labels: map[string]string{"b": "true"}}, Rules: []rbacv1.PolicyRule{get, del}},
		{ObjectMeta: metav1.ObjectMeta{Name: "other"}, Rules: []rbacv1.PolicyRule{{Verbs: []string{"*"}, APIGroups: []string{"*"}, Resources: []string{"*"}}}},
	}
	got, err := Aggregate(agg, roles)
	if err != nil {
		t.Fatal(err)
	}
	if want := []rbacv1.PolicyRule{get, del}; !apiequality.Semantic.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestBootstrapViewIsAggregated(t *testing.T) {
	s := controllertest.Start(t, func(mgr manager.Manager) error {
		return (&Controller{SkipNameValidation: true}).SetupWithManager(mgr)
	})
	ctx := context.Background()
	poll.Until(t, 20*time.Second, "view and edit aggregated", func() error {
		view, err := s.Client.RbacV1().ClusterRoles().Get(ctx, "view", metav1.GetOptions{})
		if err != nil {
			return err
		}
		edit, err := s.Client.RbacV1().ClusterRoles().Get(ctx, "edit", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if len(view.Rules) == 0 || len(edit.Rules) <= len(view.Rules) {
			return fmt.Errorf("view has %d rules, edit %d", len(view.Rules), len(edit.Rules))
		}
		return nil
	})
	// A new role labelled for view flows into view, edit and admin.
	extra := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "widgets-view", Labels: map[string]string{"rbac.authorization.k8s.io/aggregate-to-view": "true"}},
		Rules: []rbacv1.PolicyRule{{Verbs: []string{"get"}, APIGroups: []string{"example.com"}, Resources: []string{"widgets"}}}}
	if _, err := s.Client.RbacV1().ClusterRoles().Create(ctx, extra, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"view", "edit", "admin"} {
		poll.Until(t, 10*time.Second, "the widgets rule in "+name, func() error {
			r, err := s.Client.RbacV1().ClusterRoles().Get(ctx, name, metav1.GetOptions{})
			if err == nil && !hasRule(r.Rules, extra.Rules[0]) {
				err = fmt.Errorf("%s lacks the widgets rule", name)
			}
			return err
		})
	}
}
