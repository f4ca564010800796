// Command manager runs the Website operator as it is deployed in a cluster: the Website
// controller and its webhooks (mutating, validating, conversion) on controller-runtime's webhook
// server, whose TLS certificate comes from a directory (a mounted kubernetes.io/tls Secret).
package main

import (
	"flag"
	"os"

	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	webv1alpha1 "github.com/skiff-dev/skiff/test/operator/api/v1alpha1"
	webv1beta1 "github.com/skiff-dev/skiff/test/operator/api/v1beta1"
	"github.com/skiff-dev/skiff/test/operator/internal/controller"
	websitewebhook "github.com/skiff-dev/skiff/test/operator/internal/webhook"
)

func main() {
	certDir := flag.String("cert-dir", "/tls", "Directory with the webhook server's tls.crt and tls.key.")
	port := flag.Int("webhook-port", 9443, "Port of the webhook server.")
	flag.Parse()
	ctrl.SetLogger(zap.New())
	log := ctrl.Log.WithName("manager")

	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, webv1alpha1.AddToScheme, webv1beta1.AddToScheme} {
		if err := add(scheme); err != nil {
			log.Error(err, "Scheme")
			os.Exit(1)
		}
	}
	mgr, err := ctrl.NewManager(ctrl.GetConfigOrDie(), ctrl.Options{
		Scheme:        scheme,
		Metrics:       metricsserver.Options{BindAddress: "0"},
		WebhookServer: webhook.NewServer(webhook.Options{Port: *port, CertDir: *certDir}),
	})
	if err != nil {
		log.Error(err, "Manager")
		os.Exit(1)
	}
	if err := (&controller.WebsiteReconciler{Client: mgr.GetClient()}).SetupWithManager(mgr); err != nil {
		log.Error(err, "Controller")
		os.Exit(1)
	}
	if err := websitewebhook.Setup(mgr); err != nil {
		log.Error(err, "Webhooks")
		os.Exit(1)
	}
	if err := mgr.Start(ctrl.SetupSignalHandler()); err != nil {
		log.Error(err, "Manager stopped")
		os.Exit(1)
	}
}
