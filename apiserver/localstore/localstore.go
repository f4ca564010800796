package localstore

import (
	"fmt"
	"reflect"
	"regexp"
	goruntime "runtime"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/kubernetes"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	genericfeatures "k8s.io/apiserver/pkg/features"
	"k8s.io/apiserver/pkg/registry/generic"
	"k8s.io/apiserver/pkg/storage"
	cacherstorage "k8s.io/apiserver/pkg/storage/cacher"
	"k8s.io/apiserver/pkg/storage/etcd3"
	"k8s.io/apiserver/pkg/storage/storagebackend"
	"k8s.io/apiserver/pkg/storage/storagebackend/factory"
	"k8s.io/apiserver/pkg/storage/value/encrypt/identity"
	utilfeature "k8s.io/apiserver/pkg/util/feature"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"
)

// Store is the shared client and compactor of the resources a Getter builds.
type Store struct {
	client *kubernetes.Client

	mu        sync.Mutex
	compactor etcd3.Compactor
	stop      func()
}

// New returns a Store on client, an in-process client of the member (etcd.Server.LocalClient).
// Requests are timed as upstream's (etcd_request_duration_seconds).
func New(client *clientv3.Client) *Store {
	client.KV = etcd3.NewETCDLatencyTracker(client.KV)
	kc := &kubernetes.Client{Client: client}
	kc.Kubernetes = kc
	return &Store{client: kc}
}

// Close stops the compactor and the client.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.stop != nil {
		s.stop()
		s.compactor, s.stop = nil, nil
	}
	s.mu.Unlock()
	return s.client.Close()
}

// Getter returns a getter that builds inner's resources on s: the same configuration, and a
// watch cache in front where inner would have one. A decorator Getter does not recognize
// (neither upstream's cacher nor undecorated storage) is kept, over gRPC.
func (s *Store) Getter(inner generic.RESTOptionsGetter) generic.RESTOptionsGetter {
	return getter{inner: inner, store: s}
}

type getter struct {
	inner generic.RESTOptionsGetter
	store *Store
}

var (
	undecorated   = reflect.ValueOf(generic.StorageDecorator(generic.UndecoratedStorage)).Pointer()
	cacherClosure = regexp.MustCompile(`\.StorageWithCacher\.func[0-9]+$`)
)

// decoration tells which of upstream's decorators d is: cached (genericregistry.StorageWithCacher's
// closure, named so wherever the compiler inlined it) or not; known is false for any other.
func decoration(d generic.StorageDecorator) (cached, known bool) {
	if d == nil {
		return false, true
	}
	pc := reflect.ValueOf(d).Pointer()
	if pc == undecorated {
		return false, true
	}
	if f := goruntime.FuncForPC(pc); f != nil && cacherClosure.MatchString(f.Name()) {
		return true, true
	}
	return false, false
}

func (g getter) GetRESTOptions(resource schema.GroupResource, example runtime.Object) (generic.RESTOptions, error) {
	opts, err := g.inner.GetRESTOptions(resource, example)
	if err != nil {
		return opts, err
	}
	cached, known := decoration(opts.Decorator)
	if !known {
		return opts, nil
	}
	opts.Decorator = g.store.decorator(cached)
	return opts, nil
}

// decorator builds a resource's storage on s, with the watch cache when cached. The cacher's
// configuration is genericregistry.StorageWithCacher's, which takes no raw storage of ours.
func (s *Store) decorator(cached bool) generic.StorageDecorator {
	return func(config *storagebackend.ConfigForResource, resourcePrefix string, keyFunc func(obj runtime.Object) (string, error),
		newFunc, newListFunc func() runtime.Object, getAttrs storage.AttrFunc, trigger storage.IndexerFuncs,
		indexers *cache.Indexers) (storage.Interface, factory.DestroyFunc, error) {
		raw, destroyRaw, err := s.raw(config, newFunc, newListFunc, resourcePrefix)
		if err != nil || !cached {
			return raw, destroyRaw, err
		}
		cacher, err := cacherstorage.NewCacherFromConfig(cacherstorage.Config{
			Storage:             withOwnWatchStream(raw, config.GroupResource),
			Versioner:           storage.APIObjectVersioner{},
			GroupResource:       config.GroupResource,
			EventsHistoryWindow: config.EventsHistoryWindow,
			ResourcePrefix:      resourcePrefix,
			KeyFunc:             keyFunc,
			NewFunc:             newFunc,
			NewListFunc:         newListFunc,
			GetAttrsFunc:        getAttrs,
			IndexerFuncs:        trigger,
			Indexers:            indexers,
			Codec:               config.Codec,
		})
		if err != nil {
			destroyRaw()
			return nil, func() {}, fmt.Errorf("watch cache of %s: %w", config.GroupResource, err)
		}
		delegator := cacherstorage.NewCacheDelegator(cacher, raw)
		var once sync.Once
		return delegator, func() {
			once.Do(func() {
				delegator.Stop()
				cacher.Stop()
				destroyRaw()
			})
		}, nil
	}
}

// raw is factory.Create's etcd3 storage on s's client.
func (s *Store) raw(c *storagebackend.ConfigForResource, newFunc, newListFunc func() runtime.Object, resourcePrefix string) (storage.Interface, factory.DestroyFunc, error) {
	if c.Type != storagebackend.StorageTypeUnset && c.Type != storagebackend.StorageTypeETCD3 {
		return nil, nil, fmt.Errorf("unknown storage type: %s", c.Type)
	}
	transformer := c.Transformer
	if transformer == nil {
		transformer = identity.NewEncryptCheckTransformer()
	}
	versioner := storage.APIObjectVersioner{}
	decoder := etcd3.NewDefaultDecoder(c.Codec, versioner)
	if utilfeature.DefaultFeatureGate.Enabled(genericfeatures.AllowUnsafeMalformedObjectDeletion) {
		transformer = etcd3.WithCorruptObjErrorHandlingTransformer(transformer)
		decoder = etcd3.WithCorruptObjErrorHandlingDecoder(decoder)
	}
	store, err := etcd3.New(s.client, s.compactorFor(c.CompactionInterval), c.Codec, newFunc, newListFunc, c.Prefix, resourcePrefix,
		c.GroupResource, transformer, c.LeaseManagerConfig, decoder, versioner)
	if err != nil {
		return nil, nil, fmt.Errorf("storage of %s: %w", c.GroupResource, err)
	}
	var once sync.Once
	destroy := func() { once.Do(store.Close) }
	var result storage.Interface = store
	if utilfeature.DefaultFeatureGate.Enabled(genericfeatures.AllowUnsafeMalformedObjectDeletion) {
		result = etcd3.NewStoreWithUnsafeCorruptObjectDeletion(result, c.GroupResource)
	}
	return result, destroy, nil
}

// compactorFor is the one compactor of the resources built on s (upstream runs one per etcd
// endpoint), started with the first resource's interval (all share the server's); nil when
// compaction is off.
func (s *Store) compactorFor(interval time.Duration) etcd3.Compactor {
	if interval == 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.compactor == nil {
		c := etcd3.NewCompactor(s.client.Client, interval, clock.RealClock{}, nil)
		s.compactor, s.stop = c, c.Stop
	}
	return s.compactor
}
