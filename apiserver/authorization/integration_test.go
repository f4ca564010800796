package authorization_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	nodev1 "k8s.io/api/node/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/skiff-dev/skiff/apiserver/apiservertest"
	"github.com/skiff-dev/skiff/apiserver/pki"
	"github.com/skiff-dev/skiff/test/poll"
)

// clientFor returns a client authenticated by a certificate of the server's CA.
func clientFor(t *testing.T, s *apiservertest.Server, userName string, groups ...string) kubernetes.Interface {
	t.Helper()
	ca, err := pki.LoadOrCreateCA(filepath.Join(s.DataDir, "pki"), "ca", "skiff-ca")
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := ca.Issue(pki.CertSpec{CommonName: userName, Organization: groups, Client: true})
	if err != nil {
		t.Fatal(err)
	}
	cfg := &rest.Config{Host: s.Config.Host, QPS: -1,
		TLSClientConfig: rest.TLSClientConfig{CAData: ca.CertPEM, CertData: certPEM, KeyData: keyPEM}}
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// cachesTimeout is the deadline of this package's waits for the authorizers' informer caches
// to catch up.
const cachesTimeout = 15 * time.Second

func mustCreateNS(t *testing.T, c kubernetes.Interface, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := c.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: n}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestRBACViewInOneNamespace(t *testing.T) {
	s := apiservertest.Start(t)
	ctx := context.Background()
	admin := s.Client
	mustCreateNS(t, admin, "team-a", "team-b")
	// The bootstrap policy is in place once the server is ready.
	for _, name := range []string{"cluster-admin", "admin", "edit", "view", "system:basic-user", "system:node", "system:kube-controller-manager"} {
		if _, err := admin.RbacV1().ClusterRoles().Get(ctx, name, metav1.GetOptions{}); err != nil {
			t.Fatalf("bootstrap clusterrole %s: %v", name, err)
		}
	}
	// view has no rules until the aggregation controller runs: bind the aggregated-to part.
	if _, err := admin.RbacV1().RoleBindings("team-a").Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "jane-view"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "system:aggregate-to-view"},
		Subjects:   []rbacv1.Subject{{Kind: "User", Name: "jane"}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	jane := clientFor(t, s, "jane", "devs")
	poll.Until(t, cachesTimeout, "jane lists pods in team-a", func() error {
		_, err := jane.CoreV1().Pods("team-a").List(ctx, metav1.ListOptions{})
		return err
	})
	_, err := jane.CoreV1().Pods("team-b").List(ctx, metav1.ListOptions{})
	want := `pods is forbidden: User "jane" cannot list resource "pods" in API group "" in the namespace "team-b"`
	if !apierrors.IsForbidden(err) || err.Error() != want {
		t.Errorf("list in team-b: %v, want 403 %q", err, want)
	}
	_, err = jane.CoreV1().Secrets("team-a").List(ctx, metav1.ListOptions{})
	if !apierrors.IsForbidden(err) {
		t.Errorf("list secrets: %v, want 403", err)
	}
	_, err = jane.CoreV1().Pods("team-a").Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "x"}}}}, metav1.CreateOptions{})
	if !apierrors.IsForbidden(err) {
		t.Errorf("create pod: %v, want 403", err)
	}
	_, err = jane.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	wantNodes := `nodes is forbidden: User "jane" cannot list resource "nodes" in API group "" at the cluster scope`
	if err == nil || err.Error() != wantNodes {
		t.Errorf("list nodes: %v, want %q", err, wantNodes)
	}

	// Access reviews.
	ssar := func(ns, verb, resource string) bool {
		t.Helper()
		r, err := jane.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, &authorizationv1.SelfSubjectAccessReview{
			Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &authorizationv1.ResourceAttributes{
				Namespace: ns, Verb: verb, Resource: resource}}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("SSAR: %v", err)
		}
		return r.Status.Allowed
	}
	if !ssar("team-a", "list", "pods") || ssar("team-b", "list", "pods") || ssar("team-a", "delete", "pods") {
		t.Errorf("SSAR answers wrong")
	}
	sar, err := admin.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{
		Spec: authorizationv1.SubjectAccessReviewSpec{User: "jane", ResourceAttributes: &authorizationv1.ResourceAttributes{
			Namespace: "team-a", Verb: "get", Resource: "pods"}}}, metav1.CreateOptions{})
	if err != nil || !sar.Status.Allowed || !strings.Contains(sar.Status.Reason, `RoleBinding "jane-view/team-a"`) {
		t.Errorf("SAR: %v %+v", err, sar)
	}
	_, err = admin.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{
		Spec: authorizationv1.SubjectAccessReviewSpec{ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: "get"}}}, metav1.CreateOptions{})
	if !apierrors.IsInvalid(err) {
		t.Errorf("SAR without user: %v, want 422", err)
	}
	rules, err := jane.AuthorizationV1().SelfSubjectRulesReviews().Create(ctx, &authorizationv1.SelfSubjectRulesReview{
		Spec: authorizationv1.SelfSubjectRulesReviewSpec{Namespace: "team-a"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range rules.Status.ResourceRules {
		for _, res := range r.Resources {
			found = found || res == "pods"
		}
	}
	if !found {
		t.Errorf("rules review has no pods rule: %+v", rules.Status)
	}
}

func TestRBACEscalationPrevented(t *testing.T) {
	s := apiservertest.Start(t)
	ctx := context.Background()
	admin := s.Client
	mustCreateNS(t, admin, "esc")
	// bob may manage roles and bindings in esc, and read pods, but not delete them.
	if _, err := admin.RbacV1().Roles("esc").Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "rbac-manager"},
		Rules: []rbacv1.PolicyRule{
			{Verbs: []string{"create", "get", "list", "update", "delete"}, APIGroups: []string{"rbac.authorization.k8s.io"}, Resources: []string{"roles", "rolebindings"}},
			{Verbs: []string{"get", "list"}, APIGroups: []string{""}, Resources: []string{"pods"}},
		}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.RbacV1().RoleBindings("esc").Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "bob"},
		RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "rbac-manager"}, Subjects: []rbacv1.Subject{{Kind: "User", Name: "bob"}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	bob := clientFor(t, s, "bob")
	poll.Until(t, cachesTimeout, "bob creates a role within his rights", func() error {
		_, err := bob.RbacV1().Roles("esc").Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "reader"},
			Rules: []rbacv1.PolicyRule{{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"pods"}}}}, metav1.CreateOptions{})
		return err
	})
	_, err := bob.RbacV1().Roles("esc").Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "deleter"},
		Rules: []rbacv1.PolicyRule{{Verbs: []string{"delete"}, APIGroups: []string{""}, Resources: []string{"pods"}}}}, metav1.CreateOptions{})
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), `is attempting to grant RBAC permissions not currently held:`) ||
		!strings.Contains(err.Error(), `{APIGroups:[""], Resources:["pods"], Verbs:["delete"]}`) {
		t.Errorf("escalating role: %v", err)
	}
	_, err = bob.RbacV1().RoleBindings("esc").Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "bob-admin"},
		RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"}, Subjects: []rbacv1.Subject{{Kind: "User", Name: "bob"}}}, metav1.CreateOptions{})
	if !apierrors.IsForbidden(err) {
		t.Errorf("binding cluster-admin: %v, want 403", err)
	}
	if _, err := bob.RbacV1().RoleBindings("esc").Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "alice-reader"},
		RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "reader"}, Subjects: []rbacv1.Subject{{Kind: "User", Name: "alice"}}}, metav1.CreateOptions{}); err != nil {
		t.Errorf("binding a role within his rights: %v", err)
	}
	// A binding written right after its role (one kubectl apply of both) finds the role: the
	// escalation check reads storage, not the authorizer's informers.
	for i := range 10 {
		name := fmt.Sprintf("reader-%d", i)
		if _, err := bob.RbacV1().Roles("esc").Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: name},
			Rules: []rbacv1.PolicyRule{{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"pods"}}}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := bob.RbacV1().RoleBindings("esc").Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name},
			RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name}, Subjects: []rbacv1.Subject{{Kind: "User", Name: "alice"}}}, metav1.CreateOptions{}); err != nil {
			t.Fatalf("binding role %s right after creating it: %v", name, err)
		}
	}
	// Validation: upstream's field paths.
	_, err = admin.RbacV1().Roles("esc").Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "bad"},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods"}}}}, metav1.CreateOptions{})
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "rules[0].verbs: Required value: verbs must contain at least one value") {
		t.Errorf("invalid role: %v", err)
	}
}

