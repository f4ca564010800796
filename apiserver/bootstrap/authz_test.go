package bootstrap

import (
	"testing"

	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
)

func TestAuthorize(t *testing.T) {
	boot := &user.DefaultInfo{Name: "system:bootstrap:abc123", Groups: []string{Group, user.AllAuthenticated}}
	anon := &user.DefaultInfo{Name: user.Anonymous, Groups: []string{user.AllUnauthenticated}}
	node := &user.DefaultInfo{Name: "system:node:n1", Groups: []string{"system:nodes", user.AllAuthenticated}}
	csr := func(verb, sub string) authorizer.AttributesRecord {
		return authorizer.AttributesRecord{User: boot, Verb: verb, APIGroup: "certificates.k8s.io", APIVersion: "v1",
			Resource: "certificatesigningrequests", Subresource: sub, ResourceRequest: true}
	}
	for _, tc := range []struct {
		name    string
		a       authorizer.AttributesRecord
		want    authorizer.Decision
		handled bool
	}{
		{"create csr", csr("create", ""), authorizer.DecisionAllow, true},
		{"get csr", csr("get", ""), authorizer.DecisionAllow, true},
		{"list csr", csr("list", ""), authorizer.DecisionAllow, true},
		{"watch csr", csr("watch", ""), authorizer.DecisionAllow, true},
		{"delete csr", csr("delete", ""), authorizer.DecisionDeny, true},
		{"approve csr", csr("update", "approval"), authorizer.DecisionDeny, true},
		{"csr status", csr("update", "status"), authorizer.DecisionDeny, true},
		{"list pods", authorizer.AttributesRecord{User: boot, Verb: "list", Resource: "pods", ResourceRequest: true}, authorizer.DecisionDeny, true},
		{"get secret", authorizer.AttributesRecord{User: boot, Verb: "get", Namespace: "kube-system", Resource: "secrets", ResourceRequest: true}, authorizer.DecisionDeny, true},
		{"discovery", authorizer.AttributesRecord{User: boot, Verb: "get", Path: "/apis/certificates.k8s.io/v1"}, authorizer.DecisionAllow, true},
		{"metrics", authorizer.AttributesRecord{User: boot, Verb: "get", Path: "/metrics"}, authorizer.DecisionDeny, true},
		{"anonymous cluster-info", authorizer.AttributesRecord{User: anon, Verb: "get", Namespace: "kube-public", Resource: "configmaps", Name: "cluster-info", ResourceRequest: true}, authorizer.DecisionAllow, true},
		{"anonymous other configmap", authorizer.AttributesRecord{User: anon, Verb: "get", Namespace: "kube-public", Resource: "configmaps", Name: "x", ResourceRequest: true}, authorizer.DecisionNoOpinion, false},
		{"anonymous list configmaps", authorizer.AttributesRecord{User: anon, Verb: "list", Namespace: "kube-public", Resource: "configmaps", ResourceRequest: true}, authorizer.DecisionNoOpinion, false},
		{"node", authorizer.AttributesRecord{User: node, Verb: "list", Resource: "pods", ResourceRequest: true}, authorizer.DecisionNoOpinion, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, _, handled := Authorize(tc.a)
			if d != tc.want || handled != tc.handled {
				t.Fatalf("got %v handled=%v, want %v handled=%v", d, handled, tc.want, tc.handled)
			}
		})
	}
}
