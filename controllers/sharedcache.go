package controllers

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// SharedCache is one informer cache for a process's successive managers, its leader-election
// terms (Options.Cache): a term starts on caches that are already filled and watching, and a
// lost Lease costs no list. Each term used to build its own cache and list every kind again;
// at 50,000 pods, under the load that had cost the Lease, the new term's lists of pods took
// minutes while the old term's copies were still being collected, at the memory limit, and the
// cluster stood still (issue 17: r17, r19, r20). Between terms, and after a process's last term
// while another holds the Lease, the cache keeps watching (the memory of one term's cache).
//
// A term sees the cache through a termCache: the event handlers its controllers add are removed
// when the term ends (controller-runtime's sources never remove theirs), and an index a term
// asks for again is the one the first term added.
type SharedCache struct {
	ctx context.Context // the cache runs until it ends

	mu      sync.Mutex
	cache   cache.Cache
	started bool
	indexed map[string]bool // "type/field" of the indexes added
}

// NewSharedCache returns a cache for the managers of terms, whose informers run until ctx ends.
// The first term's manager builds it, with that manager's options.
func NewSharedCache(ctx context.Context) *SharedCache {
	return &SharedCache{ctx: ctx, indexed: map[string]bool{}}
}

// forTerm is the NewCache of a term's manager.
func (s *SharedCache) forTerm(cfg *rest.Config, o cache.Options) (cache.Cache, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cache == nil {
		c, err := cache.New(cfg, o)
		if err != nil {
			return nil, err
		}
		s.cache = c
	}
	return &termCache{Cache: s.cache, shared: s}, nil
}

// start starts the shared cache once, for the process.
func (s *SharedCache) start() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return
	}
	s.started = true
	c := s.cache
	go func() {
		if err := c.Start(s.ctx); err != nil {
			klog.FromContext(s.ctx).Error(err, "Shared cache failed")
		}
	}()
}

// errTermEnded refuses a handler added after its term ended.
var errTermEnded = errors.New("the controllers' term ended")

// termCache is a SharedCache as one term's manager sees it.
type termCache struct {
	cache.Cache
	shared *SharedCache

	mu            sync.Mutex
	ended         bool
	registrations []registration
}

// registration is a handler a term added to an informer.
type registration struct {
	informer cache.Informer
	handle   toolscache.ResourceEventHandlerRegistration
}

// Start starts the shared cache (the first term) and, when ctx ends, removes the handlers the
// term's controllers added.
func (t *termCache) Start(ctx context.Context) error {
	t.shared.start()
	<-ctx.Done()
	t.mu.Lock()
	t.ended = true
	regs := t.registrations
	t.registrations = nil
	t.mu.Unlock()
	var errs []error
	for _, r := range regs {
		if err := r.informer.RemoveEventHandler(r.handle); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (t *termCache) GetInformer(ctx context.Context, obj client.Object, opts ...cache.InformerGetOption) (cache.Informer, error) {
	inf, err := t.Cache.GetInformer(ctx, obj, opts...)
	if err != nil {
		return nil, err
	}
	return &termInformer{Informer: inf, term: t}, nil
}

func (t *termCache) GetInformerForKind(ctx context.Context, gvk schema.GroupVersionKind, opts ...cache.InformerGetOption) (cache.Informer, error) {
	inf, err := t.Cache.GetInformerForKind(ctx, gvk, opts...)
	if err != nil {
		return nil, err
	}
	return &termInformer{Informer: inf, term: t}, nil
}

func (t *termCache) indexesOnce() {}

// IndexField adds the index once for the process: a later term's controllers ask for the ones
// the first term's did (the same code), which the informers already keep.
func (t *termCache) IndexField(ctx context.Context, obj client.Object, field string, extract client.IndexerFunc) error {
	key := fmt.Sprintf("%T/%s", obj, field)
	t.shared.mu.Lock()
	defer t.shared.mu.Unlock()
	if t.shared.indexed[key] {
		return nil
	}
	if err := t.Cache.IndexField(ctx, obj, field, extract); err != nil {
		return err
	}
	t.shared.indexed[key] = true
	return nil
}

func (t *termCache) add(inf cache.Informer, handle toolscache.ResourceEventHandlerRegistration, err error) (toolscache.ResourceEventHandlerRegistration, error) {
	if err != nil {
		return handle, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ended {
		_ = inf.RemoveEventHandler(handle)
		return nil, errTermEnded
	}
	t.registrations = append(t.registrations, registration{informer: inf, handle: handle})
	return handle, nil
}

func (t *termCache) remove(handle toolscache.ResourceEventHandlerRegistration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i, r := range t.registrations {
		if r.handle == handle {
			t.registrations = append(t.registrations[:i], t.registrations[i+1:]...)
			return
		}
	}
}

// termInformer records the handlers a term adds, for its termCache to remove at its end.
type termInformer struct {
	cache.Informer
	term *termCache
}

func (i *termInformer) AddEventHandler(h toolscache.ResourceEventHandler) (toolscache.ResourceEventHandlerRegistration, error) {
	handle, err := i.Informer.AddEventHandler(h)
	return i.term.add(i.Informer, handle, err)
}

func (i *termInformer) AddEventHandlerWithResyncPeriod(h toolscache.ResourceEventHandler, resync time.Duration) (toolscache.ResourceEventHandlerRegistration, error) {
	handle, err := i.Informer.AddEventHandlerWithResyncPeriod(h, resync)
	return i.term.add(i.Informer, handle, err)
}

func (i *termInformer) AddEventHandlerWithOptions(h toolscache.ResourceEventHandler, o toolscache.HandlerOptions) (toolscache.ResourceEventHandlerRegistration, error) {
	handle, err := i.Informer.AddEventHandlerWithOptions(h, o)
	return i.term.add(i.Informer, handle, err)
}

func (i *termInformer) RemoveEventHandler(handle toolscache.ResourceEventHandlerRegistration) error {
	i.term.remove(handle)
	return i.Informer.RemoveEventHandler(handle)
}

// Unwrap is the shared informer (client-go's: UnwrapInformer).
func (i *termInformer) Unwrap() cache.Informer { return i.Informer }

// UnwrapInformer is the informer behind inf, as the cache made it (a term's informer wraps the
// shared cache's).
func UnwrapInformer(inf cache.Informer) cache.Informer {
	for {
		u, ok := inf.(interface{ Unwrap() cache.Informer })
		if !ok {
			return inf
		}
		inf = u.Unwrap()
	}
}