func TestNodeAuthorizer(t *testing.T) {
	s := apiservertest.Start(t)
	ctx := context.Background()
	admin := s.Client
	mustCreateNS(t, admin, "apps")
	for _, n := range []string{"node-a", "node-b"} {
		if _, err := admin.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: n}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"secret-a", "secret-b"} {
		if _, err := admin.CoreV1().Secrets("apps").Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	pod := func(name, node, secret string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PodSpec{NodeName: node,
			Containers: []corev1.Container{{Name: "c", Image: "x", EnvFrom: []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{
				LocalObjectReference: corev1.LocalObjectReference{Name: secret}}}}}}}}
	}
	for _, p := range []*corev1.Pod{pod("pa", "node-a", "secret-a"), pod("pb", "node-b", "secret-b")} {
		if _, err := admin.CoreV1().Pods("apps").Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	nodeA := clientFor(t, s, "system:node:node-a", "system:nodes")
	poll.Until(t, cachesTimeout, "node-a reads its pod's secret", func() error {
		_, err := nodeA.CoreV1().Secrets("apps").Get(ctx, "secret-a", metav1.GetOptions{})
		return err
	})
	_, err := nodeA.CoreV1().Secrets("apps").Get(ctx, "secret-b", metav1.GetOptions{})
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "no relationship found between node 'node-a' and this object") {
		t.Errorf("other node's secret: %v", err)
	}
	if _, err := nodeA.CoreV1().Secrets("apps").List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("listing secrets: %v, want 403", err)
	}
	patch := []byte(`{"metadata":{"labels":{"x":"y"}}}`)
	if _, err := nodeA.CoreV1().Nodes().Patch(ctx, "node-a", types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Errorf("patching its own node: %v", err)
	}
	_, err = nodeA.CoreV1().Nodes().Patch(ctx, "node-b", types.MergePatchType, patch, metav1.PatchOptions{})
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), `node "node-a" is not allowed to modify node "node-b"`) {
		t.Errorf("patching another node: %v", err)
	}
	_, err = nodeA.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-c"}}, metav1.CreateOptions{})
	if !apierrors.IsForbidden(err) {
		t.Errorf("creating another node: %v, want 403", err)
	}
	statusPatch := []byte(`{"status":{"message":"hi"}}`)
	if _, err := nodeA.CoreV1().Pods("apps").Patch(ctx, "pa", types.MergePatchType, statusPatch, metav1.PatchOptions{}, "status"); err != nil {
		t.Errorf("status of its own pod: %v", err)
	}
	if _, err := nodeA.CoreV1().Pods("apps").Patch(ctx, "pb", types.MergePatchType, statusPatch, metav1.PatchOptions{}, "status"); !apierrors.IsForbidden(err) {
		t.Errorf("status of another node's pod: %v, want 403", err)
	}
	// As upstream, a node does not add ephemeral containers, not even to its own pods.
	debug := []byte(`{"spec":{"ephemeralContainers":[{"name":"dbg","image":"busybox","terminationMessagePolicy":"File","imagePullPolicy":"IfNotPresent"}]}}`)
	if _, err := nodeA.CoreV1().Pods("apps").Patch(ctx, "pa", types.StrategicMergePatchType, debug, metav1.PatchOptions{}, "ephemeralcontainers"); !apierrors.IsForbidden(err) {
		t.Errorf("ephemeral containers of its own pod: %v, want 403", err)
	}
	// The agent maps a pod's runtimeClassName to its handler (upstream's system:node rule).
	if _, err := nodeA.NodeV1().RuntimeClasses().List(ctx, metav1.ListOptions{}); err != nil {
		t.Errorf("listing runtimeclasses: %v", err)
	}
	rc := &nodev1.RuntimeClass{ObjectMeta: metav1.ObjectMeta{Name: "by-node"}, Handler: "runc"}
	if _, err := nodeA.NodeV1().RuntimeClasses().Create(ctx, rc, metav1.CreateOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("creating a runtimeclass: %v, want 403", err)
	}
	lease := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "node-a", Namespace: corev1.NamespaceNodeLease}}
	if _, err := nodeA.CoordinationV1().Leases(corev1.NamespaceNodeLease).Create(ctx, lease, metav1.CreateOptions{}); err != nil {
		t.Errorf("own lease: %v", err)
	}
	lease.Name = "node-b"
	if _, err := nodeA.CoordinationV1().Leases(corev1.NamespaceNodeLease).Create(ctx, lease, metav1.CreateOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("another node's lease: %v, want 403", err)
	}
}
