package coordination

import (
	coordinationv1 "k8s.io/api/coordination/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/skiff-dev/skiff/apiserver/registry"
)

// LeaseKind is coordination.k8s.io/v1 leases.
var LeaseKind = &registry.Kind{GroupVersion: coordinationv1.SchemeGroupVersion, Resource: "leases", Singular: "lease", Namespaced: true,
	New: func() runtime.Object { return &coordinationv1.Lease{} }, NewList: func() runtime.Object { return &coordinationv1.LeaseList{} }}

// Provider builds coordination.k8s.io/v1.
type Provider struct{}

func (Provider) GroupName() string { return coordinationv1.GroupName }

func (Provider) NewRESTStorage(c *registry.Context) (map[string]map[string]rest.Storage, error) {
	m := map[string]rest.Storage{}
	if err := c.AddKinds(m, LeaseKind); err != nil {
		return nil, err
	}
	return map[string]map[string]rest.Storage{coordinationv1.SchemeGroupVersion.Version: m}, nil
}
