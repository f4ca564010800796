package authorization

import (
	"context"
	"fmt"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	rbacclient "k8s.io/client-go/kubernetes/typed/rbac/v1"
	"k8s.io/component-helpers/auth/rbac/reconciliation"
	"k8s.io/klog/v2"
)

// ReconcileBootstrapPolicy creates the bootstrap roles and bindings that are missing and, for
// those still annotated rbac.authorization.kubernetes.io/autoupdate=true, adds missing rules
// and subjects without removing what users added, as kube-apiserver's post-start hook does.
// It retries until ctx ends while the API is not ready yet.
func ReconcileBootstrapPolicy(ctx context.Context, client kubernetes.Interface) error {
	logger := klog.FromContext(ctx)
	return wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		if err := reconcileOnce(ctx, client); err != nil {
			logger.Info("Retrying the bootstrap RBAC policy", "err", err)
			return false, nil
		}
		return true, nil
	})
}

func reconcileOnce(ctx context.Context, client kubernetes.Interface) error {
	rbac := client.RbacV1()
	roles, bindings := Roles(), RoleBindings()
	namespaces := sets.New[string]()
	for _, r := range roles {
		namespaces.Insert(r.Namespace)
	}
	for _, b := range bindings {
		namespaces.Insert(b.Namespace)
	}
	listed, err := listBootstrapKinds(ctx, rbac, sets.List(namespaces))
	if err != nil {
		return err
	}
	for _, role := range ClusterRoles() {
		opts := reconciliation.ReconcileRoleOptions{
			Role:    reconciliation.ClusterRoleRuleOwner{ClusterRole: &role},
			Client:  listedRoles{reconciliation.ClusterRoleModifier{Client: rbac.ClusterRoles()}, listed, clusterRolesResource},
			Confirm: true,
		}
		if _, err := opts.Run(); err != nil {
			return fmt.Errorf("clusterrole %s: %w", role.Name, err)
		}
	}
	for _, b := range ClusterRoleBindings() {
		opts := reconciliation.ReconcileRoleBindingOptions{
			RoleBinding: reconciliation.ClusterRoleBindingAdapter{ClusterRoleBinding: &b},
			Client:      listedBindings{reconciliation.ClusterRoleBindingClientAdapter{Client: rbac.ClusterRoleBindings()}, listed, clusterRoleBindingsResource},
			Confirm:     true,
		}
		if _, err := opts.Run(); err != nil {
			return fmt.Errorf("clusterrolebinding %s: %w", b.Name, err)
		}
	}
	for _, r := range roles {
		opts := reconciliation.ReconcileRoleOptions{
			Role:    reconciliation.RoleRuleOwner{Role: &r},
			Client:  listedRoles{reconciliation.RoleModifier{Client: rbac, NamespaceClient: client.CoreV1().Namespaces()}, listed, rolesResource},
			Confirm: true,
		}
		if _, err := opts.Run(); err != nil {
			return fmt.Errorf("role %s/%s: %w", r.Namespace, r.Name, err)
		}
	}
	for _, b := range bindings {
		opts := reconciliation.ReconcileRoleBindingOptions{
			RoleBinding: reconciliation.RoleBindingAdapter{RoleBinding: &b},
			Client:      listedBindings{reconciliation.RoleBindingClientAdapter{Client: rbac, NamespaceClient: client.CoreV1().Namespaces()}, listed, roleBindingsResource},
			Confirm:     true,
		}
		if _, err := opts.Run(); err != nil {
			return fmt.Errorf("rolebinding %s/%s: %w", b.Namespace, b.Name, err)
		}
	}
	return nil
}

