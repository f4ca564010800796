package authorization

import (
	"context"
	"fmt"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/labels"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/client-go/informers"
	rbaclisters "k8s.io/client-go/listers/rbac/v1"
	"k8s.io/client-go/tools/cache"
)

// RuleResolver finds the policy rules that apply to a user, from informer caches of the four
// RBAC kinds, as upstream's DefaultRuleResolver.
type RuleResolver struct {
	roles               rbaclisters.RoleLister
	clusterRoles        rbaclisters.ClusterRoleLister
	roleBindings        rbaclisters.RoleBindingLister
	clusterRoleBindings rbaclisters.ClusterRoleBindingLister
	synced              []cache.InformerSynced
}

// NewRuleResolver registers the RBAC informers with factory (start the factory afterwards).
func NewRuleResolver(factory informers.SharedInformerFactory) *RuleResolver {
	rbac := factory.Rbac().V1()
	r := &RuleResolver{
		roles: rbac.Roles().Lister(), clusterRoles: rbac.ClusterRoles().Lister(),
		roleBindings: rbac.RoleBindings().Lister(), clusterRoleBindings: rbac.ClusterRoleBindings().Lister(),
	}
	r.synced = []cache.InformerSynced{
		rbac.Roles().Informer().HasSynced, rbac.ClusterRoles().Informer().HasSynced,
		rbac.RoleBindings().Informer().HasSynced, rbac.ClusterRoleBindings().Informer().HasSynced,
	}
	return r
}

// NewStaticRuleResolver resolves from the given listers (tests, and the escalation check over
// storage).
func NewStaticRuleResolver(roles rbaclisters.RoleLister, clusterRoles rbaclisters.ClusterRoleLister,
	roleBindings rbaclisters.RoleBindingLister, clusterRoleBindings rbaclisters.ClusterRoleBindingLister) *RuleResolver {
	return &RuleResolver{roles: roles, clusterRoles: clusterRoles, roleBindings: roleBindings, clusterRoleBindings: clusterRoleBindings}
}

// HasSynced tells whether every cache has been filled.
func (r *RuleResolver) HasSynced() bool {
	for _, s := range r.synced {
		if !s() {
			return false
		}
	}
	return true
}

// ruleVisitor sees each rule that applies with its source, or a resolution error; returning
// false stops the walk.
type ruleVisitor func(source fmt.Stringer, rule *rbacv1.PolicyRule, err error) bool

// VisitRulesFor walks the rules of every ClusterRoleBinding and (for a namespace) RoleBinding
// whose subjects include u.
func (r *RuleResolver) VisitRulesFor(u user.Info, namespace string, visit ruleVisitor) {
	crbs, err := r.clusterRoleBindings.List(labels.Everything())
	if err != nil {
		if !visit(nil, nil, err) {
			return
		}
	}
	for _, b := range crbs {
		i, ok := appliesToAny(u, b.Subjects, "")
		if !ok {
			continue
		}
		rules, err := r.GetRoleReferenceRules(b.RoleRef, "")
		if err != nil {
			if !visit(nil, nil, err) {
				return
			}
			continue
		}
		src := bindingSource{kind: "ClusterRoleBinding", name: b.Name, ref: b.RoleRef, subject: b.Subjects[i]}
		for j := range rules {
			if !visit(src, &rules[j], nil) {
				return
			}
		}
	}
	if namespace == "" {
		return
	}
	rbs, err := r.roleBindings.RoleBindings(namespace).List(labels.Everything())
	if err != nil {
		if !visit(nil, nil, err) {
			return
		}
	}
	for _, b := range rbs {
		i, ok := appliesToAny(u, b.Subjects, namespace)
		if !ok {
			continue
		}
		rules, err := r.GetRoleReferenceRules(b.RoleRef, namespace)
		if err != nil {
			if !visit(nil, nil, err) {
				return
			}
			continue
		}
		src := bindingSource{kind: "RoleBinding", namespace: namespace, name: b.Name, ref: b.RoleRef, subject: b.Subjects[i]}
		for j := range rules {
			if !visit(src, &rules[j], nil) {
				return
			}
		}
	}
}

// RulesFor returns every rule that applies to u in namespace, and the resolution errors met.
func (r *RuleResolver) RulesFor(u user.Info, namespace string) ([]rbacv1.PolicyRule, error) {
	var rules []rbacv1.PolicyRule
	var errs []error
	r.VisitRulesFor(u, namespace, func(_ fmt.Stringer, rule *rbacv1.PolicyRule, err error) bool {
		if rule != nil {
			rules = append(rules, *rule)
		}
		if err != nil {
			errs = append(errs, err)
		}
		return true
	})
	return rules, utilerrors.NewAggregate(errs)
}

