package ingress

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/skiff-dev/skiff/apis/helper"
	"github.com/skiff-dev/skiff/controllers"
)

// ControllerName is the controller's name (its role is system:controller:<name>).
const ControllerName = "skiff-ingress-status-controller"

// Controller writes the load balancer status of the Ingresses Skiff's node agents serve.
type Controller struct {
	controllers.Base
	// ClassController is the spec.controller of the classes served (default helper.IngressController).
	ClassController string
}

// SetupWithManager registers the controller with mgr.
func (c *Controller) SetupWithManager(mgr manager.Manager) error {
	opts := c.Complete(mgr, ControllerName)
	if c.ClassController == "" {
		c.ClassController = helper.IngressController
	}
	return ctrl.ControllerManagedBy(mgr).
		Named("ingress-status").
		For(&networkingv1.Ingress{}).
		// A node that starts or stops serving changes every served Ingress's status; heartbeats
		// that change nothing of that are filtered out.
		Watches(&corev1.Node{}, handler.EnqueueRequestsFromMapFunc(c.allIngresses), ctrl.WithPredicates(predicate.Funcs{
			UpdateFunc: func(e event.UpdateEvent) bool { return nodeKey(e.ObjectOld) != nodeKey(e.ObjectNew) },
		})).
		Watches(&networkingv1.IngressClass{}, handler.EnqueueRequestsFromMapFunc(c.allIngresses)).
		WithOptions(opts).
		Complete(c)
}

// nodeKey is what of a node the status depends on.
func nodeKey(o client.Object) string {
	n, ok := o.(*corev1.Node)
	if !ok {
		return ""
	}
	return fmt.Sprint(servingNode(n), helper.NodeInternalIPs([]*corev1.Node{n}))
}

func (c *Controller) allIngresses(ctx context.Context, _ client.Object) []reconcile.Request {
	var list networkingv1.IngressList
	if err := c.Client.List(ctx, &list); err != nil {
		return nil
	}
	return controllers.RequestsFor(list.Items)
}

// Reconcile writes one Ingress's status.loadBalancer when it is served and out of date.
func (c *Controller) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	log := klog.FromContext(ctx).WithValues("ingress", req.NamespacedName)
	var ing networkingv1.Ingress
	if err := c.Client.Get(ctx, req.NamespacedName, &ing); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	var classList networkingv1.IngressClassList
	if err := c.Client.List(ctx, &classList); err != nil {
		return reconcile.Result{}, fmt.Errorf("listing ingress classes: %w", err)
	}
	classes := make([]*networkingv1.IngressClass, len(classList.Items))
	for i := range classList.Items {
		classes[i] = &classList.Items[i]
	}
	if !helper.IngressServedBy(&ing, classes, c.ClassController) || ing.DeletionTimestamp != nil {
		return reconcile.Result{}, nil
	}
	var nodeList corev1.NodeList
	if err := c.Client.List(ctx, &nodeList); err != nil {
		return reconcile.Result{}, fmt.Errorf("listing nodes: %w", err)
	}
	nodes := make([]*corev1.Node, len(nodeList.Items))
	for i := range nodeList.Items {
		nodes[i] = &nodeList.Items[i]
	}
	want := LoadBalancer(nodes)
	if (len(want) == 0 && len(ing.Status.LoadBalancer.Ingress) == 0) || apiequality.Semantic.DeepEqual(want, ing.Status.LoadBalancer.Ingress) {
		return reconcile.Result{}, nil
	}
	patch := client.MergeFrom(ing.DeepCopy())
	ing.Status.LoadBalancer.Ingress = want
	if err := c.Client.Status().Patch(ctx, &ing, patch); err != nil {
		return reconcile.Result{}, fmt.Errorf("writing the ingress's load balancer status: %w", err)
	}
	log.V(2).Info("Ingress load balancer status written", "ingress", want)
	return reconcile.Result{}, nil
}
