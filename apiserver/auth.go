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
	tokenunion "k8s.io/apiserver/pkg/authentication/token/union"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/apiserver/pkg/server/dynamiccertificates"

	"github.com/skiff-dev/skiff/apiserver/bootstrap"
	"github.com/skiff-dev/skiff/apiserver/insight/ui"
)

// newAuthenticator accepts the front proxy's request headers (X-Remote-User and the like, from a
// client certificate of the front-proxy CA named front-proxy-client; frontproxy.go), client
// certificates signed by the cluster CA (CN = user, O = groups), join tokens (bearer <id>.<secret>, apiserver/bootstrap) and service account tokens
// (apiserver/serviceaccount), the same tokens in the web pages' cookie (for their reads only:
// apiserver/insight/ui), and otherwise makes the request
// anonymous, for the authorizer to judge. Credentials that are presented but refused (an unknown
// or expired token, a certificate of another CA) fail the request with 401, as kube-apiserver
// does, instead of falling back to anonymous.
func newAuthenticator(clientCA dynamiccertificates.CAContentProvider, requestHeader authenticator.Request, tokens ...authenticator.Token) authenticator.Request {
	certs := x509request.NewDynamic(clientCA.VerifyOptions, x509request.CommonNameUserConversion)
	bearer := tokenunion.New(tokens...)
	known := union.New(requestHeader, newCertCache(certs), bearertoken.New(bearer), ui.NewCookieAuthenticator(bearer))
	return union.NewFailOnError(group.NewAuthenticatedGroupAdder(known), anonymous.NewAuthenticator(nil))
}

// publicPaths are served to anyone, as upstream's system:public-info-viewer role allows.
var publicPaths = []string{"/healthz", "/livez", "/readyz", "/version"}

// authorize is the first link of the authorization chain after system:masters
// (apiserver/authorization): join-token users (system:bootstrappers) only create and read CSRs
// (bootstrap.Authorize), and anyone may read the public paths; everything else is left to the
// node authorizer and RBAC.
func authorize(ctx context.Context, a authorizer.Attributes) (authorizer.Decision, string, error) {
	u := a.GetUser()
	if u == nil {
		return authorizer.DecisionDeny, "no user", nil
	}
	if d, reason, handled := bootstrap.Authorize(a); handled {
		return d, reason, nil
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
