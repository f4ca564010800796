package printers

import (
	"strings"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func init() {
	rbac := rbacv1.GroupName
	register(schema.GroupResource{Group: rbac, Resource: "roles"},
		newConvertor(roleColumns, func(l *rbacv1.RoleList) []rbacv1.Role { return l.Items },
			func(r *rbacv1.Role) metav1.TableRow { return cells(r.Name, createdAt(r.CreationTimestamp)) }))
	register(schema.GroupResource{Group: rbac, Resource: "clusterroles"},
		newConvertor(roleColumns, func(l *rbacv1.ClusterRoleList) []rbacv1.ClusterRole { return l.Items },
			func(r *rbacv1.ClusterRole) metav1.TableRow { return cells(r.Name, createdAt(r.CreationTimestamp)) }))
	register(schema.GroupResource{Group: rbac, Resource: "rolebindings"},
		newConvertor(bindingColumns, func(l *rbacv1.RoleBindingList) []rbacv1.RoleBinding { return l.Items },
			func(b *rbacv1.RoleBinding) metav1.TableRow {
				return bindingRow(b.Name, b.RoleRef, b.Subjects, b.CreationTimestamp)
			}))
	register(schema.GroupResource{Group: rbac, Resource: "clusterrolebindings"},
		newConvertor(bindingColumns, func(l *rbacv1.ClusterRoleBindingList) []rbacv1.ClusterRoleBinding { return l.Items },
			func(b *rbacv1.ClusterRoleBinding) metav1.TableRow {
				return bindingRow(b.Name, b.RoleRef, b.Subjects, b.CreationTimestamp)
			}))
}

// roleColumns are upstream's for roles and clusterroles: NAME, CREATED AT.
var roleColumns = []metav1.TableColumnDefinition{
	nameColumn,
	{Name: "Created At", Type: "date", Description: objectMetaDoc["creationTimestamp"]},
}

// bindingColumns are upstream's for rolebindings and clusterrolebindings: NAME, ROLE, AGE, and
// wide USERS, GROUPS, SERVICEACCOUNTS.
var bindingColumns = []metav1.TableColumnDefinition{
	nameColumn,
	{Name: "Role", Type: "string", Priority: 0, Description: rbacv1.RoleBinding{}.SwaggerDoc()["roleRef"]},
	ageColumn,
	{Name: "Users", Type: "string", Priority: 1, Description: "Users in the roleBinding"},
	{Name: "Groups", Type: "string", Priority: 1, Description: "Groups in the roleBinding"},
	{Name: "ServiceAccounts", Type: "string", Priority: 1, Description: "ServiceAccounts in the roleBinding"},
}

func createdAt(t metav1.Time) string {
	return t.UTC().Format(time.RFC3339)
}

func bindingRow(name string, ref rbacv1.RoleRef, subjects []rbacv1.Subject, created metav1.Time) metav1.TableRow {
	var users, groups, sas []string
	for _, s := range subjects {
		switch s.Kind {
		case rbacv1.UserKind:
			users = append(users, s.Name)
		case rbacv1.GroupKind:
			groups = append(groups, s.Name)
		case rbacv1.ServiceAccountKind:
			sas = append(sas, s.Namespace+":"+s.Name)
		}
	}
	return cells(name, ref.Kind+"/"+ref.Name, translateTimestampSince(created),
		strings.Join(users, ", "), strings.Join(groups, ", "), strings.Join(sas, ", "))
}
