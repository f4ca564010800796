package clusterroleaggregation

import (
	"context"
	"fmt"
	"sort"

	rbacv1 "k8s.io/api/rbac/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// Controller keeps aggregated ClusterRoles' rules equal to the union of the rules of the
// ClusterRoles their selectors match.
type Controller struct {
	// SkipNameValidation lets several managers run in one process (tests).
	SkipNameValidation bool

	client client.Client
}

// SetupWithManager adds the controller to mgr: every ClusterRole change re-evaluates every
// aggregated ClusterRole.
func (c *Controller) SetupWithManager(mgr manager.Manager) error {
	c.client = mgr.GetClient()
	skip := c.SkipNameValidation
	return ctrl.NewControllerManagedBy(mgr).
		Named("clusterrole-aggregation").
		Watches(&rbacv1.ClusterRole{}, handler.EnqueueRequestsFromMapFunc(c.aggregators)).
		WithOptions(controller.Options{SkipNameValidation: &skip}).
		Complete(c)
}

// aggregators lists the ClusterRoles that have an aggregation rule.
func (c *Controller) aggregators(ctx context.Context, _ client.Object) []reconcile.Request {
	var list rbacv1.ClusterRoleList
	if err := c.client.List(ctx, &list); err != nil {
		klog.FromContext(ctx).Error(err, "Listing cluster roles")
		return nil
	}
	var out []reconcile.Request
	for i := range list.Items {
		if list.Items[i].AggregationRule != nil {
			out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Name: list.Items[i].Name}})
		}
	}
	return out
}

// Reconcile sets one aggregated ClusterRole's rules.
func (c *Controller) Reconcile(ctx context.Context, r ctrl.Request) (ctrl.Result, error) {
	role := &rbacv1.ClusterRole{}
	if err := c.client.Get(ctx, r.NamespacedName, role); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if role.AggregationRule == nil {
		return ctrl.Result{}, nil
	}
	var all rbacv1.ClusterRoleList
	if err := c.client.List(ctx, &all); err != nil {
		return ctrl.Result{}, fmt.Errorf("listing cluster roles: %w", err)
	}
	rules, err := Aggregate(role, all.Items)
	if err != nil {
		return ctrl.Result{}, err
	}
	if apiequality.Semantic.DeepEqual(rules, role.Rules) {
		return ctrl.Result{}, nil
	}
	role.Rules = rules
	if err := c.client.Update(ctx, role); err != nil {
		if apierrors.IsConflict(err) {
			return ctrl.Result{Requeue: true}, nil
		}
		return ctrl.Result{}, fmt.Errorf("updating cluster role %s: %w", role.Name, err)
	}
	klog.FromContext(ctx).V(2).Info("Aggregated cluster role", "clusterrole", role.Name, "rules", len(rules))
	return ctrl.Result{}, nil
}

// Aggregate returns the union of the rules of the roles (other than role itself) matched by
// role's selectors, in selector order and, per selector, by role name; duplicates are dropped.
func Aggregate(role *rbacv1.ClusterRole, roles []rbacv1.ClusterRole) ([]rbacv1.PolicyRule, error) {
	var rules []rbacv1.PolicyRule
	for i := range role.AggregationRule.ClusterRoleSelectors {
		sel, err := metav1.LabelSelectorAsSelector(&role.AggregationRule.ClusterRoleSelectors[i])
		if err != nil {
			return nil, fmt.Errorf("cluster role %s: selector %d: %w", role.Name, i, err)
		}
		var matched []*rbacv1.ClusterRole
		for j := range roles {
			if roles[j].Name != role.Name && sel.Matches(labels.Set(roles[j].Labels)) {
				matched = append(matched, &roles[j])
			}
		}
		sort.Slice(matched, func(a, b int) bool { return matched[a].Name < matched[b].Name })
		for _, m := range matched {
			for _, rule := range m.Rules {
				if !hasRule(rules, rule) {
					rules = append(rules, rule)
				}
			}
		}
	}
	if rules == nil {
		rules = []rbacv1.PolicyRule{}
	}
	return rules, nil
}

func hasRule(rules []rbacv1.PolicyRule, r rbacv1.PolicyRule) bool {
	for _, x := range rules {
		if apiequality.Semantic.DeepEqual(x, r) {
			return true
		}
	}
	return false
}
