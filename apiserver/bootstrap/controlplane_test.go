package bootstrap

import (
	"testing"

	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
)

// TestAuthorizeControlPlaneJoin: only a control-plane join token may read the join path; a node
// join token may not, nor read anything else with it.
func TestAuthorizeControlPlaneJoin(t *testing.T) {
	cpTok := &user.DefaultInfo{Name: "system:bootstrap:abc123", Groups: []string{Group, ControlPlaneGroup, user.AllAuthenticated}}
	nodeTok := &user.DefaultInfo{Name: "system:bootstrap:def456", Groups: []string{Group, DefaultNodeGroup, user.AllAuthenticated}}
	admin := &user.DefaultInfo{Name: "admin", Groups: []string{"system:masters", user.AllAuthenticated}}
	for _, tc := range []struct {
		name    string
		a       authorizer.AttributesRecord
		want    authorizer.Decision
		handled bool
	}{
		{"control-plane token gets the join path", authorizer.AttributesRecord{User: cpTok, Verb: "get", Path: ControlPlaneJoinPath}, authorizer.DecisionAllow, true},
		{"control-plane token may not post to it", authorizer.AttributesRecord{User: cpTok, Verb: "post", Path: ControlPlaneJoinPath}, authorizer.DecisionDeny, true},
		{"control-plane token reads no secret", authorizer.AttributesRecord{User: cpTok, Verb: "get", Namespace: "kube-system", Resource: "secrets", ResourceRequest: true}, authorizer.DecisionDeny, true},
		{"node token is refused the join path", authorizer.AttributesRecord{User: nodeTok, Verb: "get", Path: ControlPlaneJoinPath}, authorizer.DecisionDeny, true},
		{"other users are left to the authorizer", authorizer.AttributesRecord{User: admin, Verb: "get", Path: ControlPlaneJoinPath}, authorizer.DecisionNoOpinion, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, _, handled := Authorize(tc.a)
			if got != tc.want || handled != tc.handled {
				t.Errorf("Authorize = %v (handled %v), want %v (handled %v)", got, handled, tc.want, tc.handled)
			}
		})
	}
}
