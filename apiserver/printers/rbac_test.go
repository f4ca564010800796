package printers

import (
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestRBACRows(t *testing.T) {
	rbac := rbacv1.GroupName
	roles := schema.GroupResource{Group: rbac, Resource: "roles"}
	clusterRoles := schema.GroupResource{Group: rbac, Resource: "clusterroles"}
	bindings := schema.GroupResource{Group: rbac, Resource: "rolebindings"}
	clusterBindings := schema.GroupResource{Group: rbac, Resource: "clusterrolebindings"}
	created := fixedNow.Add(-2 * time.Hour).UTC().Format(time.RFC3339)

	checkCells(t, rowCells(t, roles, &rbacv1.Role{ObjectMeta: objMeta("pod-reader", 2*time.Hour)}), []any{"pod-reader", created})
	checkCells(t, rowCells(t, clusterRoles, &rbacv1.ClusterRole{ObjectMeta: objMeta("view", 2*time.Hour)}), []any{"view", created})
	subjects := []rbacv1.Subject{
		{Kind: "User", Name: "jane"}, {Kind: "User", Name: "bob"}, {Kind: "Group", Name: "devs"},
		{Kind: "ServiceAccount", Namespace: "ns", Name: "builder"},
	}
	checkCells(t, rowCells(t, bindings, &rbacv1.RoleBinding{ObjectMeta: objMeta("read-pods", time.Minute),
		RoleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: "view"}, Subjects: subjects}),
		[]any{"read-pods", "ClusterRole/view", "60s", "jane, bob", "devs", "ns:builder"})
	checkCells(t, rowCells(t, clusterBindings, &rbacv1.ClusterRoleBinding{ObjectMeta: objMeta("admins", time.Minute),
		RoleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: "cluster-admin"}}),
		[]any{"admins", "ClusterRole/cluster-admin", "60s", "", "", ""})
}

var (
	rolesGR               = schema.GroupResource{Group: rbacv1.GroupName, Resource: "roles"}
	clusterRolesGR        = schema.GroupResource{Group: rbacv1.GroupName, Resource: "clusterroles"}
	roleBindingsGR        = schema.GroupResource{Group: rbacv1.GroupName, Resource: "rolebindings"}
	clusterRoleBindingsGR = schema.GroupResource{Group: rbacv1.GroupName, Resource: "clusterrolebindings"}
)
