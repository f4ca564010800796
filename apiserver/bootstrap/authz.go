package bootstrap

import (
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
)

// ClusterInfo is the kube-public ConfigMap that carries the cluster CA for joining nodes, as
// kubeadm publishes it; anyone may read it.
const (
	ClusterInfoNamespace = metav1.NamespacePublic
	ClusterInfoName      = "cluster-info"
	// ClusterInfoKubeconfigKey holds a kubeconfig with the server URL and the CA data.
	ClusterInfoKubeconfigKey = "kubeconfig"
)

// bootstrapperVerbs are what upstream's system:node-bootstrapper ClusterRole grants on
// certificatesigningrequests.
var bootstrapperVerbs = map[string]bool{"create": true, "get": true, "list": true, "watch": true}

// discoveryPaths are the non-resource paths every authenticated user may read upstream
// (system:discovery, system:public-info-viewer): bootstrappers keep them.
var discoveryPaths = []string{"/api", "/apis", "/version", "/healthz", "/livez", "/readyz"}

// ReasonBootstrapper is the reason given when a bootstrapper is refused.
const ReasonBootstrapper = "a bootstrap token may only create, get, list and watch certificatesigningrequests"

// Authorize decides the requests that join tokens concern, until RBAC replaces it: bootstrap-token
// users (group system:bootstrappers) may only create, get, list and watch
// certificates.k8s.io certificatesigningrequests (plus discovery), and everyone, anonymous users
// included, may get kube-public/cluster-info. handled is false when the request is none of these.
func Authorize(a authorizer.Attributes) (decision authorizer.Decision, reason string, handled bool) {
	u := a.GetUser()
	if u == nil {
		return authorizer.DecisionNoOpinion, "", false
	}
	if a.IsResourceRequest() && a.GetVerb() == "get" && a.GetAPIGroup() == "" && a.GetResource() == "configmaps" &&
		a.GetSubresource() == "" && a.GetNamespace() == ClusterInfoNamespace && a.GetName() == ClusterInfoName {
		return authorizer.DecisionAllow, "", true
	}
	if !IsBootstrapper(u) {
		return authorizer.DecisionNoOpinion, "", false
	}
	if a.IsResourceRequest() {
		if a.GetAPIGroup() == "certificates.k8s.io" && a.GetResource() == "certificatesigningrequests" &&
			a.GetSubresource() == "" && bootstrapperVerbs[a.GetVerb()] {
			return authorizer.DecisionAllow, "", true
		}
		return authorizer.DecisionDeny, ReasonBootstrapper, true
	}
	if a.GetVerb() == "get" && a.GetPath() == ControlPlaneJoinPath && IsControlPlaneJoiner(u) {
		return authorizer.DecisionAllow, "", true
	}
	if a.GetVerb() == "get" {
		for _, p := range discoveryPaths {
			if a.GetPath() == p || strings.HasPrefix(a.GetPath(), p+"/") {
				return authorizer.DecisionAllow, "", true
			}
		}
	}
	return authorizer.DecisionDeny, ReasonBootstrapper, true
}

// IsBootstrapper tells whether u authenticated with a join token.
func IsBootstrapper(u user.Info) bool {
	for _, g := range u.GetGroups() {
		if g == Group {
			return true
		}
	}
	return false
}
