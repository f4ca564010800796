package defaults

import (
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// defaultNetworking applies upstream's networking.k8s.io/v1 defaults; false for other kinds.
// Ingresses have none.
func defaultNetworking(obj runtime.Object) bool {
	switch o := obj.(type) {
	case *networkingv1.NetworkPolicy:
		defaultNetworkPolicy(o)
	case *networkingv1.IngressClass:
		if o.Spec.Parameters != nil && o.Spec.Parameters.Scope == nil {
			o.Spec.Parameters.Scope = ptrTo(networkingv1.IngressClassParametersReferenceScopeCluster)
		}
	default:
		return false
	}
	return true
}

// defaultNetworkPolicy: ports without a protocol are TCP; a policy without policyTypes is an
// Ingress policy, and an Egress one too when it has egress rules.
func defaultNetworkPolicy(np *networkingv1.NetworkPolicy) {
	defaultPorts := func(ports []networkingv1.NetworkPolicyPort) {
		for i := range ports {
			if ports[i].Protocol == nil {
				ports[i].Protocol = ptrTo(corev1.ProtocolTCP)
			}
		}
	}
	for i := range np.Spec.Ingress {
		defaultPorts(np.Spec.Ingress[i].Ports)
	}
	for i := range np.Spec.Egress {
		defaultPorts(np.Spec.Egress[i].Ports)
	}
	if len(np.Spec.PolicyTypes) == 0 {
		np.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
		if len(np.Spec.Egress) != 0 {
			np.Spec.PolicyTypes = append(np.Spec.PolicyTypes, networkingv1.PolicyTypeEgress)
		}
	}
}
