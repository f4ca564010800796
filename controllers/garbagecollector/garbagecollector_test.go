package garbagecollector_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/skiff-dev/skiff/controllers/controllertest"
	"github.com/skiff-dev/skiff/controllers/garbagecollector"
	"github.com/skiff-dev/skiff/test/poll"
	"sigs.k8s.io/controller-runtime/pkg/manager"
)

// startCluster runs an API server and a manager with only the garbage collector.
func startCluster(t *testing.T) (kubernetes.Interface, *garbagecollector.GarbageCollector) {
	t.Helper()
	var gc *garbagecollector.GarbageCollector
	c := controllertest.Start(t, func(mgr manager.Manager) error {
		var err error
		// As SetupWithManager: pods, ReplicaSets and Deployments through the manager's cache,
		// every other kind (config maps here) through metadata-only informers.
		gc, err = garbagecollector.New(mgr.GetConfig(), garbagecollector.Config{Workers: 4, ResyncPeriod: 2 * time.Second,
			Cache: mgr.GetCache(), Scheme: mgr.GetScheme(), SharedKinds: garbagecollector.DefaultSharedKinds()},
			mgr.GetEventRecorder(garbagecollector.ControllerName))
		if err != nil {
			return err
		}
		return mgr.Add(gc)
	}).Client
	return c, gc
}

func gone(err error) (bool, error) {
	if apierrors.IsNotFound(err) {
		return true, nil
	}
	return false, err
}

func ref(apiVersion, kind, name string, uid types.UID, block bool) metav1.OwnerReference {
	r := metav1.OwnerReference{APIVersion: apiVersion, Kind: kind, Name: name, UID: uid}
	if block {
		r.BlockOwnerDeletion = &block
	}
	return r
}

func createNS(t *testing.T, c kubernetes.Interface, name string) {
	t.Helper()
	if _, err := c.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func configMap(t *testing.T, c kubernetes.Interface, ns, name string, owners ...metav1.OwnerReference) *corev1.ConfigMap {
	t.Helper()
	cm, err := c.CoreV1().ConfigMaps(ns).Create(context.Background(), &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: name, OwnerReferences: owners}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return cm
}

var labels = map[string]string{"app": "web"}

func podTemplate() corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: labels},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
	}
}

// chain builds Deployment → ReplicaSet → Pod by hand; podFinalizers hold the pod once deleted.
func chain(t *testing.T, c kubernetes.Interface, ns string, block bool, podFinalizers ...string) (*appsv1.Deployment, *appsv1.ReplicaSet, *corev1.Pod) {
	t.Helper()
	ctx := context.Background()
	one := int32(1)
	d, err := c.AppsV1().Deployments(ns).Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: appsv1.DeploymentSpec{Replicas: &one, Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: podTemplate()},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rs, err := c.AppsV1().ReplicaSets(ns).Create(ctx, &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: "web-1", OwnerReferences: []metav1.OwnerReference{
			ref("apps/v1", "Deployment", d.Name, d.UID, block)}},
		Spec: appsv1.ReplicaSetSpec{Replicas: &one, Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: podTemplate()},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tmpl := podTemplate()
	pod, err := c.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web-1-a", Labels: labels, Finalizers: podFinalizers,
			OwnerReferences: []metav1.OwnerReference{ref("apps/v1", "ReplicaSet", rs.Name, rs.UID, block)}},
		Spec: tmpl.Spec,
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return d, rs, pod
}

