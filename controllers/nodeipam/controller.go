package nodeipam

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/skiff-dev/skiff/controllers"
	"github.com/skiff-dev/skiff/controllers/nodeipam/cidrset"
)

const (
	// EventSource is upstream's range allocator's event source component.
	EventSource = "cidrAllocator"
	// ReasonCIDRNotAvailable is the event reason when the cluster CIDR has no free subnet.
	ReasonCIDRNotAvailable = "CIDRNotAvailable"
	// ReasonCIDRAssignmentFailed is the event reason when writing the podCIDRs failed.
	ReasonCIDRAssignmentFailed = "CIDRAssignmentFailed"
	// DefaultRetryPeriod is how soon a node that found the range full is tried again.
	DefaultRetryPeriod = 10 * time.Second
)

// serviceHolder holds the service range's subnets; no node can be named so (names have no '/').
const serviceHolder = "/service-cluster-ip-range"

// Controller gives Nodes their podCIDRs.
type Controller struct {
	controllers.Base
	Config Config
	// RetryPeriod is how soon a node that found the range full is tried again (DefaultRetryPeriod).
	RetryPeriod time.Duration

	mu          sync.Mutex
	sets        []*cidrset.Set
	held        map[string][]netip.Prefix // node name: the CIDRs it has, or that are reserved for it
	initialized bool
}

// SetupWithManager registers the controller with mgr; it does nothing when
// Config.AllocateNodeCIDRs is off.
func (c *Controller) SetupWithManager(mgr manager.Manager) error {
	if !c.Config.AllocateNodeCIDRs {
		return nil
	}
	if _, err := c.Config.newSets(); err != nil {
		return err
	}
	if _, err := parseCIDRs("--service-cluster-ip-range", c.Config.ServiceCIDR); err != nil {
		return err
	}
	if c.RetryPeriod <= 0 {
		c.RetryPeriod = DefaultRetryPeriod
	}
	opts := c.Complete(mgr, EventSource)
	return builder.ControllerManagedBy(mgr).
		Named("nodeipam").
		For(&corev1.Node{}, builder.WithPredicates(predicate.Funcs{UpdateFunc: podCIDRsMayMatter})).
		WithOptions(opts).
		Complete(c)
}

// podCIDRsMayMatter lets through the updates of a node that has no podCIDR or whose podCIDRs
// changed; status updates of allocated nodes are skipped.
func podCIDRsMayMatter(e event.UpdateEvent) bool {
	o, okO := e.ObjectOld.(*corev1.Node)
	n, okN := e.ObjectNew.(*corev1.Node)
	if !okO || !okN {
		return true
	}
	return len(podCIDRs(n)) == 0 || !slices.Equal(podCIDRs(o), podCIDRs(n))
}

// podCIDRs is spec.podCIDRs, or spec.podCIDR alone when the list is empty.
func podCIDRs(n *corev1.Node) []string {
	if len(n.Spec.PodCIDRs) == 0 && n.Spec.PodCIDR != "" {
		return []string{n.Spec.PodCIDR}
	}
	return n.Spec.PodCIDRs
}

// Reconcile occupies a node's podCIDRs, allocates them to a node without, or frees a deleted
// node's.
func (c *Controller) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	log := klog.FromContext(ctx) // controller-runtime names the Node already
	var node corev1.Node
	getErr := c.Client.Get(ctx, req.NamespacedName, &node)
	if getErr != nil && !apierrors.IsNotFound(getErr) {
		return reconcile.Result{}, getErr
	}
	c.mu.Lock()
	if err := c.initLocked(ctx); err != nil {
		c.mu.Unlock()
		return reconcile.Result{}, err
	}
	if getErr != nil {
		if freed := c.releaseLocked(req.Name); len(freed) > 0 {
			log.V(2).Info("Released the pod CIDRs of a deleted node", "podCIDRs", freed)
		}
		c.mu.Unlock()
		return reconcile.Result{}, nil
	}
	if cidrs := podCIDRs(&node); len(cidrs) > 0 {
		c.holdLocked(log, node.Name, cidrs)
		c.mu.Unlock()
		return reconcile.Result{}, nil
	}
	reserved := c.held[node.Name]
	if len(reserved) == 0 {
		var err error
		if reserved, err = c.allocateLocked(); err != nil {
			c.mu.Unlock()
			// Upstream's RecordNodeStatusChange.
			c.Recorder.Eventf(&node, corev1.EventTypeNormal, ReasonCIDRNotAvailable, "Node %s status is now: %s", node.Name, ReasonCIDRNotAvailable)
			log.Info("No pod CIDR available for the node", "clusterCIDR", c.Config.ClusterCIDR, "err", err.Error())
			return reconcile.Result{RequeueAfter: c.RetryPeriod}, nil
		}
		c.held[node.Name] = reserved
	}
	c.mu.Unlock()

	// The reservation stays while the write is retried: the next reconcile writes the same
	// subnets, or frees them for podCIDRs someone else set meanwhile.
	patch := client.MergeFrom(node.DeepCopy())
	node.Spec.PodCIDRs = prefixStrings(reserved)
	node.Spec.PodCIDR = node.Spec.PodCIDRs[0]
	if err := c.Client.Patch(ctx, &node, patch); err != nil {
		if apierrors.IsNotFound(err) {
			return reconcile.Result{}, nil // the delete frees the reservation
		}
		if !apierrors.IsConflict(err) && !apierrors.IsInvalid(err) {
			c.Recorder.Eventf(&node, corev1.EventTypeNormal, ReasonCIDRAssignmentFailed, "Node %s status is now: %s", node.Name, ReasonCIDRAssignmentFailed)
		}
		return reconcile.Result{}, fmt.Errorf("setting the podCIDRs of node %s: %w", node.Name, err)
	}
	log.Info("Set node PodCIDR", "podCIDRs", node.Spec.PodCIDRs)
	return reconcile.Result{}, nil
}

