package registry

import (
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apiserver/pkg/registry/generic"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/registry/rest"
	genericapiserver "k8s.io/apiserver/pkg/server"
)

// RESTStorageProvider builds the storage of one API group, as kube-apiserver's providers do.
// Each group's package (registry/core, registry/apps, ...) has one, configured with what its
// group needs; the server lists them in installation (discovery) order.
type RESTStorageProvider interface {
	// GroupName is the API group ("" for the legacy core group).
	GroupName() string
	// NewRESTStorage builds the group's storage, by version then path ("pods", "pods/status").
	// An empty map leaves the group out.
	NewRESTStorage(c *Context) (map[string]map[string]rest.Storage, error)
}

// Context is what providers build storage with. Stores grows as providers run, so a provider
// sees the stores of the providers before it; a store of a later group is reached with StoreFunc.
type Context struct {
	Scheme            *runtime.Scheme
	Codecs            serializer.CodecFactory
	RESTOptionsGetter generic.RESTOptionsGetter
	// Stores gives each kind's storage by group resource, for code that needs the store itself.
	Stores map[schema.GroupResource]*Storage
	// required are the stores reached through StoreFunc, checked once every provider ran.
	required []required
}

type required struct {
	gr schema.GroupResource
	by string
}

// NewStorage builds the store of k (and its status subresource) and records it in Stores.
func (c *Context) NewStorage(k *Kind) (*Storage, error) {
	st, err := NewStorage(c.Scheme, k, c.RESTOptionsGetter)
	if err != nil {
		return nil, err
	}
	c.Stores[k.GroupResource()] = st
	return st, nil
}

// AddKinds builds the plain stores of kinds into m (the storage map of their version).
func (c *Context) AddKinds(m map[string]rest.Storage, kinds ...*Kind) error {
	for _, k := range kinds {
		st, err := c.NewStorage(k)
		if err != nil {
			return err
		}
		for path, s := range st.Paths(k) {
			m[path] = s
		}
	}
	return nil
}

// StoreFunc returns the store of gr when called; Build fails when no provider built it. by names
// the user in that error.
func (c *Context) StoreFunc(gr schema.GroupResource, by string) func() *genericregistry.Store {
	c.required = append(c.required, required{gr: gr, by: by})
	return func() *genericregistry.Store { return c.Stores[gr].Store }
}

// Groups is the result of building all storage: the API groups to install, legacy core first.
type Groups struct {
	Legacy *genericapiserver.APIGroupInfo
	Named  []*genericapiserver.APIGroupInfo
	// Stores gives each kind's storage by group resource, for code that needs the store itself.
	Stores map[schema.GroupResource]*Storage
}

// Build runs the providers in order and groups their storage for installation; the order of
// providers is the order of the groups in discovery.
func Build(scheme *runtime.Scheme, codecs serializer.CodecFactory, optsGetter generic.RESTOptionsGetter, providers ...RESTStorageProvider) (*Groups, error) {
	c := &Context{Scheme: scheme, Codecs: codecs, RESTOptionsGetter: optsGetter, Stores: map[schema.GroupResource]*Storage{}}
	out := &Groups{Stores: c.Stores}
	for _, p := range providers {
		storage, err := p.NewRESTStorage(c)
		if err != nil {
			return nil, err
		}
		if len(storage) == 0 {
			continue
		}
		info := genericapiserver.NewDefaultAPIGroupInfo(p.GroupName(), scheme, runtime.NewParameterCodec(scheme), codecs)
		info.VersionedResourcesStorageMap = storage
		if p.GroupName() == "" {
			out.Legacy = &info
			continue
		}
		out.Named = append(out.Named, &info)
	}
	for _, r := range c.required {
		if _, ok := c.Stores[r.gr]; !ok {
			return nil, fmt.Errorf("%s needs the storage of %s, which no group built", r.by, r.gr)
		}
	}
	if out.Legacy == nil {
		return nil, fmt.Errorf("no core group built")
	}
	return out, nil
}
