package servicelb

import (
	"context"

	corev1 "k8s.io/api/core/v1"

	"github.com/skiff-dev/skiff/apis/helper"
)

// LoadBalancer is a cloud provider's load balancers, as k8s.io/cloud-provider's LoadBalancer
// interface: the controller calls it, a provider implements it.
type LoadBalancer interface {
	// GetLoadBalancer returns whether the service's load balancer exists and, if so, its status.
	GetLoadBalancer(ctx context.Context, clusterName string, service *corev1.Service) (status *corev1.LoadBalancerStatus, exists bool, err error)
	// GetLoadBalancerName returns the name of the service's load balancer.
	GetLoadBalancerName(ctx context.Context, clusterName string, service *corev1.Service) string
	// EnsureLoadBalancer creates or updates the load balancer for service over nodes and
	// returns its status. It must not modify service or nodes.
	EnsureLoadBalancer(ctx context.Context, clusterName string, service *corev1.Service, nodes []*corev1.Node) (*corev1.LoadBalancerStatus, error)
	// UpdateLoadBalancer updates the hosts behind the load balancer.
	UpdateLoadBalancer(ctx context.Context, clusterName string, service *corev1.Service, nodes []*corev1.Node) error
	// EnsureLoadBalancerDeleted deletes the load balancer if it exists; nil when it is gone.
	EnsureLoadBalancerDeleted(ctx context.Context, clusterName string, service *corev1.Service) error
}

// Local is the built-in provider: the nodes themselves are the load balancer. The ingress
// addresses are the nodes' InternalIPs (each once, sorted), ipMode VIP, so every node's proxy
// accepts traffic to them on the service's ports, as k3s's ServiceLB does.
type Local struct{}

var _ LoadBalancer = Local{}

// GetLoadBalancer reports the status as the service holds it: the local provider keeps no state.
func (Local) GetLoadBalancer(_ context.Context, _ string, svc *corev1.Service) (*corev1.LoadBalancerStatus, bool, error) {
	st := svc.Status.LoadBalancer.DeepCopy()
	return st, len(st.Ingress) > 0, nil
}

// GetLoadBalancerName is upstream's default name: "a" + the service UID without dashes, 32 chars at most.
func (Local) GetLoadBalancerName(_ context.Context, _ string, svc *corev1.Service) string {
	name := "a"
	for _, c := range string(svc.UID) {
		if c != '-' {
			name += string(c)
		}
	}
	if len(name) > 32 {
		name = name[:32]
	}
	return name
}

// EnsureLoadBalancer returns the nodes' InternalIPs as ingress.
func (Local) EnsureLoadBalancer(_ context.Context, _ string, _ *corev1.Service, nodes []*corev1.Node) (*corev1.LoadBalancerStatus, error) {
	return &corev1.LoadBalancerStatus{Ingress: nodeIngress(nodes)}, nil
}

// UpdateLoadBalancer has nothing to do: the status is recomputed by EnsureLoadBalancer.
func (Local) UpdateLoadBalancer(context.Context, string, *corev1.Service, []*corev1.Node) error {
	return nil
}

// EnsureLoadBalancerDeleted has nothing to delete.
func (Local) EnsureLoadBalancerDeleted(context.Context, string, *corev1.Service) error { return nil }

// nodeIngress is one VIP ingress per distinct InternalIP of nodes, sorted.
func nodeIngress(nodes []*corev1.Node) []corev1.LoadBalancerIngress {
	ips := helper.NodeInternalIPs(nodes)
	vip := corev1.LoadBalancerIPModeVIP
	out := make([]corev1.LoadBalancerIngress, 0, len(ips))
	for _, ip := range ips {
		m := vip
		out = append(out, corev1.LoadBalancerIngress{IP: ip, IPMode: &m})
	}
	return out
}