func TestGarbageCollector(t *testing.T) {
	c, gc := startCluster(t)
	ctx := context.Background()

	t.Run("shared kinds are watched through the cache", func(t *testing.T) {
		poll.Eventually(t, "monitors started", poll.Check(func() (bool, string) {
			got := gc.SharedMonitors()
			return slices.Equal(got, []string{"/v1, Kind=Pod", "apps/v1, Kind=Deployment", "apps/v1, Kind=ReplicaSet"}), fmt.Sprint(got)
		}))
	})

	t.Run("background: configmap owned by a configmap", func(t *testing.T) {
		createNS(t, c, "bg-cm")
		owner := configMap(t, c, "bg-cm", "owner")
		configMap(t, c, "bg-cm", "dependent", ref("v1", "ConfigMap", owner.Name, owner.UID, false))
		configMap(t, c, "bg-cm", "bystander")
		if err := c.CoreV1().ConfigMaps("bg-cm").Delete(ctx, "owner", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		poll.Eventually(t, "dependent deleted", poll.Cond(t.Context(), func(ctx context.Context) (bool, error) {
			_, err := c.CoreV1().ConfigMaps("bg-cm").Get(ctx, "dependent", metav1.GetOptions{})
			return gone(err)
		}))
		if _, err := c.CoreV1().ConfigMaps("bg-cm").Get(ctx, "bystander", metav1.GetOptions{}); err != nil {
			t.Fatalf("bystander: %v", err)
		}
	})

	t.Run("background: dependent created after its owner is gone", func(t *testing.T) {
		createNS(t, c, "bg-late")
		configMap(t, c, "bg-late", "dependent", ref("v1", "ConfigMap", "never-existed", "0000-uid", false))
		poll.Eventually(t, "dependent deleted", poll.Cond(t.Context(), func(ctx context.Context) (bool, error) {
			_, err := c.CoreV1().ConfigMaps("bg-late").Get(ctx, "dependent", metav1.GetOptions{})
			return gone(err)
		}))
	})

	t.Run("background: deployment, replicaset, pod", func(t *testing.T) {
		createNS(t, c, "bg-chain")
		chain(t, c, "bg-chain", true)
		if err := c.AppsV1().Deployments("bg-chain").Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		poll.Eventually(t, "replicaset and pod deleted", poll.Cond(t.Context(), func(ctx context.Context) (bool, error) {
			if _, err := c.AppsV1().ReplicaSets("bg-chain").Get(ctx, "web-1", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				return false, ignoreFound(err)
			}
			_, err := c.CoreV1().Pods("bg-chain").Get(ctx, "web-1-a", metav1.GetOptions{})
			return gone(err)
		}))
	})

	t.Run("cluster-scoped owner of a namespaced dependent", func(t *testing.T) {
		createNS(t, c, "cluster-owner")
		node, err := c.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "gc-owner-node"}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		configMap(t, c, "cluster-owner", "dependent", ref("v1", "Node", node.Name, node.UID, false))
		if err := c.CoreV1().Nodes().Delete(ctx, node.Name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		poll.Eventually(t, "dependent deleted", poll.Cond(t.Context(), func(ctx context.Context) (bool, error) {
			_, err := c.CoreV1().ConfigMaps("cluster-owner").Get(ctx, "dependent", metav1.GetOptions{})
			return gone(err)
		}))
	})

	t.Run("foreground: dependents go first", func(t *testing.T) {
		const ns = "fg-chain"
		createNS(t, c, ns)
		_, rs, pod := chain(t, c, ns, true, "example.com/hold")
		// The ordering below holds once the collector's graph has the replicaset and the pod with
		// their owner edges: each kind has its own informer, so seeing the pod does not mean the
		// replicaset was seen (CI once deleted the deployment at once, its graph still without the
		// replicaset).
		poll.Eventually(t, "the collector observes the replicaset and the pod", poll.Cond(t.Context(), func(context.Context) (bool, error) {
			return gc.Observed(rs.UID) && gc.Observed(pod.UID), nil
		}))
		fg := metav1.DeletePropagationForeground
		if err := c.AppsV1().Deployments(ns).Delete(ctx, "web", metav1.DeleteOptions{PropagationPolicy: &fg}); err != nil {
			t.Fatal(err)
		}
		// The pod is held by its finalizer: the replicaset and the deployment wait for it.
		poll.Eventually(t, "pod being deleted", poll.Cond(t.Context(), func(ctx context.Context) (bool, error) {
			p, err := c.CoreV1().Pods(ns).Get(ctx, pod.Name, metav1.GetOptions{})
			return err == nil && p.DeletionTimestamp != nil, err
		}))
		rs, err := c.AppsV1().ReplicaSets(ns).Get(ctx, "web-1", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("replicaset must wait for its pod: %v", err)
		}
		if rs.DeletionTimestamp == nil || !has(rs.Finalizers, metav1.FinalizerDeleteDependents) {
			t.Fatalf("replicaset should be deleted in the foreground, got deletionTimestamp=%v finalizers=%v", rs.DeletionTimestamp, rs.Finalizers)
		}
		d, err := c.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("deployment must wait for its dependents: %v", err)
		}
		if d.DeletionTimestamp == nil || !has(d.Finalizers, metav1.FinalizerDeleteDependents) {
			t.Fatalf("deployment: deletionTimestamp=%v finalizers=%v", d.DeletionTimestamp, d.Finalizers)
		}
		// Release the pod: everything goes, the deployment last.
		if _, err := c.CoreV1().Pods(ns).Patch(ctx, pod.Name, types.MergePatchType, []byte(`{"metadata":{"finalizers":null}}`), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		poll.Eventually(t, "deployment deleted", poll.Cond(t.Context(), func(ctx context.Context) (bool, error) {
			_, err := c.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
			return gone(err)
		}))
		for _, check := range []func() error{
			func() error { _, err := c.AppsV1().ReplicaSets(ns).Get(ctx, "web-1", metav1.GetOptions{}); return err },
			func() error { _, err := c.CoreV1().Pods(ns).Get(ctx, pod.Name, metav1.GetOptions{}); return err },
		} {
			if err := check(); !apierrors.IsNotFound(err) {
				t.Fatalf("dependent should be gone before the deployment, got %v", err)
			}
		}
	})

	t.Run("foreground: owner without dependents goes at once", func(t *testing.T) {
		createNS(t, c, "fg-alone")
		configMap(t, c, "fg-alone", "lonely")
		fg := metav1.DeletePropagationForeground
		if err := c.CoreV1().ConfigMaps("fg-alone").Delete(ctx, "lonely", metav1.DeleteOptions{PropagationPolicy: &fg}); err != nil {
			t.Fatal(err)
		}
		poll.Eventually(t, "owner deleted", poll.Cond(t.Context(), func(ctx context.Context) (bool, error) {
			_, err := c.CoreV1().ConfigMaps("fg-alone").Get(ctx, "lonely", metav1.GetOptions{})
			return gone(err)
		}))
	})

	t.Run("orphan: deployment's replicaset loses its reference", func(t *testing.T) {
		const ns = "orphan"
		createNS(t, c, ns)
		_, owned, _ := chain(t, c, ns, true)
		// Orphaning edits only the dependents in the collector's graph (as upstream's).
		poll.Eventually(t, "the collector observes the replicaset", poll.Cond(t.Context(), func(context.Context) (bool, error) {
			return gc.Observed(owned.UID), nil
		}))
		orphan := metav1.DeletePropagationOrphan
		if err := c.AppsV1().Deployments(ns).Delete(ctx, "web", metav1.DeleteOptions{PropagationPolicy: &orphan}); err != nil {
			t.Fatal(err)
		}
		poll.Eventually(t, "deployment deleted", poll.Cond(t.Context(), func(ctx context.Context) (bool, error) {
			_, err := c.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
			return gone(err)
		}))
		rs, err := c.AppsV1().ReplicaSets(ns).Get(ctx, "web-1", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("replicaset must be kept: %v", err)
		}
		if len(rs.OwnerReferences) != 0 || rs.DeletionTimestamp != nil {
			t.Fatalf("replicaset: ownerReferences=%v deletionTimestamp=%v", rs.OwnerReferences, rs.DeletionTimestamp)
		}
		// The pod still belongs to the (living) replicaset.
		pod, err := c.CoreV1().Pods(ns).Get(ctx, "web-1-a", metav1.GetOptions{})
		if err != nil || len(pod.OwnerReferences) != 1 {
			t.Fatalf("pod: %v %v", pod, err)
		}
	})

	t.Run("two owners: only the dangling reference goes", func(t *testing.T) {
		const ns = "two-owners"
		createNS(t, c, ns)
		a := configMap(t, c, ns, "a")
		b := configMap(t, c, ns, "b")
		configMap(t, c, ns, "dependent", ref("v1", "ConfigMap", a.Name, a.UID, false), ref("v1", "ConfigMap", b.Name, b.UID, false))
		if err := c.CoreV1().ConfigMaps(ns).Delete(ctx, "a", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		poll.Eventually(t, "reference to a removed", poll.Cond(t.Context(), func(ctx context.Context) (bool, error) {
			dep, err := c.CoreV1().ConfigMaps(ns).Get(ctx, "dependent", metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			return len(dep.OwnerReferences) == 1 && dep.OwnerReferences[0].UID == b.UID, nil
		}))
		// Then deleting b removes it.
		if err := c.CoreV1().ConfigMaps(ns).Delete(ctx, "b", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		poll.Eventually(t, "dependent deleted", poll.Cond(t.Context(), func(ctx context.Context) (bool, error) {
			_, err := c.CoreV1().ConfigMaps(ns).Get(ctx, "dependent", metav1.GetOptions{})
			return gone(err)
		}))
	})

	t.Run("cross-namespace reference", func(t *testing.T) {
		// Upstream: a namespaced owner must be in its dependent's namespace; one that is not
		// there is absent. The real owner elsewhere and its own dependents are unaffected.
		createNS(t, c, "cross-a")
		createNS(t, c, "cross-b")
		owner := configMap(t, c, "cross-b", "owner")
		configMap(t, c, "cross-b", "same-ns-dependent", ref("v1", "ConfigMap", owner.Name, owner.UID, true))
		configMap(t, c, "cross-a", "confused", ref("v1", "ConfigMap", owner.Name, owner.UID, true))
		poll.Eventually(t, "cross-namespace dependent deleted", poll.Cond(t.Context(), func(ctx context.Context) (bool, error) {
			_, err := c.CoreV1().ConfigMaps("cross-a").Get(ctx, "confused", metav1.GetOptions{})
			return gone(err)
		}))
		for _, name := range []string{"owner", "same-ns-dependent"} {
			cm, err := c.CoreV1().ConfigMaps("cross-b").Get(ctx, name, metav1.GetOptions{})
			if err != nil || cm.DeletionTimestamp != nil {
				t.Fatalf("%s must be untouched: %v %v", name, cm, err)
			}
		}
		// The owner's own dependent still follows it.
		if err := c.CoreV1().ConfigMaps("cross-b").Delete(ctx, "owner", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		poll.Eventually(t, "same-namespace dependent deleted", poll.Cond(t.Context(), func(ctx context.Context) (bool, error) {
			_, err := c.CoreV1().ConfigMaps("cross-b").Get(ctx, "same-ns-dependent", metav1.GetOptions{})
			return gone(err)
		}))
	})

	t.Run("unknown owner kind keeps the dependent", func(t *testing.T) {
		createNS(t, c, "unknown-kind")
		configMap(t, c, "unknown-kind", "dependent", ref("example.com/v1", "Widget", "w", "1234", false))
		// A sibling with a resolvable, dangling owner is collected; by then the first one has
		// been tried too.
		configMap(t, c, "unknown-kind", "sibling", ref("v1", "ConfigMap", "nope", "5678", false))
		poll.Eventually(t, "sibling deleted", poll.Cond(t.Context(), func(ctx context.Context) (bool, error) {
			_, err := c.CoreV1().ConfigMaps("unknown-kind").Get(ctx, "sibling", metav1.GetOptions{})
			return gone(err)
		}))
		if _, err := c.CoreV1().ConfigMaps("unknown-kind").Get(ctx, "dependent", metav1.GetOptions{}); err != nil {
			t.Fatalf("a dependent whose owner kind cannot be resolved must be kept: %v", err)
		}
	})
}

func ignoreFound(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("unexpected: %w", err)
}

func has(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
