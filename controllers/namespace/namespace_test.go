package namespace_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr/funcr"
	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/skiff-dev/skiff/controllers/controllertest"
	"github.com/skiff-dev/skiff/controllers/garbagecollector"
	"github.com/skiff-dev/skiff/controllers/namespace"
	"github.com/skiff-dev/skiff/test/poll"
	"sigs.k8s.io/controller-runtime/pkg/manager"
)

func TestMain(m *testing.M) {
	log.SetLogger(funcr.New(func(prefix, args string) { fmt.Fprintln(os.Stderr, prefix, args) }, funcr.Options{Verbosity: 5}))
	os.Exit(m.Run())
}

func startCluster(t *testing.T) kubernetes.Interface {
	t.Helper()
	return controllertest.Start(t, func(mgr manager.Manager) error {
		return namespace.SetupWithManager(mgr, namespace.Config{FinalizerEstimate: time.Second, SkipNameValidation: true})
	}, func(mgr manager.Manager) error {
		return garbagecollector.SetupWithManager(mgr, garbagecollector.Config{Workers: 4})
	}).Client
}

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func condition(ns *corev1.Namespace, typ corev1.NamespaceConditionType) *corev1.NamespaceCondition {
	for i := range ns.Status.Conditions {
		if ns.Status.Conditions[i].Type == typ {
			return &ns.Status.Conditions[i]
		}
	}
	return nil
}

func TestNamespaceDeletion(t *testing.T) {
	c := startCluster(t)
	ctx := context.Background()

	if bug := serverNamespaceBug(t, c); bug != "" {
		t.Fatalf("the API server does not keep upstream's namespace semantics, so no namespace controller can work: %s", bug)
	}

	t.Run("empty namespace goes", func(t *testing.T) {
		must[*corev1.Namespace](t)(c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "empty"}}, metav1.CreateOptions{}))
		if err := c.CoreV1().Namespaces().Delete(ctx, "empty", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		poll.Eventually(t, "namespace removed", poll.Cond(t.Context(), func(ctx context.Context) (bool, error) {
			_, err := c.CoreV1().Namespaces().Get(ctx, "empty", metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				return true, nil
			}
			return false, err
		}))
	})

	t.Run("content deleted, conditions while content remains, then the namespace", func(t *testing.T) {
		const ns = "doomed"
		must[*corev1.Namespace](t)(c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}))
		create(t, c, ns)
		must[*corev1.ConfigMap](t)(c.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: "held", Finalizers: []string{"example.com/hold"}}}, metav1.CreateOptions{}))

		if err := c.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		var last *corev1.Namespace
		poll.Eventually(t, "content gone but the held configmap, with conditions saying so", poll.Cond(t.Context(), func(ctx context.Context) (bool, error) {
			n, err := c.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			last = n
			rem := condition(n, corev1.NamespaceContentRemaining)
			fin := condition(n, corev1.NamespaceFinalizersRemaining)
			if n.Status.Phase != corev1.NamespaceTerminating || rem == nil || fin == nil {
				return false, nil
			}
			return rem.Status == corev1.ConditionTrue &&
				rem.Reason == "SomeResourcesRemain" &&
				rem.Message == "Some resources are remaining: configmaps. has 1 resource instances" &&
				fin.Status == corev1.ConditionTrue &&
				fin.Message == "Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances", nil
		}))
		if cf := condition(last, corev1.NamespaceDeletionContentFailure); cf == nil || cf.Status != corev1.ConditionFalse || cf.Reason != "ContentDeleted" {
			t.Errorf("NamespaceDeletionContentFailure = %+v", cf)
		}
		if !hasFinalizer(last.Spec.Finalizers, corev1.FinalizerKubernetes) {
			t.Errorf("the namespace must keep its finalizer while content remains: %v", last.Spec.Finalizers)
		}
		checkEmptyButHeld(t, c, ns)

		// Let the held configmap go: the namespace follows.
		if _, err := c.CoreV1().ConfigMaps(ns).Patch(ctx, "held", types.MergePatchType, []byte(`{"metadata":{"finalizers":null}}`), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		poll.Eventually(t, "namespace removed", poll.Cond(t.Context(), func(ctx context.Context) (bool, error) {
			_, err := c.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				return true, nil
			}
			return false, err
		}))
	})
}

func hasFinalizer(list []corev1.FinalizerName, f corev1.FinalizerName) bool {
	for _, x := range list {
		if x == f {
			return true
		}
	}
	return false
}

// create makes one object of many kinds in ns, including a hand-built Deployment → ReplicaSet →
// Pod chain (the pod is not bound to a node, so it is deleted at once).
func create(t *testing.T, c kubernetes.Interface, ns string) {
	t.Helper()
	ctx := context.Background()
	labels := map[string]string{"app": "web"}
	one := int32(1)
	tmpl := corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}
	must[*corev1.ConfigMap](t)(c.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm"}}, metav1.CreateOptions{}))
	must[*corev1.Secret](t)(c.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s"}, StringData: map[string]string{"k": "v"}}, metav1.CreateOptions{}))
	must[*corev1.ServiceAccount](t)(c.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "sa"}}, metav1.CreateOptions{}))
	must[*corev1.Service](t)(c.CoreV1().Services(ns).Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: corev1.ServiceSpec{Selector: labels, Ports: []corev1.ServicePort{{Port: 80}}}}, metav1.CreateOptions{}))
	must[*coordinationv1.Lease](t)(c.CoordinationV1().Leases(ns).Create(ctx, &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "l"}}, metav1.CreateOptions{}))
	d := must[*appsv1.Deployment](t)(c.AppsV1().Deployments(ns).Create(ctx, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: appsv1.DeploymentSpec{Replicas: &one, Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: tmpl}}, metav1.CreateOptions{}))
	yes := true
	rs := must[*appsv1.ReplicaSet](t)(c.AppsV1().ReplicaSets(ns).Create(ctx, &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "web-1",
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "Deployment", Name: d.Name, UID: d.UID, Controller: &yes, BlockOwnerDeletion: &yes}}},
		Spec: appsv1.ReplicaSetSpec{Replicas: &one, Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: tmpl}}, metav1.CreateOptions{}))
	must[*corev1.Pod](t)(c.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-1-a", Labels: labels,
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: rs.Name, UID: rs.UID, Controller: &yes, BlockOwnerDeletion: &yes}}},
		Spec: tmpl.Spec}, metav1.CreateOptions{}))
	must[*corev1.Pod](t)(c.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "lonely"}, Spec: tmpl.Spec}, metav1.CreateOptions{}))
}

