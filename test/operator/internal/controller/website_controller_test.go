package controller_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	webv1alpha1 "github.com/skiff-dev/skiff/test/operator/api/v1alpha1"
	"github.com/skiff-dev/skiff/test/operator/internal/controller"
	"github.com/skiff-dev/skiff/test/poll"
	"github.com/skiff-dev/skiff/testenv"
)

// startOperator runs the Website controller in its own manager against env until the test ends.
func startOperator(t *testing.T, env *testenv.Env) client.Client {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := webv1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	mgr, err := ctrl.NewManager(env.Config, ctrl.Options{
		Scheme:     scheme,
		Metrics:    metricsserver.Options{BindAddress: "0"},
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := (&controller.WebsiteReconciler{Client: mgr.GetClient()}).SetupWithManager(mgr); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("manager: %v", err)
		}
	})
	c, err := client.New(env.Config, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestWebsiteLifecycle runs the operator against a whole Skiff control plane in the test
// process: the children appear with ownerReferences, the Deployment's pods are scheduled onto
// simulated nodes and run, the status reports them, deleting the Website garbage-collects its
// children, and deleting the namespace finishes.
func TestWebsiteLifecycle(t *testing.T) {
	env := testenv.Start(t, testenv.WithCRDs("../../config/crd"), testenv.WithSimulatedNodes(2))
	t.Logf("testenv start: %v", env.Phases)
	c := startOperator(t, env)
	ctx := context.Background()
	ns := env.Namespace(t)

	// Invalid Websites are refused by the CRD's schema (from the kubebuilder markers).
	bad := &webv1alpha1.Website{ObjectMeta: metav1.ObjectMeta{Name: "bad", Namespace: ns},
		Spec: webv1alpha1.WebsiteSpec{Content: "x", Replicas: ptr.To(int32(11))}}
	if err := c.Create(ctx, bad); !apierrors.IsInvalid(err) {
		t.Fatalf("website with 11 replicas: got %v, want Invalid", err)
	}

	site := &webv1alpha1.Website{ObjectMeta: metav1.ObjectMeta{Name: "blog", Namespace: ns},
		Spec: webv1alpha1.WebsiteSpec{Content: "<h1>hello</h1>", Replicas: ptr.To(int32(3))}}
	if err := c.Create(ctx, site); err != nil {
		t.Fatal(err)
	}
	if site.Spec.Image != "skiff/skiff-http:latest" {
		t.Errorf("defaulted image = %q", site.Spec.Image)
	}

	// The children appear, each controlled by the Website.
	key := client.ObjectKey{Namespace: ns, Name: "blog"}
	children := []client.Object{
		&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "blog", Namespace: ns}},
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "blog", Namespace: ns}},
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "blog-content", Namespace: ns}},
	}
	for _, child := range children {
		poll.Until(t, 30*time.Second, "child created and owned", func() error {
			if err := c.Get(ctx, client.ObjectKeyFromObject(child), child); err != nil {
				return err
			}
			ref := metav1.GetControllerOf(child)
			if ref == nil || ref.UID != site.UID || ref.Kind != "Website" {
				return fmt.Errorf("%T %s: controller reference %v, want the Website", child, child.GetName(), ref)
			}
			return nil
		})
	}
	cm := children[2].(*corev1.ConfigMap)
	if cm.Data["index.html"] != "<h1>hello</h1>" {
		t.Errorf("configmap data = %v", cm.Data)
	}
	svc := children[1].(*corev1.Service)
	if svc.Spec.ClusterIP == "" {
		t.Errorf("service has no ClusterIP")
	}

	// The Deployment's pods are scheduled onto the simulated nodes and run; the status says so.
	poll.Until(t, 60*time.Second, "pods running", func() error {
		var pods corev1.PodList
		if err := c.List(ctx, &pods, client.InNamespace(ns), client.MatchingLabels{"app.kubernetes.io/instance": "blog"}); err != nil {
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
	poll.Until(t, 60*time.Second, "status reports the ready replicas", func() error {
		if err := c.Get(ctx, key, site); err != nil {
			return err
		}
		if site.Status.ReadyReplicas != 3 || !meta.IsStatusConditionTrue(site.Status.Conditions, "Available") {
			return fmt.Errorf("status %+v", site.Status)
		}
		return nil
	})
	if site.Status.URL != "http://blog."+ns+".svc" {
		t.Errorf("status.url = %q", site.Status.URL)
	}

	// Scaling the Website scales the Deployment.
	site.Spec.Replicas = ptr.To(int32(1))
	if err := c.Update(ctx, site); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, 60*time.Second, "status after the update", func() error {
		if err := c.Get(ctx, key, site); err != nil {
			return err
		}
		if site.Status.ObservedGeneration != site.Generation || site.Status.ReadyReplicas != 1 {
			return fmt.Errorf("status %+v (generation %d)", site.Status, site.Generation)
		}
		return nil
	})

	// Deleting the Website garbage-collects its children (and the Deployment's pods).
	if err := c.Delete(ctx, site); err != nil {
		t.Fatal(err)
	}
	for _, child := range children {
		poll.Until(t, 60*time.Second, "child garbage-collected", func() error {
			err := c.Get(ctx, client.ObjectKeyFromObject(child), child)
			if apierrors.IsNotFound(err) {
				return nil
			}
			return fmt.Errorf("%T %s still there (err %v)", child, child.GetName(), err)
		})
	}
	poll.Until(t, 60*time.Second, "website gone", func() error {
		var pods corev1.PodList
		if err := c.List(ctx, &pods, client.InNamespace(ns)); err != nil {
			return err
		}
		if len(pods.Items) != 0 {
			return fmt.Errorf("%d pods left", len(pods.Items))
		}
		return nil
	})

	// Deleting the namespace finishes, with a Website still in it.
	left := &webv1alpha1.Website{ObjectMeta: metav1.ObjectMeta{Name: "left", Namespace: ns},
		Spec: webv1alpha1.WebsiteSpec{Content: "bye"}}
	if err := c.Create(ctx, left); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, 60*time.Second, "namespace deleted", func() error {
		err := c.Get(ctx, client.ObjectKey{Name: ns}, &corev1.Namespace{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("namespace %s still there (err %v)", ns, err)
	})
}
