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

// Provider builds networking.k8s.io/v1.
type Provider struct{}

func (Provider) GroupName() string { return networkingv1.GroupName }

func (Provider) NewRESTStorage(c *registry.Context) (map[string]map[string]rest.Storage, error) {
	m := map[string]rest.Storage{}
	if err := c.AddKinds(m, IPAddressKind); err != nil {
		return nil, err
	}
	return map[string]map[string]rest.Storage{networkingv1.SchemeGroupVersion.Version: m}, nil
}
