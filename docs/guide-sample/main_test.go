package main

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	guidev1 "github.com/skiff-dev/skiff/docs/guide-sample/api/v1"
	"github.com/skiff-dev/skiff/testenv"
)

// TestGreeting is the guide's test: the controller against a whole control plane in the test
// process (testenv), with the CRD controller-gen generated.
func TestGreeting(t *testing.T) {
	env := testenv.Start(t, testenv.WithCRDs("config/crd"))

	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := guidev1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	mgr, err := ctrl.NewManager(env.Config, ctrl.Options{Scheme: scheme,
		Metrics: metricsserver.Options{BindAddress: "0"}, Controller: config.Controller{SkipNameValidation: ptr.To(true)}})
	if err != nil {
		t.Fatal(err)
	}
	if err := (&GreetingReconciler{Client: mgr.GetClient()}).SetupWithManager(mgr); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	c := mgr.GetClient()
	ns := env.Namespace(t)
	g := &guidev1.Greeting{ObjectMeta: metav1.ObjectMeta{Name: "world", Namespace: ns}, Spec: guidev1.GreetingSpec{Who: "World"}}
	if err := c.Create(ctx, g); err != nil {
		t.Fatal(err)
	}
	cm := &corev1.ConfigMap{}
	waitFor(t, func() bool {
		return c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "world-greeting"}, cm) == nil
	})
	if got := cm.Data["message"]; got != "Hello, World!" {
		t.Fatalf("message %q, want %q", got, "Hello, World!")
	}
	waitFor(t, func() bool {
		return c.Get(ctx, client.ObjectKeyFromObject(g), g) == nil && g.Status.Message == "Hello, World!"
	})

	// Deleting the Greeting deletes its ConfigMap: Skiff's garbage collector runs in testenv.
	if err := c.Delete(ctx, g); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		return apierrors.IsNotFound(c.Get(ctx, client.ObjectKeyFromObject(cm), &corev1.ConfigMap{}))
	})
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 30s")
		}
		time.Sleep(50 * time.Millisecond) // polling interval
	}
}
