package apiserver

import (
	"context"
	"strings"

	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/group"
	"k8s.io/apiserver/pkg/authentication/request/anonymous"
	"k8s.io/apiserver/pkg/authentication/request/bearertoken"
	"k8s.io/apiserver/pkg/authentication/request/union"
	x509request "k8s.io/apiserver/pkg/authentication/request/x509"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/apiserver/pkg/server/dynamiccertificates"

	"github.com/skiff-dev/skiff/apiserver/bootstrap"
)

// newAuthenticator accepts client certificates signed by the cluster CA (CN = user, O = groups)
// and join tokens (bearer <id>.<secret>, apiserver/bootstrap), and otherwise makes the request
// anonymous, for the authorizer to judge. Credentials that are presented but refused (an unknown
// or expired token, a certificate of another CA) fail the request with 401, as kube-apiserver
// does, instead of falling back to anonymous.
func newAuthenticator(clientCA dynamiccertificates.CAContentProvider, tokens authenticator.Token) authenticator.Request {
	certs := x509request.NewDynamic(clientCA.VerifyOptions, x509request.CommonNameUserConversion)
	known := union.New(newCertCache(certs), bearertoken.New(tokens))
	return union.NewFailOnError(group.NewAuthenticatedGroupAdder(known), anonymous.NewAuthenticator(nil))
}

// publicPaths are served to anyone, as upstream's system:public-info-viewer role allows.
var publicPaths = []string{"/healthz", "/livez", "/readyz", "/version"}

// authorize allows every authenticated user and, to anonymous users, only the public paths;
// join-token users (system:bootstrappers) only create and read CSRs (bootstrap.Authorize). Node
// identities (system:node:<name>, group system:nodes) are ordinary authenticated users for now:
// RBAC and a node authorizer replace it.
func authorize(ctx context.Context, a authorizer.Attributes) (authorizer.Decision, string, error) {
	u := a.GetUser()
	if u == nil {
		return authorizer.DecisionDeny, "no user", nil
	}
	if d, reason, handled := bootstrap.Authorize(a); handled {
		return d, reason, nil
	}
	for _, g := range u.GetGroups() {
		if g == user.AllAuthenticated {
			return authorizer.DecisionAllow, "", nil
		}
	}
	if !a.IsResourceRequest() {
		for _, p := range publicPaths {
			if a.GetPath() == p || strings.HasPrefix(a.GetPath(), p+"/") {
				return authorizer.DecisionAllow, "", nil
			}
		}
	}
	return authorizer.DecisionNoOpinion, "", nil
}
