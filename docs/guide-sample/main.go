// Command guide-sample is the controller of docs/extending.md: each Greeting gets a ConfigMap
// with its message, owned by the Greeting, and the message in its status.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	guidev1 "github.com/skiff-dev/skiff/docs/guide-sample/api/v1"
)

// GreetingReconciler writes each Greeting's ConfigMap and status.
type GreetingReconciler struct {
	client.Client
}

// Reconcile makes the Greeting's ConfigMap hold "<salutation>, <who>!" and records it.
func (r *GreetingReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var g guidev1.Greeting
	if err := r.Get(ctx, req.NamespacedName, &g); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	salutation := g.Spec.Salutation
	if salutation == "" {
		salutation = "Hello"
	}
	message := fmt.Sprintf("%s, %s!", salutation, g.Spec.Who)
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: g.Name + "-greeting", Namespace: g.Namespace}}
	if _, err := controllerutil.CreateOrUpdate(ctx, r.Client, cm, func() error {
		cm.Data = map[string]string{"message": message}
		// The Greeting owns its ConfigMap: deleting it deletes the ConfigMap (garbage collection).
		return controllerutil.SetControllerReference(&g, cm, r.Scheme())
	}); err != nil {
		return ctrl.Result{}, fmt.Errorf("configmap: %w", err)
	}
	if g.Status.Message != message || g.Status.ConfigMap != cm.Name {
		g.Status.Message, g.Status.ConfigMap = message, cm.Name
		if err := r.Status().Update(ctx, &g); err != nil {
			return ctrl.Result{}, fmt.Errorf("status: %w", err)
		}
	}
	return ctrl.Result{}, nil
}

// SetupWithManager watches Greetings and the ConfigMaps they own.
func (r *GreetingReconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).For(&guidev1.Greeting{}).Owns(&corev1.ConfigMap{}).Complete(r)
}

func main() {
	klog.InitFlags(nil)
	flag.Parse() // --kubeconfig is registered by controller-runtime; KUBECONFIG works too
	ctrl.SetLogger(klog.NewKlogr())
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run() error {
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return err
	}
	if err := guidev1.AddToScheme(scheme); err != nil {
		return err
	}
	cfg, err := ctrl.GetConfig()
	if err != nil {
		return fmt.Errorf("kubeconfig: %w", err)
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{Scheme: scheme, Metrics: metricsserver.Options{BindAddress: "0"}})
	if err != nil {
		return err
	}
	if err := (&GreetingReconciler{Client: mgr.GetClient()}).SetupWithManager(mgr); err != nil {
		return err
	}
	fmt.Println("Greeting controller running")
	return mgr.Start(ctrl.SetupSignalHandler())
}
