package authorization

import (
	"context"
	"fmt"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	rbacvalidation "k8s.io/component-helpers/auth/rbac/validation"
)

// Guard prevents privilege escalation through RBAC writes, as upstream's policy-based storage:
// a Role or ClusterRole may be written only with rules its author holds (or with the escalate
// verb on it), a binding only to a role whose rules its author holds (or with the bind verb on
// that role). system:masters may do anything.
type Guard struct {
	Resolver *RuleResolver
	// Authorizer judges the escalate and bind verbs (the server's whole chain).
	Authorizer authorizer.Authorizer
}

var (
	rolesGR        = schema.GroupResource{Group: rbacv1.GroupName, Resource: "roles"}
	clusterRolesGR = schema.GroupResource{Group: rbacv1.GroupName, Resource: "clusterroles"}
)

// ConfirmRoleWrite allows writing a Role (namespace set) or ClusterRole (namespace empty) with rules.
func (g *Guard) ConfirmRoleWrite(ctx context.Context, gr schema.GroupResource, namespace, name string, rules []rbacv1.PolicyRule) error {
	u, ok := genericapirequest.UserFrom(ctx)
	if !ok {
		return apierrors.NewForbidden(gr, name, fmt.Errorf("no user on request"))
	}
	if isMaster(u) {
		return nil
	}
	if g.allowed(ctx, u, "escalate", gr, namespace, name) {
		return nil
	}
	if err := g.confirmNoEscalation(u, namespace, rules); err != nil {
		return apierrors.NewForbidden(gr, name, err)
	}
	return nil
}

// ConfirmBindingWrite allows writing a RoleBinding (namespace set) or ClusterRoleBinding to ref.
func (g *Guard) ConfirmBindingWrite(ctx context.Context, gr schema.GroupResource, namespace, name string, ref rbacv1.RoleRef) error {
	u, ok := genericapirequest.UserFrom(ctx)
	if !ok {
		return apierrors.NewForbidden(gr, name, fmt.Errorf("no user on request"))
	}
	if isMaster(u) {
		return nil
	}
	refGR := clusterRolesGR
	if ref.Kind == "Role" {
		refGR = rolesGR
	}
	if g.allowed(ctx, u, "bind", refGR, namespace, ref.Name) {
		return nil
	}
	rules, err := g.Resolver.GetRoleReferenceRules(ref, namespace)
	if err != nil {
		return apierrors.NewForbidden(gr, name, err)
	}
	if err := g.confirmNoEscalation(u, namespace, rules); err != nil {
		return apierrors.NewForbidden(gr, name, err)
	}
	return nil
}

func (g *Guard) allowed(ctx context.Context, u user.Info, verb string, gr schema.GroupResource, namespace, name string) bool {
	if g.Authorizer == nil {
		return false
	}
	d, _, err := g.Authorizer.Authorize(ctx, authorizer.AttributesRecord{
		User: u, Verb: verb, APIGroup: gr.Group, APIVersion: "*", Resource: gr.Resource,
		Namespace: namespace, Name: name, ResourceRequest: true,
	})
	return err == nil && d == authorizer.DecisionAllow
}

// confirmNoEscalation is upstream's ConfirmNoEscalation: the user's own rules in namespace
// must cover rules.
func (g *Guard) confirmNoEscalation(u user.Info, namespace string, rules []rbacv1.PolicyRule) error {
	owner, resolveErr := g.Resolver.RulesFor(u, namespace)
	covered, missing := rbacvalidation.Covers(owner, rules)
	if covered {
		return nil
	}
	msg := fmt.Sprintf("user %q (groups=%q) is attempting to grant RBAC permissions not currently held:\n%s",
		u.GetName(), u.GetGroups(), compactRules(missing))
	if resolveErr != nil {
		msg += fmt.Sprintf("; resolution errors: %v", resolveErr)
	}
	return fmt.Errorf("%s", msg)
}

func isMaster(u user.Info) bool {
	for _, g := range u.GetGroups() {
		if g == user.SystemPrivilegedGroup {
			return true
		}
	}
	return false
}

// compactRules prints rules one a line as upstream's CompactString:
// {APIGroups:[""], Resources:["pods"], Verbs:["delete"]}.
func compactRules(rules []rbacv1.PolicyRule) string {
	lines := make([]string, 0, len(rules))
	for _, r := range rules {
		var parts []string
		add := func(name string, values []string) {
			if len(values) > 0 {
				quoted := make([]string, len(values))
				for i, v := range values {
					quoted[i] = fmt.Sprintf("%q", v)
				}
				parts = append(parts, fmt.Sprintf("%s:[%s]", name, strings.Join(quoted, " ")))
			}
		}
		add("APIGroups", r.APIGroups)
		add("Resources", r.Resources)
		add("ResourceNames", r.ResourceNames)
		add("NonResourceURLs", r.NonResourceURLs)
		add("Verbs", r.Verbs)
		lines = append(lines, "{"+strings.Join(parts, ", ")+"}")
	}
	return strings.Join(lines, "\n")
}
