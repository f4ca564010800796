package discovery

import (
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/skiff-dev/skiff/apiserver/registry"
)

// EndpointSliceKind is discovery.k8s.io/v1 endpointslices; generation tracks content and labels.
var EndpointSliceKind = &registry.Kind{GroupVersion: discoveryv1.SchemeGroupVersion, Resource: "endpointslices", Singular: "endpointslice", Namespaced: true, Generation: true,
	New: func() runtime.Object { return &discoveryv1.EndpointSlice{} }, NewList: func() runtime.Object { return &discoveryv1.EndpointSliceList{} }}

// Provider builds discovery.k8s.io/v1.
type Provider struct{}

func (Provider) GroupName() string { return discoveryv1.GroupName }

func (Provider) NewRESTStorage(c *registry.Context) (map[string]map[string]rest.Storage, error) {
	m := map[string]rest.Storage{}
	if err := c.AddKinds(m, EndpointSliceKind); err != nil {
		return nil, err
	}
	return map[string]map[string]rest.Storage{discoveryv1.SchemeGroupVersion.Version: m}, nil
}
