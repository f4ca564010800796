package ingress

import (
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/skiff-dev/skiff/apis/helper"
)

// LoadBalancer is the status.loadBalancer.ingress of a served Ingress: one IP per distinct
// InternalIP of the Ready, not deleted nodes that serve Ingresses (helper.AnnIngressPorts),
// sorted.
func LoadBalancer(nodes []*corev1.Node) []networkingv1.IngressLoadBalancerIngress {
	var serving []*corev1.Node
	for _, n := range nodes {
		if servingNode(n) {
			serving = append(serving, n)
		}
	}
	var out []networkingv1.IngressLoadBalancerIngress
	for _, ip := range helper.NodeInternalIPs(serving) {
		out = append(out, networkingv1.IngressLoadBalancerIngress{IP: ip})
	}
	return out
}

// servingNode tells whether a node takes Ingress traffic.
func servingNode(n *corev1.Node) bool {
	_, ok := n.Annotations[helper.AnnIngressPorts]
	return ok && n.DeletionTimestamp == nil && helper.NodeReady(n)
}