// initLocked builds the sets from every node's podCIDRs (and the service range) before the
// first allocation: the Nodes are the state, so a restarted or newly elected controller
// continues where the last one stopped.
func (c *Controller) initLocked(ctx context.Context) error {
	if c.initialized {
		return nil
	}
	sets, err := c.Config.newSets()
	if err != nil {
		return err
	}
	var nodes corev1.NodeList
	if err := c.Client.List(ctx, &nodes); err != nil {
		return fmt.Errorf("listing nodes: %w", err)
	}
	c.sets, c.held = sets, map[string][]netip.Prefix{}
	log := klog.FromContext(ctx)
	c.occupyServiceRange()
	for i := range nodes.Items {
		if n := &nodes.Items[i]; len(podCIDRs(n)) > 0 {
			c.holdLocked(log.WithValues("node", n.Name), n.Name, podCIDRs(n))
		}
	}
	c.initialized = true
	used := 0
	for _, s := range c.sets {
		used += s.Used()
	}
	log.Info("Node CIDR allocator started", "clusterCIDR", c.Config.ClusterCIDR, "nodes", len(nodes.Items), "subnetsInUse", used)
	return nil
}

// occupyServiceRange keeps the service range, where it overlaps a cluster CIDR, out of the
// allocations, as upstream's filterOutServiceRange.
func (c *Controller) occupyServiceRange() {
	services, _ := parseCIDRs("--service-cluster-ip-range", c.Config.ServiceCIDR)
	for _, s := range services {
		if c.occupy(s) {
			c.held[serviceHolder] = append(c.held[serviceHolder], s)
		}
	}
}

// holdLocked records a node's own podCIDRs as used, freeing what was held for it before if
// that differs. CIDRs outside the cluster CIDR are ignored, as upstream does.
func (c *Controller) holdLocked(log klog.Logger, name string, cidrs []string) {
	var ps []netip.Prefix
	for _, s := range cidrs {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			log.Info("Ignoring a podCIDR that is not a CIDR", "podCIDR", s)
			continue
		}
		ps = append(ps, p.Masked())
	}
	if old, ok := c.held[name]; ok && slices.Equal(old, ps) {
		return
	}
	c.releaseLocked(name)
	for _, p := range ps {
		if !c.occupy(p) {
			log.V(2).Info("Node podCIDR is outside the cluster CIDR, ignored", "podCIDR", p, "clusterCIDR", c.Config.ClusterCIDR)
		}
	}
	c.held[name] = ps
}

// occupy marks p used in the set of its family; false when it is outside the cluster CIDRs.
func (c *Controller) occupy(p netip.Prefix) bool {
	for _, s := range c.sets {
		if s.Occupy(p) == nil {
			return true
		}
	}
	return false
}

// releaseLocked frees what is held for name; subnets another holder still overlaps stay used
// (two nodes given the same --pod-cidr by hand).
func (c *Controller) releaseLocked(name string) []netip.Prefix {
	freed, ok := c.held[name]
	if !ok {
		return nil
	}
	delete(c.held, name)
	for _, p := range freed {
		for _, s := range c.sets {
			_ = s.Release(p)
		}
		for _, ps := range c.held {
			for _, q := range ps {
				if q.Overlaps(p) {
					c.occupy(q)
				}
			}
		}
	}
	return freed
}

// allocateLocked takes one subnet of each cluster CIDR, all or none.
func (c *Controller) allocateLocked() ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range c.sets {
		p, err := s.AllocateNext()
		if err != nil {
			for i, q := range out {
				_ = c.sets[i].Release(q)
			}
			return nil, fmt.Errorf("allocating a /%d of %v: %w", s.SubnetMaskSize(), s.Cluster(), err)
		}
		out = append(out, p)
	}
	return out, nil
}

func prefixStrings(ps []netip.Prefix) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return out
}