// GetRoleReferenceRules returns the rules of a binding's Role (in namespace) or ClusterRole.
func (r *RuleResolver) GetRoleReferenceRules(ref rbacv1.RoleRef, namespace string) ([]rbacv1.PolicyRule, error) {
	switch ref.Kind {
	case "Role":
		role, err := r.roles.Roles(namespace).Get(ref.Name)
		if err != nil {
			return nil, err
		}
		return role.Rules, nil
	case "ClusterRole":
		role, err := r.clusterRoles.Get(ref.Name)
		if err != nil {
			return nil, err
		}
		return role.Rules, nil
	}
	return nil, fmt.Errorf("unsupported role reference kind: %q", ref.Kind)
}

// bindingSource describes where an allowing rule came from, in upstream's words.
type bindingSource struct {
	kind, namespace, name string
	ref                   rbacv1.RoleRef
	subject               rbacv1.Subject
}

func (s bindingSource) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %q of %s %q to %s", s.kind, s.describeName(), s.ref.Kind, s.ref.Name, s.subject.Kind)
	if s.subject.Kind == rbacv1.ServiceAccountKind && s.subject.Namespace != "" {
		fmt.Fprintf(&b, " %q", s.subject.Namespace+"/"+s.subject.Name)
	} else {
		fmt.Fprintf(&b, " %q", s.subject.Name)
	}
	return b.String()
}

func (s bindingSource) describeName() string {
	if s.namespace != "" {
		return s.name + "/" + s.namespace
	}
	return s.name
}

// RBAC is the RBAC authorizer: a request is allowed when a rule of a binding that names the
// user allows it; otherwise it has no opinion, with the resolution errors as reason.
type RBAC struct {
	Resolver *RuleResolver
}

var (
	_ authorizer.Authorizer   = &RBAC{}
	_ authorizer.RuleResolver = &RBAC{}
)

// Authorize implements authorizer.Authorizer.
func (a *RBAC) Authorize(ctx context.Context, attrs authorizer.Attributes) (authorizer.Decision, string, error) {
	u := attrs.GetUser()
	if u == nil {
		return authorizer.DecisionNoOpinion, "", nil
	}
	var allowedBy fmt.Stringer
	var errs []error
	a.Resolver.VisitRulesFor(u, attrs.GetNamespace(), func(src fmt.Stringer, rule *rbacv1.PolicyRule, err error) bool {
		if err != nil {
			errs = append(errs, err)
			return true
		}
		if RuleAllows(attrs, rule) {
			allowedBy = src
			return false
		}
		return true
	})
	if allowedBy != nil {
		return authorizer.DecisionAllow, "RBAC: allowed by " + allowedBy.String(), nil
	}
	if len(errs) > 0 {
		return authorizer.DecisionNoOpinion, fmt.Sprintf("RBAC: %v", utilerrors.NewAggregate(errs)), nil
	}
	return authorizer.DecisionNoOpinion, "", nil
}

// RulesFor implements authorizer.RuleResolver (SelfSubjectRulesReview).
func (a *RBAC) RulesFor(ctx context.Context, u user.Info, namespace string) ([]authorizer.ResourceRuleInfo, []authorizer.NonResourceRuleInfo, bool, error) {
	rules, err := a.Resolver.RulesFor(u, namespace)
	var resource []authorizer.ResourceRuleInfo
	var nonResource []authorizer.NonResourceRuleInfo
	for _, r := range rules {
		if len(r.Resources) > 0 {
			resource = append(resource, &authorizer.DefaultResourceRuleInfo{
				Verbs: r.Verbs, APIGroups: r.APIGroups, Resources: r.Resources, ResourceNames: r.ResourceNames})
		}
		if len(r.NonResourceURLs) > 0 {
			nonResource = append(nonResource, &authorizer.DefaultNonResourceRuleInfo{Verbs: r.Verbs, NonResourceURLs: r.NonResourceURLs})
		}
	}
	return resource, nonResource, false, err
}

// ConditionsAwareAuthorize implements authorizer.Authorizer: RBAC decisions are unconditional.
func (a *RBAC) ConditionsAwareAuthorize(ctx context.Context, attrs authorizer.Attributes) authorizer.ConditionsAwareDecision {
	return authorizer.ConditionsAwareDecisionFromParts(a.Authorize(ctx, attrs))
}

// EvaluateConditions implements authorizer.Authorizer: RBAC has no conditions to evaluate.
func (a *RBAC) EvaluateConditions(context.Context, authorizer.ConditionsAwareDecision, authorizer.ConditionsData) (authorizer.Decision, string, error) {
	return authorizer.DecisionDeny, "", authorizer.ErrorConditionEvaluationNotSupported
}
