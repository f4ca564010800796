package rbac

import (
	"context"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	rbaclisters "k8s.io/client-go/listers/rbac/v1"

	"github.com/skiff-dev/skiff/apiserver/registry"
)

// StorageListers reads the four RBAC kinds straight from their stores, with the listers'
// interfaces. Upstream's escalation check reads roles and bindings from storage, not from
// informers: a RoleBinding created right after its Role (one `kubectl apply` of both) must
// find the Role.
func StorageListers(stores map[schema.GroupResource]*registry.Storage) (rbaclisters.RoleLister, rbaclisters.ClusterRoleLister, rbaclisters.RoleBindingLister, rbaclisters.ClusterRoleBindingLister) {
	st := func(k *registry.Kind) *genericregistry.Store { return stores[k.GroupResource()].Store }
	return storeLister[rbacv1.Role]{store: st(RoleKind)}, storeLister[rbacv1.ClusterRole]{store: st(ClusterRoleKind)},
		storeLister[rbacv1.RoleBinding]{store: st(RoleBindingKind)}, storeLister[rbacv1.ClusterRoleBinding]{store: st(ClusterRoleBindingKind)}
}

// storeLister lists and gets objects of type T from a store, in namespace when set.
type storeLister[T any] struct {
	store     *genericregistry.Store
	namespace string
}

func (l storeLister[T]) ctx() context.Context {
	return genericapirequest.WithNamespace(context.Background(), l.namespace)
}

func (l storeLister[T]) List(selector labels.Selector) ([]*T, error) {
	obj, err := l.store.List(l.ctx(), &metainternalversion.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, err
	}
	items, err := meta.ExtractList(obj)
	if err != nil {
		return nil, err
	}
	out := make([]*T, 0, len(items))
	for _, item := range items {
		if t, ok := item.(any).(*T); ok {
			out = append(out, t)
		}
	}
	return out, nil
}

func (l storeLister[T]) Get(name string) (*T, error) {
	obj, err := l.store.Get(l.ctx(), name, &metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	t, _ := obj.(any).(*T)
	return t, nil
}

func (l storeLister[T]) in(namespace string) storeLister[T] {
	return storeLister[T]{store: l.store, namespace: namespace}
}

func (l storeLister[T]) Roles(namespace string) rbaclisters.RoleNamespaceLister {
	return storeLister[rbacv1.Role](l.in(namespace))
}

func (l storeLister[T]) RoleBindings(namespace string) rbaclisters.RoleBindingNamespaceLister {
	return storeLister[rbacv1.RoleBinding](l.in(namespace))
}

var (
	_ rbaclisters.RoleLister               = storeLister[rbacv1.Role]{}
	_ rbaclisters.ClusterRoleLister        = storeLister[rbacv1.ClusterRole]{}
	_ rbaclisters.RoleBindingLister        = storeLister[rbacv1.RoleBinding]{}
	_ rbaclisters.ClusterRoleBindingLister = storeLister[rbacv1.ClusterRoleBinding]{}
)