// bootstrapKinds is what exists of the bootstrap policy's kinds at the start of a round, from
// one list of each (cluster roles and bindings; roles and role bindings in the namespaces the
// policy names), keyed by namespace/name. The reconciler asks for each of its objects in turn;
// a GET for each (about 150 in a row, upstream's way) took 48 s of a restart while 5,000 nodes
// reconnected (issue 17). An object changed since its list makes the write conflict, and the
// round is retried. The objects are kept as the reconciler's adapters wrap them.
type bootstrapKinds map[schema.GroupResource]map[string]any

var (
	clusterRolesResource        = rbacv1.Resource("clusterroles")
	clusterRoleBindingsResource = rbacv1.Resource("clusterrolebindings")
	rolesResource               = rbacv1.Resource("roles")
	roleBindingsResource        = rbacv1.Resource("rolebindings")
)

// listBootstrapKinds lists the cluster roles and bindings, and the roles and role bindings of
// namespaces.
func listBootstrapKinds(ctx context.Context, rbac rbacclient.RbacV1Interface, namespaces []string) (bootstrapKinds, error) {
	listed := bootstrapKinds{}
	add := func(gr schema.GroupResource, namespace, name string, obj any) { listed[gr][namespace+"/"+name] = obj }
	// Each kind is entered even if none exist, so that a Get of it answers NotFound.
	for _, gr := range []schema.GroupResource{clusterRolesResource, clusterRoleBindingsResource, rolesResource, roleBindingsResource} {
		listed[gr] = map[string]any{}
	}
	crs, err := rbac.ClusterRoles().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing clusterroles: %w", err)
	}
	for i := range crs.Items {
		add(clusterRolesResource, "", crs.Items[i].Name, reconciliation.ClusterRoleRuleOwner{ClusterRole: &crs.Items[i]})
	}
	crbs, err := rbac.ClusterRoleBindings().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing clusterrolebindings: %w", err)
	}
	for i := range crbs.Items {
		add(clusterRoleBindingsResource, "", crbs.Items[i].Name, reconciliation.ClusterRoleBindingAdapter{ClusterRoleBinding: &crbs.Items[i]})
	}
	for _, ns := range namespaces {
		roles, err := rbac.Roles(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, fmt.Errorf("listing roles in %s: %w", ns, err)
		}
		for i := range roles.Items {
			add(rolesResource, ns, roles.Items[i].Name, reconciliation.RoleRuleOwner{Role: &roles.Items[i]})
		}
		bindings, err := rbac.RoleBindings(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, fmt.Errorf("listing rolebindings in %s: %w", ns, err)
		}
		for i := range bindings.Items {
			add(roleBindingsResource, ns, bindings.Items[i].Name, reconciliation.RoleBindingAdapter{RoleBinding: &bindings.Items[i]})
		}
	}
	return listed, nil
}

// listedGet answers from the lists what a GET of resource namespace/name would, as the
// reconciler's adapter type T.
func listedGet[T any](listed bootstrapKinds, gr schema.GroupResource, namespace, name string) (T, error) {
	var zero T
	objects, ok := listed[gr]
	if !ok {
		return zero, fmt.Errorf("%s were not listed", gr)
	}
	obj, ok := objects[namespace+"/"+name]
	if !ok {
		return zero, apierrors.NewNotFound(gr, name)
	}
	return obj.(T), nil
}

// listedRoles is a role modifier whose Get reads the round's lists; it creates and updates
// through the API.
type listedRoles struct {
	reconciliation.RuleOwnerModifier
	listed   bootstrapKinds
	resource schema.GroupResource
}

func (l listedRoles) Get(namespace, name string) (reconciliation.RuleOwner, error) {
	return listedGet[reconciliation.RuleOwner](l.listed, l.resource, namespace, name)
}

// listedBindings is listedRoles for role bindings.
type listedBindings struct {
	reconciliation.RoleBindingModifier
	listed   bootstrapKinds
	resource schema.GroupResource
}

func (l listedBindings) Get(namespace, name string) (reconciliation.RoleBinding, error) {
	return listedGet[reconciliation.RoleBinding](l.listed, l.resource, namespace, name)
}
