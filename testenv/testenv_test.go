package testenv_test

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/utils/ptr"

	"github.com/skiff-dev/skiff/test/poll"
	"github.com/skiff-dev/skiff/testenv"
)

var widgets = schema.GroupVersionResource{Group: "example.skiff.dev", Version: "v1", Resource: "widgets"}

// TestClusterBehavesAsReal shows what envtest cannot: Deployments make Pods that are scheduled
// and run on (simulated) nodes, ownerReferences from a custom resource cascade, and a deleted
// namespace really goes away.
func TestClusterBehavesAsReal(t *testing.T) {
	env := testenv.Start(t, testenv.WithCRDs("testdata"), testenv.WithSimulatedNodes(2))
	t.Logf("start phases: %v", env.Phases)
	ctx := context.Background()
	cs := env.Clientset
	var names []string
	for _, crd := range env.CRDs {
		names = append(names, crd.Name)
	}
	if !slices.Contains(names, "widgets.example.skiff.dev") || !slices.Contains(names, "faults.chaos.skiff.dev") {
		t.Fatalf("installed CRDs = %v, want widgets.example.skiff.dev and Skiff's own faults.chaos.skiff.dev", names)
	}
	if !slices.Equal(env.Nodes, []string{"sim-0", "sim-1"}) {
		t.Fatalf("nodes = %v", env.Nodes)
	}
	ns := env.Namespace(t)

	// A Deployment's pods are created, scheduled onto the simulated nodes and Running.
	labels := map[string]string{"app": "web"}
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(int32(3)),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "skiff/busybox"}}},
			},
		},
	}
	if _, err := cs.AppsV1().Deployments(ns).Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, 30*time.Second, "3 pods running on the simulated nodes", func() error {
		pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		running := 0
		for _, p := range pods.Items {
			if p.Status.Phase == corev1.PodRunning && slices.Contains(env.Nodes, p.Spec.NodeName) {
				running++
			}
		}
		if running != 3 {
			return fmt.Errorf("%d of %d pods running on simulated nodes", running, len(pods.Items))
		}
		return nil
	})

	// The custom resource is served, validated, and its dependents are garbage-collected.
	dyn, err := dynamic.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	bad := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "example.skiff.dev/v1", "kind": "Widget",
		"metadata": map[string]any{"name": "bad"}, "spec": map[string]any{"size": int64(0)},
	}}
	_, err = dyn.Resource(widgets).Namespace(ns).Create(ctx, bad, metav1.CreateOptions{})
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec.size") {
		t.Fatalf("invalid widget: got %v, want 422 naming spec.size", err)
	}
	w := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "example.skiff.dev/v1", "kind": "Widget",
		"metadata": map[string]any{"name": "w"}, "spec": map[string]any{"size": int64(2)},
	}}
	w, err = dyn.Resource(widgets).Namespace(ns).Create(ctx, w, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "w-config", Namespace: ns, OwnerReferences: []metav1.OwnerReference{{
		APIVersion: "example.skiff.dev/v1", Kind: "Widget", Name: w.GetName(), UID: w.GetUID(),
	}}}}
	if _, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := dyn.Resource(widgets).Namespace(ns).Delete(ctx, "w", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, 30*time.Second, "configmap of the deleted widget collected", func() error {
		_, err := cs.CoreV1().ConfigMaps(ns).Get(ctx, "w-config", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("configmap owned by the deleted widget still there (err %v)", err)
	})

	// Deleting the namespace finishes: its pods, Deployment and custom resources go, then it.
	if _, err := dyn.Resource(widgets).Namespace(ns).Create(ctx, &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "example.skiff.dev/v1", "kind": "Widget", "metadata": map[string]any{"name": "left"},
	}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := cs.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, 60*time.Second, "namespace deleted", func() error {
		_, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("namespace %s still there (err %v)", ns, err)
	})
}

// TestWithoutControllersServesAPIOnly: nothing reconciles, as in envtest.
func TestWithoutControllersServesAPIOnly(t *testing.T) {
	env := testenv.Start(t, testenv.WithoutControllers())
	ctx := context.Background()
	ns := env.Namespace(t)
	rs := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: "rs", Namespace: ns},
		Spec: appsv1.ReplicaSetSpec{
			Replicas: ptr.To(int32(1)),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"a": "b"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"a": "b"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "i"}}},
			},
		},
	}
	if _, err := env.Clientset.AppsV1().ReplicaSets(ns).Create(ctx, rs, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// The ReplicaSet controller would create its pod within milliseconds; none is created.
	// (A negative cannot be waited for; one look after a namespace round trip is the check.)
	if _, err := env.Clientset.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); err != nil {
		t.Fatal(err)
	}
	pods, err := env.Clientset.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(pods.Items) != 0 {
		t.Fatalf("pods created without controllers: %d", len(pods.Items))
	}
	if len(env.Phases) != 4 {
		t.Fatalf("phases = %v", env.Phases)
	}
}

// TestCleanup: after the test, the data dir is gone, the API port is closed and the
// goroutines are back to (about) what they were.
func TestCleanup(t *testing.T) {
	before := runtime.NumGoroutine()
	var dataDir, host string
	t.Run("env", func(t *testing.T) {
		env := testenv.Start(t, testenv.WithSimulatedNodes(1))
		dataDir = env.DataDir
		u, err := url.Parse(env.Config.Host)
		if err != nil {
			t.Fatal(err)
		}
		host = u.Host
	})
	if _, err := os.Stat(dataDir); !os.IsNotExist(err) {
		t.Errorf("data dir %s still there: %v", dataDir, err)
	}
	if c, err := net.DialTimeout("tcp", host, time.Second); err == nil {
		c.Close()
		t.Errorf("API port %s still accepts connections", host)
	}
	// Some goroutines end a little after their context (idle connections, timers): poll.
	const slack = 10
	if err := poll.Wait(context.Background(), 20*time.Second, func() error {
		if after := runtime.NumGoroutine(); after > before+slack {
			return fmt.Errorf("%d goroutines before, %d after stopping", before, after)
		}
		return nil
	}); err != nil {
		buf := make([]byte, 1<<20)
		n := runtime.Stack(buf, true)
		t.Fatalf("%v; stacks:\n%s", err, buf[:n])
	}
}

// TestCRDFileErrors: bad CRD inputs fail with a clear message before anything starts.
func TestCRDFileErrors(t *testing.T) {
	for _, tc := range []struct {
		path, want string
	}{
		{"testdata/missing.yaml", "no such file"},
		{"testdata/empty", "no CustomResourceDefinition in testdata/empty"},
		{"testdata/bad/v1beta1.yaml", "only apiextensions.k8s.io/v1 is served"},
		{"testdata/bad/unknownfield.yaml", "nmaes"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			ft := &fatalT{TB: t}
			done := make(chan struct{})
			go func() {
				defer close(done)
				testenv.Start(ft, testenv.WithCRDs(tc.path))
			}()
			<-done
			if !strings.Contains(ft.msg, tc.want) {
				t.Fatalf("fatal message %q, want it to contain %q", ft.msg, tc.want)
			}
		})
	}
}

// fatalT records Fatalf instead of failing the test.
type fatalT struct {
	testing.TB
	msg string
}

func (f *fatalT) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func (f *fatalT) Helper() {}
