package controllermanager

import (
	"sigs.k8s.io/controller-runtime/pkg/manager"

	chaosv1alpha1 "github.com/skiff-dev/skiff/apis/chaos/v1alpha1"
	"github.com/skiff-dev/skiff/controllers"
	"github.com/skiff-dev/skiff/controllers/fault"
)

// setupFault adds the Fault controller when the cluster serves chaos.skiff.dev Faults (skiff up
// and skiff server install the CRD first); against a cluster without it the controller is left
// out instead of failing the whole manager on a kind it cannot watch.
func setupFault(mgr manager.Manager, c Config) error {
	gvk := chaosv1alpha1.GroupVersion.WithKind("Fault")
	if _, err := mgr.GetRESTMapper().RESTMapping(gvk.GroupKind(), gvk.Version); err != nil {
		mgr.GetLogger().Info("Fault controller not started: the kind is not served", "kind", gvk.String(), "err", err.Error())
		return nil
	}
	return (&fault.Reconciler{Base: controllers.Base{SkipNameValidation: c.SkipNameValidation}}).SetupWithManager(mgr)
}
