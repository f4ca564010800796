package rbac

import (
	"context"

	rbacv1 "k8s.io/api/rbac/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/skiff-dev/skiff/apiserver/registry"
)

var rbacGV = rbacv1.SchemeGroupVersion

// RBAC kinds: rbac.authorization.k8s.io/v1 roles, clusterroles, rolebindings, clusterrolebindings.
var (
	RoleKind = &registry.Kind{GroupVersion: rbacGV, Resource: "roles", Singular: "role", Namespaced: true,
		New: func() runtime.Object { return &rbacv1.Role{} }, NewList: func() runtime.Object { return &rbacv1.RoleList{} }}
	ClusterRoleKind = &registry.Kind{GroupVersion: rbacGV, Resource: "clusterroles", Singular: "clusterrole",
		New: func() runtime.Object { return &rbacv1.ClusterRole{} }, NewList: func() runtime.Object { return &rbacv1.ClusterRoleList{} }}
	RoleBindingKind = &registry.Kind{GroupVersion: rbacGV, Resource: "rolebindings", Singular: "rolebinding", Namespaced: true,
		New: func() runtime.Object { return &rbacv1.RoleBinding{} }, NewList: func() runtime.Object { return &rbacv1.RoleBindingList{} },
		PrepareForCreate: defaultRBAC, PrepareForUpdate: func(obj, _ runtime.Object) { defaultRBAC(obj) }}
	ClusterRoleBindingKind = &registry.Kind{GroupVersion: rbacGV, Resource: "clusterrolebindings", Singular: "clusterrolebinding",
		New: func() runtime.Object { return &rbacv1.ClusterRoleBinding{} }, NewList: func() runtime.Object { return &rbacv1.ClusterRoleBindingList{} },
		PrepareForCreate: defaultRBAC, PrepareForUpdate: func(obj, _ runtime.Object) { defaultRBAC(obj) }}
)

// Kinds are the four RBAC kinds, in upstream's discovery order.
var Kinds = []*registry.Kind{ClusterRoleBindingKind, ClusterRoleKind, RoleBindingKind, RoleKind}

// Provider builds rbac.authorization.k8s.io/v1. Guard, when set, refuses RBAC writes that
// escalate privileges; without it RBAC writes are not checked.
type Provider struct {
	Guard Guard
}

func (Provider) GroupName() string { return rbacv1.GroupName }

func (p Provider) NewRESTStorage(c *registry.Context) (map[string]map[string]rest.Storage, error) {
	m := map[string]rest.Storage{}
	for _, k := range Kinds {
		st, err := c.NewStorage(k)
		if err != nil {
			return nil, err
		}
		wireGuard(k, st, p.Guard)
		for path, s := range st.Paths(k) {
			m[path] = s
		}
	}
	return map[string]map[string]rest.Storage{rbacGV.Version: m}, nil
}

// defaultRBAC applies rbac/v1's defaults: roleRef and User/Group subjects get the
// rbac.authorization.k8s.io API group when it is empty.
func defaultRBAC(obj runtime.Object) {
	var ref *rbacv1.RoleRef
	var subjects []rbacv1.Subject
	switch b := obj.(type) {
	case *rbacv1.RoleBinding:
		ref, subjects = &b.RoleRef, b.Subjects
	case *rbacv1.ClusterRoleBinding:
		ref, subjects = &b.RoleRef, b.Subjects
	default:
		return
	}
	if ref.APIGroup == "" {
		ref.APIGroup = rbacv1.GroupName
	}
	for i := range subjects {
		if subjects[i].APIGroup == "" && (subjects[i].Kind == rbacv1.UserKind || subjects[i].Kind == rbacv1.GroupKind) {
			subjects[i].APIGroup = rbacv1.GroupName
		}
	}
}

// Guard refuses RBAC writes that would grant more than their author holds
// (apiserver/authorization.Guard).
type Guard interface {
	ConfirmRoleWrite(ctx context.Context, gr schema.GroupResource, namespace, name string, rules []rbacv1.PolicyRule) error
	ConfirmBindingWrite(ctx context.Context, gr schema.GroupResource, namespace, name string, ref rbacv1.RoleRef) error
}

// wireGuard checks every create and update of an RBAC kind with guard.
func wireGuard(k *registry.Kind, st *registry.Storage, guard Guard) {
	if guard == nil {
		return
	}
	done := func(context.Context, bool) {}
	gr := k.GroupResource()
	check := func(ctx context.Context, obj, old runtime.Object) error {
		switch o := obj.(type) {
		case *rbacv1.Role:
			if p, ok := old.(*rbacv1.Role); ok && apiequality.Semantic.DeepEqual(o.Rules, p.Rules) {
				return nil
			}
			return guard.ConfirmRoleWrite(ctx, gr, o.Namespace, o.Name, o.Rules)
		case *rbacv1.ClusterRole:
			if p, ok := old.(*rbacv1.ClusterRole); ok && apiequality.Semantic.DeepEqual(o.Rules, p.Rules) {
				return nil
			}
			return guard.ConfirmRoleWrite(ctx, gr, "", o.Name, o.Rules)
		case *rbacv1.RoleBinding:
			return guard.ConfirmBindingWrite(ctx, gr, o.Namespace, o.Name, o.RoleRef)
		case *rbacv1.ClusterRoleBinding:
			return guard.ConfirmBindingWrite(ctx, gr, "", o.Name, o.RoleRef)
		}
		return nil
	}
	st.Store.BeginCreate = func(ctx context.Context, obj runtime.Object, _ *metav1.CreateOptions) (genericregistry.FinishFunc, error) {
		return done, check(ctx, obj, nil)
	}
	st.Store.BeginUpdate = func(ctx context.Context, obj, old runtime.Object, _ *metav1.UpdateOptions) (genericregistry.FinishFunc, error) {
		return done, check(ctx, obj, old)
	}
}
