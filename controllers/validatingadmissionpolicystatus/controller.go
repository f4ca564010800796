package validatingadmissionpolicystatus

import (
	"context"
	"fmt"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apiserver/pkg/admission/plugin/policy/validating"
	"k8s.io/apiserver/pkg/cel/openapi/resolver"
	"k8s.io/client-go/discovery"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/manager"
)

// Name is the controller's name, upstream's.
const Name = "validatingadmissionpolicy-status"

// Controller writes the type-checking status of ValidatingAdmissionPolicies.
type Controller struct {
	// SkipNameValidation lets several managers run in one process (tests).
	SkipNameValidation bool

	client  client.Client
	checker *validating.TypeChecker
}

// SetupWithManager adds the controller to mgr.
func (c *Controller) SetupWithManager(mgr manager.Manager) error {
	disc, err := discovery.NewDiscoveryClientForConfig(mgr.GetConfig())
	if err != nil {
		return fmt.Errorf("discovery client: %w", err)
	}
	c.client = mgr.GetClient()
	c.checker = &validating.TypeChecker{SchemaResolver: &resolver.ClientDiscoveryResolver{Discovery: disc}, RestMapper: mgr.GetRESTMapper()}
	skip := c.SkipNameValidation
	return ctrl.NewControllerManagedBy(mgr).
		Named(Name).
		For(&admissionregistrationv1.ValidatingAdmissionPolicy{}).
		WithOptions(controller.Options{SkipNameValidation: &skip}).
		Complete(c)
}

// Reconcile type-checks a policy whose generation has not been checked yet.
func (c *Controller) Reconcile(ctx context.Context, r ctrl.Request) (ctrl.Result, error) {
	policy := &admissionregistrationv1.ValidatingAdmissionPolicy{}
	if err := c.client.Get(ctx, r.NamespacedName, policy); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if policy.Generation <= policy.Status.ObservedGeneration {
		return ctrl.Result{}, nil
	}
	policy.Status.ObservedGeneration = policy.Generation
	policy.Status.TypeChecking = &admissionregistrationv1.TypeChecking{ExpressionWarnings: c.checker.Check(policy)}
	if err := c.client.Status().Update(ctx, policy); err != nil {
		// A conflict is retried (the controller requeues on error); a deleted policy is done.
		return ctrl.Result{}, client.IgnoreNotFound(fmt.Errorf("writing the type-checking status: %w", err))
	}
	return ctrl.Result{}, nil
}
