package authorization

import (
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
)

// TestKubeletAPIAdmin: upstream's system:kubelet-api-admin role allows every request of the node
// agents' API, and the API server's identity is bound to it (and to nothing broader).
func TestKubeletAPIAdmin(t *testing.T) {
	var role *rbacv1.ClusterRole
	for _, r := range ClusterRoles() {
		if r.Name == KubeletAPIAdminRole {
			role = &r
		}
	}
	if role == nil {
		t.Fatalf("no %s role", KubeletAPIAdminRole)
	}
	u := &user.DefaultInfo{Name: KubeletClientUser}
	for _, tc := range []struct {
		verb, resource, subresource string
		allowed                     bool
	}{
		{"get", "nodes", "proxy", true},
		{"create", "nodes", "proxy", true},
		{"delete", "nodes", "proxy", true},
		{"get", "nodes", "log", true},
		{"get", "nodes", "stats", true},
		{"get", "nodes", "metrics", true},
		{"get", "nodes", "", true},
		{"list", "nodes", "", true},
		{"proxy", "nodes", "", true},
		{"update", "nodes", "", false},
		{"delete", "nodes", "", false},
		{"patch", "nodes", "status", false},
		{"get", "pods", "", false},
		{"create", "pods", "exec", false},
	} {
		a := authorizer.AttributesRecord{User: u, Verb: tc.verb, Resource: tc.resource, Subresource: tc.subresource, Name: "n1", ResourceRequest: true}
		if got := RulesAllow(a, role.Rules...); got != tc.allowed {
			t.Errorf("%s %s/%s: allowed %v, want %v", tc.verb, tc.resource, tc.subresource, got, tc.allowed)
		}
	}
	var bound []string
	for _, b := range ClusterRoleBindings() {
		if _, ok := appliesToAny(u, b.Subjects, ""); ok {
			bound = append(bound, b.RoleRef.Name)
		}
	}
	if len(bound) != 1 || bound[0] != KubeletAPIAdminRole {
		t.Errorf("%s is bound to %v, want only %s", KubeletClientUser, bound, KubeletAPIAdminRole)
	}
	// Nodes may review tokens and access (the agents' authentication and authorization).
	node := &user.DefaultInfo{Name: NodeUserPrefix + "n1", Groups: []string{NodesGroup}}
	for _, a := range []authorizer.AttributesRecord{
		{User: node, Verb: "create", APIGroup: "authentication.k8s.io", Resource: "tokenreviews", ResourceRequest: true},
		{User: node, Verb: "create", APIGroup: "authorization.k8s.io", Resource: "subjectaccessreviews", ResourceRequest: true},
	} {
		if !RulesAllow(a, NodeRules()...) {
			t.Errorf("a node may not create %s", a.Resource)
		}
	}
	// ... and read what NetworkPolicies select (the agent's enforcer), without writing it.
	for _, a := range []authorizer.AttributesRecord{
		{User: node, Verb: "list", APIGroup: "networking.k8s.io", Resource: "networkpolicies", ResourceRequest: true},
		{User: node, Verb: "watch", APIGroup: "networking.k8s.io", Resource: "networkpolicies", ResourceRequest: true},
		{User: node, Verb: "list", Resource: "namespaces", ResourceRequest: true},
		{User: node, Verb: "watch", Resource: "namespaces", ResourceRequest: true},
	} {
		if !RulesAllow(a, NodeRules()...) {
			t.Errorf("a node may not %s %s", a.Verb, a.Resource)
		}
	}
	for _, a := range []authorizer.AttributesRecord{
		{User: node, Verb: "create", APIGroup: "networking.k8s.io", Resource: "networkpolicies", ResourceRequest: true},
		{User: node, Verb: "delete", Resource: "namespaces", Name: "default", ResourceRequest: true},
	} {
		if RulesAllow(a, NodeRules()...) {
			t.Errorf("a node may %s %s", a.Verb, a.Resource)
		}
	}
	if RulesAllow(authorizer.AttributesRecord{User: node, Verb: "get", Resource: "nodes", Subresource: "proxy", Name: "n1", ResourceRequest: true}, NodeRules()...) {
		t.Errorf("a node may get nodes/proxy")
	}
}
