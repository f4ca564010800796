package storagewrap

import (
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/registry/generic"
	"k8s.io/apiserver/pkg/storage"
	"k8s.io/apiserver/pkg/storage/storagebackend"
	"k8s.io/apiserver/pkg/storage/storagebackend/factory"
	"k8s.io/client-go/tools/cache"
)

// WrapFunc returns the storage to use in place of s, built for config under resourcePrefix.
type WrapFunc func(config *storagebackend.ConfigForResource, resourcePrefix string, s storage.Interface) storage.Interface

// Getter returns a getter whose resources' storage is wrap applied to inner's.
func Getter(inner generic.RESTOptionsGetter, wrap WrapFunc) generic.RESTOptionsGetter {
	return getter{inner: inner, wrap: wrap}
}

type getter struct {
	inner generic.RESTOptionsGetter
	wrap  WrapFunc
}

func (g getter) GetRESTOptions(resource schema.GroupResource, example runtime.Object) (generic.RESTOptions, error) {
	opts, err := g.inner.GetRESTOptions(resource, example)
	if err != nil {
		return opts, err
	}
	decorate := opts.Decorator
	if decorate == nil {
		decorate = generic.UndecoratedStorage
	}
	opts.Decorator = func(config *storagebackend.ConfigForResource, resourcePrefix string, keyFunc func(obj runtime.Object) (string, error),
		newFunc, newListFunc func() runtime.Object, getAttrs storage.AttrFunc, trigger storage.IndexerFuncs,
		indexers *cache.Indexers) (storage.Interface, factory.DestroyFunc, error) {
		s, destroy, err := decorate(config, resourcePrefix, keyFunc, newFunc, newListFunc, getAttrs, trigger, indexers)
		if err != nil {
			return s, destroy, err
		}
		return g.wrap(config, resourcePrefix, s), destroy, nil
	}
	return opts, nil
}
