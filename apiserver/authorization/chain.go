package authorization

import (
	"context"
	"strings"

	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/client-go/informers"
)

// Authorizers is the server's authorization: the chain and its parts.
type Authorizers struct {
	Resolver *RuleResolver
	RBAC     *RBAC
	Node     *Node
	Guard    *Guard
	// Authorizer is the chain: system:masters, the given first authorizers, Node, RBAC.
	Authorizer authorizer.Authorizer
	// RuleResolver lists what a user may do (Node and RBAC rules).
	RuleResolver authorizer.RuleResolver
}

// New builds the authorizers on factory's informers (start the factory afterwards). first
// run after the privileged group and before Node and RBAC.
func New(factory informers.SharedInformerFactory, first ...authorizer.Authorizer) (*Authorizers, error) {
	node, err := NewNode(factory)
	if err != nil {
		return nil, err
	}
	resolver := NewRuleResolver(factory)
	rbac := &RBAC{Resolver: resolver}
	chain := append([]authorizer.Authorizer{authorizer.AuthorizerFunc(privileged)}, first...)
	chain = append(chain, node, rbac)
	a := &Authorizers{Resolver: resolver, RBAC: rbac, Node: node,
		Authorizer:   authorizer.AuthorizerFunc(Chain(chain...)),
		RuleResolver: ruleResolvers{node, rbac},
	}
	a.Guard = &Guard{Resolver: resolver, Authorizer: a.Authorizer}
	return a, nil
}

// privileged allows system:masters everything, as kube-apiserver's privileged group.
func privileged(_ context.Context, a authorizer.Attributes) (authorizer.Decision, string, error) {
	if u := a.GetUser(); u != nil && isMaster(u) {
		return authorizer.DecisionAllow, "", nil
	}
	return authorizer.DecisionNoOpinion, "", nil
}

// Chain asks each authorizer in turn: the first Allow or Deny decides; otherwise no opinion,
// with the reasons given, one a line, as upstream's union authorizer.
func Chain(chain ...authorizer.Authorizer) func(ctx context.Context, a authorizer.Attributes) (authorizer.Decision, string, error) {
	return func(ctx context.Context, a authorizer.Attributes) (authorizer.Decision, string, error) {
		var reasons []string
		var errs []error
		for _, az := range chain {
			d, reason, err := az.Authorize(ctx, a)
			if err != nil {
				errs = append(errs, err)
			}
			if d != authorizer.DecisionNoOpinion {
				return d, reason, err
			}
			if reason != "" {
				reasons = append(reasons, reason)
			}
		}
		return authorizer.DecisionNoOpinion, strings.Join(reasons, "\n"), utilerrors.NewAggregate(errs)
	}
}

// ruleResolvers merges the rules of several resolvers.
type ruleResolvers []authorizer.RuleResolver

func (rs ruleResolvers) RulesFor(ctx context.Context, u user.Info, namespace string) ([]authorizer.ResourceRuleInfo, []authorizer.NonResourceRuleInfo, bool, error) {
	var resource []authorizer.ResourceRuleInfo
	var nonResource []authorizer.NonResourceRuleInfo
	incomplete := false
	var errs []error
	for _, r := range rs {
		res, non, inc, err := r.RulesFor(ctx, u, namespace)
		resource = append(resource, res...)
		nonResource = append(nonResource, non...)
		incomplete = incomplete || inc
		if err != nil {
			errs = append(errs, err)
		}
	}
	return resource, nonResource, incomplete, utilerrors.NewAggregate(errs)
}
