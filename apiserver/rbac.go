package apiserver

import (
	"k8s.io/apiserver/pkg/authorization/authorizer"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/client-go/kubernetes"

	"github.com/skiff-dev/skiff/apiserver/authorization"
)

// applyAuthorization installs kube-apiserver's authorization on the generic config's informer
// factory: system:masters, the join-token and public-path rules of authorize, the node
// authorizer and RBAC; the bootstrap policy is reconciled by a post-start hook.
func (c *Config) applyAuthorization() error {
	authz, err := authorization.New(c.Generic.SharedInformerFactory, authorizer.AuthorizerFunc(authorize))
	if err != nil {
		return err
	}
	c.authz = authz
	c.Generic.Authorization.Authorizer = authz.Authorizer
	c.Generic.RuleResolver = authz.RuleResolver
	c.Generic.AddPostStartHookOrDie("rbac/bootstrap-roles", func(hook genericapiserver.PostStartHookContext) error {
		client, err := kubernetes.NewForConfig(hook.LoopbackClientConfig)
		if err != nil {
			return err
		}
		return authorization.ReconcileBootstrapPolicy(hook, client)
	})
	return nil
}
