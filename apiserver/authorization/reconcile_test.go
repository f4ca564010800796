package authorization_test

import (
	"context"
	"errors"
	"maps"
	"slices"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/skiff-dev/skiff/apiserver/authorization"
)

// verbs counts a fake client's actions by verb and resource ("list clusterroles").
func verbs(client *fake.Clientset) map[string]int {
	n := map[string]int{}
	for _, a := range client.Actions() {
		n[a.GetVerb()+" "+a.GetResource().Resource]++
	}
	return n
}

// TestReconcileBootstrapPolicy: the policy is created on an empty cluster, restored where a
// user took a rule from an auto-updated role, left alone where autoupdate is off, and a round
// on a cluster that already has it reads one list of each kind (and of roles and bindings per
// namespace) instead of a GET per object.
func TestReconcileBootstrapPolicy(t *testing.T) {
	ctx := context.Background()
	client := fake.NewClientset()
	if err := authorization.ReconcileBootstrapPolicy(ctx, client); err != nil {
		t.Fatal(err)
	}
	n := verbs(client)
	for resource, want := range map[string]int{
		"clusterroles": len(authorization.ClusterRoles()), "clusterrolebindings": len(authorization.ClusterRoleBindings()),
		"roles": len(authorization.Roles()), "rolebindings": len(authorization.RoleBindings()),
	} {
		if got := n["create "+resource]; got != want {
			t.Errorf("created %d %s, want %d", got, resource, want)
		}
		if got := n["get "+resource]; got != 0 {
			t.Errorf("%d GETs of %s, want none", got, resource)
		}
	}

	// A user takes the rules from an auto-updated cluster role and opts another out.
	updated, kept := authorization.ClusterRoles()[0].Name, authorization.ClusterRoles()[1].Name
	for name, autoupdate := range map[string]string{updated: "true", kept: "false"} {
		role, err := client.RbacV1().ClusterRoles().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		role.Rules = []rbacv1.PolicyRule{{Verbs: []string{"get"}, APIGroups: []string{"example.com"}, Resources: []string{"widgets"}}}
		role.Annotations[authorization.AutoUpdateAnnotation] = autoupdate
		if _, err := client.RbacV1().ClusterRoles().Update(ctx, role, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	client.ClearActions()
	if err := authorization.ReconcileBootstrapPolicy(ctx, client); err != nil {
		t.Fatal(err)
	}
	n = verbs(client)
	namespaces := sets.New[string]()
	for _, r := range authorization.Roles() {
		namespaces.Insert(r.Namespace)
	}
	for _, b := range authorization.RoleBindings() {
		namespaces.Insert(b.Namespace)
	}
	want := map[string]int{"list clusterroles": 1, "list clusterrolebindings": 1,
		"list roles": namespaces.Len(), "list rolebindings": namespaces.Len(), "update clusterroles": 1}
	if !maps.Equal(n, want) {
		t.Errorf("requests of a round on a cluster with the policy = %v, want %v", n, want)
	}
	for name, wantRules := range map[string]int{updated: len(authorization.ClusterRoles()[0].Rules) + 1, kept: 1} {
		role, err := client.RbacV1().ClusterRoles().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(role.Rules) != wantRules {
			t.Errorf("cluster role %s has %d rules, want %d (the user's kept)", name, len(role.Rules), wantRules)
		}
		if !slices.ContainsFunc(role.Rules, func(r rbacv1.PolicyRule) bool { return slices.Contains(r.Resources, "widgets") }) {
			t.Errorf("cluster role %s lost the user's rule", name)
		}
	}
}

// TestReconcileBootstrapPolicyConflict: an object changed between the round's list and its
// write makes the round fail and the next one, on fresh lists, succeed.
func TestReconcileBootstrapPolicyConflict(t *testing.T) {
	ctx := context.Background()
	client := fake.NewClientset()
	if err := authorization.ReconcileBootstrapPolicy(ctx, client); err != nil {
		t.Fatal(err)
	}
	name := authorization.ClusterRoles()[0].Name
	role, err := client.RbacV1().ClusterRoles().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	role.Rules = nil
	if _, err := client.RbacV1().ClusterRoles().Update(ctx, role, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	// The first update of the role is refused as a conflict, as if another writer had come first.
	conflicts := 0
	client.PrependReactor("update", "clusterroles", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if conflicts == 0 {
			conflicts++
			return true, nil, apierrors.NewConflict(rbacv1.Resource("clusterroles"), name, errors.New("changed"))
		}
		return false, nil, nil
	})
	if err := authorization.ReconcileBootstrapPolicy(ctx, client); err != nil {
		t.Fatal(err)
	}
	if conflicts != 1 {
		t.Errorf("%d conflicts, want 1", conflicts)
	}
	role, err = client.RbacV1().ClusterRoles().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(role.Rules) != len(authorization.ClusterRoles()[0].Rules) {
		t.Errorf("cluster role %s has %d rules after the retry, want %d", name, len(role.Rules), len(authorization.ClusterRoles()[0].Rules))
	}
}