// checkEmptyButHeld verifies that only the held configmap is left.
func checkEmptyButHeld(t *testing.T, c kubernetes.Interface, ns string) {
	t.Helper()
	ctx := context.Background()
	counts := map[string]func() (int, error){
		"configmaps": func() (int, error) {
			l, err := c.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{})
			if err != nil {
				return 0, err
			}
			for _, cm := range l.Items {
				if cm.Name != "held" {
					return len(l.Items), nil
				}
			}
			return 0, nil
		},
		"secrets": func() (int, error) {
			l, err := c.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{})
			return lenOr(l, err)
		},
		"serviceaccounts": func() (int, error) {
			l, err := c.CoreV1().ServiceAccounts(ns).List(ctx, metav1.ListOptions{})
			return lenOr(l, err)
		},
		"services": func() (int, error) {
			l, err := c.CoreV1().Services(ns).List(ctx, metav1.ListOptions{})
			return lenOr(l, err)
		},
		"leases": func() (int, error) {
			l, err := c.CoordinationV1().Leases(ns).List(ctx, metav1.ListOptions{})
			return lenOr(l, err)
		},
		"deployments": func() (int, error) {
			l, err := c.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{})
			return lenOr(l, err)
		},
		"replicasets": func() (int, error) {
			l, err := c.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{})
			return lenOr(l, err)
		},
		"pods": func() (int, error) {
			l, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
			return lenOr(l, err)
		},
	}
	var left []string
	for name, count := range counts {
		n, err := count()
		if err != nil {
			t.Fatalf("listing %s: %v", name, err)
		}
		if n != 0 {
			left = append(left, fmt.Sprintf("%s: %d", name, n))
		}
	}
	if len(left) > 0 {
		t.Errorf("content left: %s", strings.Join(left, ", "))
	}
}

func lenOr(l runtime.Object, err error) (int, error) {
	if err != nil {
		return 0, err
	}
	return meta.LenList(l), nil
}

// serverNamespaceBug checks the API behaviour the controller relies on: a terminating
// namespace survives a status update, and namespaces/finalize can empty spec.finalizers.
func serverNamespaceBug(t *testing.T, c kubernetes.Interface) string {
	t.Helper()
	ctx := context.Background()
	nsc := c.CoreV1().Namespaces()
	// A finalizer of our own keeps the controller from removing the probe once it is deleted.
	must[*corev1.Namespace](t)(nsc.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "probe-status"},
		Spec: corev1.NamespaceSpec{Finalizers: []corev1.FinalizerName{"example.com/probe"}}}, metav1.CreateOptions{}))
	must[*corev1.Namespace](t)(nsc.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "probe-finalize"}}, metav1.CreateOptions{}))
	ns := must[*corev1.Namespace](t)(nsc.Get(ctx, "probe-status", metav1.GetOptions{}))
	ns.Status.Conditions = []corev1.NamespaceCondition{{Type: corev1.NamespaceContentRemaining, Status: corev1.ConditionFalse, Reason: "Probe"}}
	if _, err := nsc.UpdateStatus(ctx, ns, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	ns = must[*corev1.Namespace](t)(nsc.Get(ctx, "probe-finalize", metav1.GetOptions{}))
	ns.Spec.Finalizers = nil
	out := must[*corev1.Namespace](t)(nsc.Finalize(ctx, ns, metav1.UpdateOptions{}))
	if len(out.Spec.Finalizers) != 0 {
		return fmt.Sprintf("PUT /api/v1/namespaces/probe-finalize/finalize with spec.finalizers empty returned spec.finalizers=%v "+
			"(apis/defaults defaultNamespace adds \"kubernetes\" to every decoded namespace; upstream adds it only in PrepareForCreate)", out.Spec.Finalizers)
	}
	if err := nsc.Delete(ctx, "probe-status", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	ns = must[*corev1.Namespace](t)(nsc.Get(ctx, "probe-status", metav1.GetOptions{}))
	if len(ns.Spec.Finalizers) == 0 {
		return "namespace lost its spec finalizer"
	}
	ns.Status.Conditions[0].Reason = "Probe2"
	if _, err := nsc.UpdateStatus(ctx, ns, metav1.UpdateOptions{}); err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		t.Fatal(err)
	}
	if _, err := nsc.Get(ctx, "probe-status", metav1.GetOptions{}); apierrors.IsNotFound(err) {
		return "PUT /api/v1/namespaces/probe-status/status on a Terminating namespace (spec.finalizers=[kubernetes], no metadata.finalizers) " +
			"deleted it (the store lacks upstream's ShouldDeleteNamespaceDuringUpdate, which also requires spec.finalizers to be empty)"
	}
	return ""
}
