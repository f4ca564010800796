package registry

import (
	"context"
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/registry/generic"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/apiserver/pkg/storage"
	"k8s.io/client-go/tools/cache"

	"github.com/skiff-dev/skiff/apiserver/printers"
)

// Kind describes one served resource.
type Kind struct {
	GroupVersion schema.GroupVersion
	// Resource is the plural lower-case name ("pods"); Singular the singular one ("pod").
	Resource, Singular string
	Namespaced         bool
	New, NewList       func() runtime.Object
	ShortNames         []string
	Categories         []string
	// Generation makes metadata.generation start at 1 and grow with each change of the spec
	// (or, for kinds without one, of the content), as upstream does for pods, workloads and
	// EndpointSlices; other kinds leave it 0.
	Generation bool
	// Status adds a status subresource: main updates keep status, status updates keep spec.
	Status bool
	// KeepStatusOnCreate keeps a status given on create (nodes: the agent registers with it).
	KeepStatusOnCreate bool
	// AllowCreateOnUpdate lets PUT create the object (endpoints, events, leases).
	AllowCreateOnUpdate bool
	// Fields returns the selectable fields beyond metadata.name and metadata.namespace.
	Fields func(obj runtime.Object) fields.Set
	// IndexField, with IndexValue, is a selectable field the watch cache indexes and dispatches
	// watch events by, as upstream's pods by spec.nodeName: a list or watch selecting one value
	// (one node's pods) reads the index instead of filtering every object, and an event goes
	// only to the watchers of its value (issue 17: thousands of nodes each watching its pods).
	IndexField string
	IndexValue func(obj runtime.Object) string
	// Hooks run after the generic preparation.
	PrepareForCreate       func(obj runtime.Object)
	PrepareForUpdate       func(obj, old runtime.Object)
	PrepareForStatusUpdate func(obj, old runtime.Object)
	// ShouldDeleteDuringUpdate, when set, replaces the store's rule for removing an object whose
	// last finalizer an update cleared.
	ShouldDeleteDuringUpdate func(ctx context.Context, key string, obj, existing runtime.Object) bool
	// GracefulDelete, when set, decides whether a delete is graceful and fills in the grace period.
	GracefulDelete func(obj runtime.Object, options *metav1.DeleteOptions) bool
	// Validate, when set, adds the kind's own checks to apis/validation's on create (old is nil)
	// and on updates of the main resource: those that need the API server's libraries (CEL).
	Validate func(ctx context.Context, obj, old runtime.Object) field.ErrorList
	// OrphanDependents makes a delete without a propagation policy orphan the dependents
	// (batch/v1 Jobs, as upstream, for compatibility); otherwise they are deleted in background.
	OrphanDependents bool
}

// GroupResource is the kind's group and plural resource.
func (k *Kind) GroupResource() schema.GroupResource {
	return k.GroupVersion.WithResource(k.Resource).GroupResource()
}

// Storage is the REST storage of a kind: the main store and its subresources by path.
type Storage struct {
	Store *genericregistry.Store
	// Subresources maps "status", "scale", ... to their REST storage.
	Subresources map[string]rest.Storage
}

// NewStorage builds the store of a kind from the RESTOptionsGetter.
func NewStorage(scheme *runtime.Scheme, k *Kind, optsGetter generic.RESTOptionsGetter) (*Storage, error) {
	main := NewStrategy(scheme, k, false)
	gr := k.GroupResource()
	table := printers.ForResource(gr)
	if table == nil {
		table = rest.NewDefaultTableConvertor(gr)
	}
	store := &genericregistry.Store{
		NewFunc:                   k.New,
		NewListFunc:               k.NewList,
		DefaultQualifiedResource:  gr,
		SingularQualifiedResource: k.GroupVersion.WithResource(k.Singular).GroupResource(),
		PredicateFunc:             k.predicate,
		CreateStrategy:            main,
		UpdateStrategy:            main,
		DeleteStrategy:            main,
		ResetFieldsStrategy:       main,
		TableConvertor:            table,
	}
	options := &generic.StoreOptions{RESTOptions: optsGetter, AttrFunc: k.attrs}
	if k.IndexField != "" {
		options.TriggerFunc = storage.IndexerFuncs{k.IndexField: k.IndexValue}
		options.Indexers = &cache.Indexers{storage.FieldIndex(k.IndexField): func(obj any) ([]string, error) {
			o, ok := obj.(runtime.Object)
			if !ok {
				return nil, fmt.Errorf("indexing %s: %T is not an object", gr, obj)
			}
			return []string{k.IndexValue(o)}, nil
		}}
	}
	if err := store.CompleteWithOptions(options); err != nil {
		return nil, fmt.Errorf("building storage for %s: %w", gr, err)
	}
	if k.ShouldDeleteDuringUpdate != nil {
		store.ShouldDeleteDuringUpdate = k.ShouldDeleteDuringUpdate
	}
	s := &Storage{Store: store, Subresources: map[string]rest.Storage{}}
	if k.Status {
		status := *store
		st := NewStrategy(scheme, k, true)
		status.CreateStrategy, status.UpdateStrategy, status.ResetFieldsStrategy = nil, st, st
		status.DeleteStrategy = st
		s.Subresources["status"] = &StatusREST{Store: &status}
	}
	return s, nil
}

// Paths returns the storage map entries for APIGroupInfo.VersionedResourcesStorageMap.
func (s *Storage) Paths(k *Kind) map[string]rest.Storage {
	out := map[string]rest.Storage{k.Resource: &MainREST{Store: s.Store, kind: k}}
	for sub, st := range s.Subresources {
		out[k.Resource+"/"+sub] = st
	}
	return out
}

// MainREST adds short names, categories and the singular name to a store.
type MainREST struct {
	*genericregistry.Store
	kind *Kind
}

var (
	_ rest.ShortNamesProvider   = &MainREST{}
	_ rest.CategoriesProvider   = &MainREST{}
	_ rest.SingularNameProvider = &MainREST{}
)

func (r *MainREST) ShortNames() []string    { return r.kind.ShortNames }
func (r *MainREST) Categories() []string    { return r.kind.Categories }
func (r *MainREST) GetSingularName() string { return strings.ToLower(r.kind.Singular) }
