package servicelb

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/skiff-dev/skiff/apis/helper"
	"github.com/skiff-dev/skiff/controllers"
)

const (
	// ControllerName is the events' source, as upstream's service controller.
	ControllerName = "service-controller"
	// Finalizer is upstream's LoadBalancerCleanupFinalizer.
	Finalizer = "service.kubernetes.io/load-balancer-cleanup"
	// ExcludeLabel is upstream's label that keeps a node out of load balancers.
	ExcludeLabel = "node.kubernetes.io/exclude-from-external-load-balancers"
	// DefaultClusterName is kube-controller-manager's --cluster-name default.
	DefaultClusterName = "kubernetes"
)

// Controller keeps the load balancers of type LoadBalancer Services without a loadBalancerClass.
type Controller struct {
	controllers.Base
	// Provider is the cloud's load balancers; nil is the built-in Local provider.
	Provider LoadBalancer
	// ClusterName is passed to the provider (default "kubernetes").
	ClusterName string

	mu     sync.Mutex
	synced map[types.UID]string // what the load balancer was last ensured for
}

// SetupWithManager registers the controller with mgr.
func (c *Controller) SetupWithManager(mgr manager.Manager) error {
	opts := c.Complete(mgr, ControllerName)
	if c.Provider == nil {
		c.Provider = Local{}
	}
	if c.ClusterName == "" {
		c.ClusterName = DefaultClusterName
	}
	c.synced = map[types.UID]string{}
	return ctrl.ControllerManagedBy(mgr).
		Named("servicelb").
		For(&corev1.Service{}).
		// Node changes may change every load balancer's hosts.
		Watches(&corev1.Node{}, handler.EnqueueRequestsFromMapFunc(c.allLoadBalancers)).
		WithOptions(opts).
		Complete(c)
}

func (c *Controller) allLoadBalancers(ctx context.Context, _ client.Object) []reconcile.Request {
	var list corev1.ServiceList
	if err := c.Client.List(ctx, &list); err != nil {
		return nil
	}
	var out []reconcile.Request
	for i := range list.Items {
		if s := &list.Items[i]; s.Spec.Type == corev1.ServiceTypeLoadBalancer || controllerutil.ContainsFinalizer(s, Finalizer) {
			out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(s)})
		}
	}
	return out
}

// ours tells whether svc should have a load balancer from this controller (upstream's
// wantsLoadBalancer: type LoadBalancer and no loadBalancerClass).
func ours(svc *corev1.Service) bool {
	return svc.Spec.Type == corev1.ServiceTypeLoadBalancer && svc.Spec.LoadBalancerClass == nil
}

// Reconcile ensures or deletes one service's load balancer.
func (c *Controller) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	log := klog.FromContext(ctx).WithValues("service", req.NamespacedName)
	ctx = klog.NewContext(ctx, log)
	var svc corev1.Service
	if err := c.Client.Get(ctx, req.NamespacedName, &svc); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	if ours(&svc) && svc.DeletionTimestamp == nil {
		return reconcile.Result{}, c.ensure(ctx, &svc)
	}
	if !controllerutil.ContainsFinalizer(&svc, Finalizer) {
		c.forget(svc.UID)
		return reconcile.Result{}, nil
	}
	return reconcile.Result{}, c.cleanup(ctx, &svc)
}

func (c *Controller) forget(uid types.UID) {
	c.mu.Lock()
	delete(c.synced, uid)
	c.mu.Unlock()
}

// ensure adds the finalizer, calls the provider when the service or its hosts changed, and
// writes the status.
func (c *Controller) ensure(ctx context.Context, svc *corev1.Service) error {
	if !controllerutil.ContainsFinalizer(svc, Finalizer) {
		patch := client.MergeFrom(svc.DeepCopy())
		controllerutil.AddFinalizer(svc, Finalizer)
		if err := c.Client.Patch(ctx, svc, patch); err != nil {
			return fmt.Errorf("adding the load balancer finalizer: %w", err)
		}
	}
	nodes, err := c.nodes(ctx)
	if err != nil {
		return err
	}
	c.mu.Lock()
	same := c.synced[svc.UID] == syncKey(svc, nodes)
	c.mu.Unlock()
	if same {
		return nil
	}
	if len(nodes) == 0 {
		c.Recorder.Event(svc, corev1.EventTypeWarning, "UnAvailableLoadBalancer", "There are no available nodes for LoadBalancer")
	}
	c.Recorder.Event(svc, corev1.EventTypeNormal, "EnsuringLoadBalancer", "Ensuring load balancer")
	status, err := c.Provider.EnsureLoadBalancer(ctx, c.ClusterName, svc, nodes)
	if err != nil {
		c.Recorder.Eventf(svc, corev1.EventTypeWarning, "SyncLoadBalancerFailed", "Error syncing load balancer: %v", err)
		return fmt.Errorf("ensuring the load balancer: %w", err)
	}
	if status == nil {
		status = &corev1.LoadBalancerStatus{}
	}
	if err := c.writeStatus(ctx, svc, *status); err != nil {
		return err
	}
	c.Recorder.Event(svc, corev1.EventTypeNormal, "EnsuredLoadBalancer", "Ensured load balancer")
	c.mu.Lock()
	c.synced[svc.UID] = syncKey(svc, nodes)
	c.mu.Unlock()
	return nil
}

