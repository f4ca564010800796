package networking

import (
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/skiff-dev/skiff/apiserver/registry"
)

// IPAddressKind is networking.k8s.io/v1 ipaddresses: one object per allocated service IP, named
// by the IP, so creating it in etcd is the allocation (atomic across API servers and restarts).
var IPAddressKind = &registry.Kind{GroupVersion: networkingv1.SchemeGroupVersion, Resource: "ipaddresses", Singular: "ipaddress",
	ShortNames: []string{"ip"},
	New:        func() runtime.Object { return &networkingv1.IPAddress{} },
	NewList:    func() runtime.Object { return &networkingv1.IPAddressList{} }}

// NetworkPolicyKind is networking.k8s.io/v1 networkpolicies (`netpol`). Stored and validated as
// upstream; nothing enforces them yet.
var NetworkPolicyKind = &registry.Kind{GroupVersion: networkingv1.SchemeGroupVersion, Resource: "networkpolicies", Singular: "networkpolicy",
	Namespaced: true, ShortNames: []string{"netpol"}, Generation: true,
	New:     func() runtime.Object { return &networkingv1.NetworkPolicy{} },
	NewList: func() runtime.Object { return &networkingv1.NetworkPolicyList{} }}

// IngressKind is networking.k8s.io/v1 ingresses (`ing`, `status`). Admission's
// DefaultIngressClass gives a new one without a class the default IngressClass. No controller
// serves them yet.
var IngressKind = &registry.Kind{GroupVersion: networkingv1.SchemeGroupVersion, Resource: "ingresses", Singular: "ingress",
	Namespaced: true, ShortNames: []string{"ing"}, Generation: true, Status: true,
	New:     func() runtime.Object { return &networkingv1.Ingress{} },
	NewList: func() runtime.Object { return &networkingv1.IngressList{} }}

// IngressClassKind is networking.k8s.io/v1 ingressclasses, cluster-scoped.
var IngressClassKind = &registry.Kind{GroupVersion: networkingv1.SchemeGroupVersion, Resource: "ingressclasses", Singular: "ingressclass",
	Generation: true,
	New:        func() runtime.Object { return &networkingv1.IngressClass{} },
	NewList:    func() runtime.Object { return &networkingv1.IngressClassList{} }}

// Provider builds networking.k8s.io/v1.
type Provider struct{}

func (Provider) GroupName() string { return networkingv1.GroupName }

func (Provider) NewRESTStorage(c *registry.Context) (map[string]map[string]rest.Storage, error) {
	m := map[string]rest.Storage{}
	// Upstream's discovery order.
	if err := c.AddKinds(m, NetworkPolicyKind, IngressKind, IngressClassKind, IPAddressKind); err != nil {
		return nil, err
	}
	return map[string]map[string]rest.Storage{networkingv1.SchemeGroupVersion.Version: m}, nil
}
