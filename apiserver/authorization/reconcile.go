package authorization

import (
	"context"
	"fmt"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
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
		if err := reconcileOnce(client); err != nil {
			logger.Info("Retrying the bootstrap RBAC policy", "err", err)
			return false, nil
		}
		return true, nil
	})
}

func reconcileOnce(client kubernetes.Interface) error {
	rbac := client.RbacV1()
	for i := range ClusterRoles() {
		role := ClusterRoles()[i]
		opts := reconciliation.ReconcileRoleOptions{
			Role:    reconciliation.ClusterRoleRuleOwner{ClusterRole: &role},
			Client:  reconciliation.ClusterRoleModifier{Client: rbac.ClusterRoles()},
			Confirm: true,
		}
		if _, err := opts.Run(); err != nil {
			return fmt.Errorf("clusterrole %s: %w", role.Name, err)
		}
	}
	for _, b := range ClusterRoleBindings() {
		b := b
		opts := reconciliation.ReconcileRoleBindingOptions{
			RoleBinding: reconciliation.ClusterRoleBindingAdapter{ClusterRoleBinding: &b},
			Client:      reconciliation.ClusterRoleBindingClientAdapter{Client: rbac.ClusterRoleBindings()},
			Confirm:     true,
		}
		if _, err := opts.Run(); err != nil {
			return fmt.Errorf("clusterrolebinding %s: %w", b.Name, err)
		}
	}
	for _, r := range Roles() {
		r := r
		opts := reconciliation.ReconcileRoleOptions{
			Role:    reconciliation.RoleRuleOwner{Role: &r},
			Client:  reconciliation.RoleModifier{Client: rbac, NamespaceClient: client.CoreV1().Namespaces()},
			Confirm: true,
		}
		if _, err := opts.Run(); err != nil {
			return fmt.Errorf("role %s/%s: %w", r.Namespace, r.Name, err)
		}
	}
	for _, b := range RoleBindings() {
		b := b
		opts := reconciliation.ReconcileRoleBindingOptions{
			RoleBinding: reconciliation.RoleBindingAdapter{RoleBinding: &b},
			Client:      reconciliation.RoleBindingClientAdapter{Client: rbac, NamespaceClient: client.CoreV1().Namespaces()},
			Confirm:     true,
		}
		if _, err := opts.Run(); err != nil {
			return fmt.Errorf("rolebinding %s/%s: %w", b.Namespace, b.Name, err)
		}
	}
	return nil
}

var _ = rbacv1.GroupName