// cleanup deletes the load balancer of a service that no longer wants one, clears its status
// and removes the finalizer.
func (c *Controller) cleanup(ctx context.Context, svc *corev1.Service) error {
	c.Recorder.Event(svc, corev1.EventTypeNormal, "DeletingLoadBalancer", "Deleting load balancer")
	if err := c.Provider.EnsureLoadBalancerDeleted(ctx, c.ClusterName, svc); err != nil {
		c.Recorder.Eventf(svc, corev1.EventTypeWarning, "SyncLoadBalancerFailed", "Error deleting load balancer: %v", err)
		return fmt.Errorf("deleting the load balancer: %w", err)
	}
	if svc.DeletionTimestamp == nil {
		if err := c.writeStatus(ctx, svc, corev1.LoadBalancerStatus{}); err != nil {
			return err
		}
	}
	patch := client.MergeFrom(svc.DeepCopy())
	controllerutil.RemoveFinalizer(svc, Finalizer)
	if err := c.Client.Patch(ctx, svc, patch); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("removing the load balancer finalizer: %w", err)
	}
	c.Recorder.Event(svc, corev1.EventTypeNormal, "DeletedLoadBalancer", "Deleted load balancer")
	c.forget(svc.UID)
	return nil
}

func (c *Controller) writeStatus(ctx context.Context, svc *corev1.Service, status corev1.LoadBalancerStatus) error {
	if apiequality.Semantic.DeepEqual(svc.Status.LoadBalancer, status) {
		return nil
	}
	patch := client.MergeFromWithOptions(svc.DeepCopy(), client.MergeFromWithOptimisticLock{})
	svc.Status.LoadBalancer = status
	if err := c.Client.Status().Patch(ctx, svc, patch); err != nil {
		return fmt.Errorf("writing the load balancer status: %w", err)
	}
	return nil
}

// nodes are the load balancer's hosts: Ready nodes without the exclusion label.
func (c *Controller) nodes(ctx context.Context) ([]*corev1.Node, error) {
	var list corev1.NodeList
	if err := c.Client.List(ctx, &list); err != nil {
		return nil, fmt.Errorf("listing nodes: %w", err)
	}
	var out []*corev1.Node
	for i := range list.Items {
		n := &list.Items[i]
		if _, excluded := n.Labels[ExcludeLabel]; excluded || n.DeletionTimestamp != nil || !helper.NodeReady(n) {
			continue
		}
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// syncKey summarizes what the load balancer depends on: the spec and the hosts' addresses.
func syncKey(svc *corev1.Service, nodes []*corev1.Node) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s|%v|", svc.Spec.ExternalTrafficPolicy, svc.Spec.LoadBalancerSourceRanges)
	for _, p := range svc.Spec.Ports {
		fmt.Fprintf(&b, "%s/%s/%d/%d;", p.Name, p.Protocol, p.Port, p.NodePort)
	}
	for _, n := range nodes {
		fmt.Fprintf(&b, "%s=", n.Name)
		for _, a := range n.Status.Addresses {
			fmt.Fprintf(&b, "%s:%s,", a.Type, a.Address)
		}
	}
	// The status is part of it too: a status someone else changed is written back.
	for _, in := range svc.Status.LoadBalancer.Ingress {
		mode := ""
		if in.IPMode != nil {
			mode = string(*in.IPMode)
		}
		fmt.Fprintf(&b, "|%s/%s/%s", in.IP, in.Hostname, mode)
	}
	return b.String()
}
