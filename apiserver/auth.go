package apiserver

import (
	"context"
	"strings"

	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/group"
	"k8s.io/apiserver/pkg/authentication/request/anonymous"
	"k8s.io/apiserver/pkg/authentication/request/union"
	x509request "k8s.io/apiserver/pkg/authentication/request/x509"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/apiserver/pkg/server/dynamiccertificates"
)

// newAuthenticator accepts client certificates signed by the cluster CA (CN = user, O = groups)
// and otherwise makes the request anonymous, for the authorizer to judge.
func newAuthenticator(clientCA dynamiccertificates.CAContentProvider) authenticator.Request {
	certs := x509request.NewDynamic(clientCA.VerifyOptions, x509request.CommonNameUserConversion)
	return union.New(group.NewAuthenticatedGroupAdder(newCertCache(certs)), anonymous.NewAuthenticator(nil))
}

// publicPaths are served to anyone, as upstream's system:public-info-viewer role allows.
var publicPaths = []string{"/healthz", "/livez", "/readyz", "/version"}

// authorize allows every authenticated user and, to anonymous users, only the public paths.
// RBAC replaces it.
func authorize(ctx context.Context, a authorizer.Attributes) (authorizer.Decision, string, error) {
	u := a.GetUser()
	if u == nil {
		return authorizer.DecisionDeny, "no user", nil
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
