package node

import (
	nodev1 "k8s.io/api/node/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/skiff-dev/skiff/apiserver/registry"
)

// RuntimeClassKind is node.k8s.io/v1 runtimeclasses (cluster-scoped; PUT may create, as
// upstream's strategy allows).
var RuntimeClassKind = &registry.Kind{GroupVersion: nodev1.SchemeGroupVersion, Resource: "runtimeclasses", Singular: "runtimeclass",
	AllowCreateOnUpdate: true,
	New:                 func() runtime.Object { return &nodev1.RuntimeClass{} },
	NewList:             func() runtime.Object { return &nodev1.RuntimeClassList{} }}

// Provider builds node.k8s.io/v1.
type Provider struct{}

func (Provider) GroupName() string { return nodev1.GroupName }

func (Provider) NewRESTStorage(c *registry.Context) (map[string]map[string]rest.Storage, error) {
	m := map[string]rest.Storage{}
	if err := c.AddKinds(m, RuntimeClassKind); err != nil {
		return nil, err
	}
	return map[string]map[string]rest.Storage{nodev1.SchemeGroupVersion.Version: m}, nil
}
