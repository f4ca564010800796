package controllers

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/skiff-dev/skiff/test/poll"
)

// TestSharedCacheTerms: each term's handlers leave with the term, a handler added after its
// term ended is refused, an index asked for again is added once (the pod index without an entry
// per term), the cache starts once.
func TestSharedCacheTerms(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	fake := &fakeCache{informer: &fakeInformer{handlers: map[*fakeHandle]bool{}}}
	shared := NewSharedCache(ctx)
	shared.cache = fake // as forTerm's cache.New would

	runTerm := func(t *testing.T) {
		c, err := shared.forTerm(nil, cache.Options{})
		if err != nil {
			t.Fatal(err)
		}
		term := c.(*termCache)
		tctx, end := context.WithCancel(ctx)
		stopped := make(chan error, 1)
		go func() { stopped <- term.Start(tctx) }()
		if err := term.IndexField(ctx, &corev1.Pod{}, "spec.nodeName", func(client.Object) []string { return nil }); err != nil {
			t.Fatalf("IndexField: %v", err)
		}
		// The term's cache adds the pod index once for the process, with no entry per term.
		if err := IndexPodsByController(ctx, term); err != nil {
			t.Fatal(err)
		}
		podIndexMu.Lock()
		if podIndexed[term] {
			t.Error("IndexPodsByController keeps an entry for the term's cache")
		}
		podIndexMu.Unlock()
		inf, err := term.GetInformer(ctx, &corev1.Pod{})
		if err != nil {
			t.Fatal(err)
		}
		if UnwrapInformer(inf) != fake.informer {
			t.Errorf("UnwrapInformer is %T, want the shared informer", UnwrapInformer(inf))
		}
		kept, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{})
		if err != nil {
			t.Fatal(err)
		}
		removed, err := inf.AddEventHandlerWithOptions(toolscache.ResourceEventHandlerFuncs{}, toolscache.HandlerOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if err := inf.RemoveEventHandler(removed); err != nil {
			t.Fatal(err)
		}
		if n := fake.informer.count(); n != 1 {
			t.Errorf("%d handlers during the term, want 1", n)
		}
		end()
		if err := <-stopped; err != nil {
			t.Errorf("Start: %v", err)
		}
		if n := fake.informer.count(); n != 0 {
			t.Errorf("%d handlers after the term, want none (%v left)", n, kept)
		}
		if _, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{}); !errors.Is(err, errTermEnded) {
			t.Errorf("a handler added after the term: %v, want errTermEnded", err)
		}
		if n := fake.informer.count(); n != 0 {
			t.Errorf("%d handlers after a late add, want none", n)
		}
	}
	t.Run("first term", runTerm)
	t.Run("second term", runTerm)
	// The cache starts in a goroutine of its own.
	poll.Until(t, 10*time.Second, "index and start once", poll.Check(func() (bool, string) {
		fake.mu.Lock()
		defer fake.mu.Unlock()
		return fake.indexes == 2 && fake.starts == 1,
			fmt.Sprintf("indexes added %d times, cache started %d times; want the two indexes and one start", fake.indexes, fake.starts)
	}))
}

type fakeCache struct {
	cache.Cache
	informer *fakeInformer

	mu              sync.Mutex
	indexes, starts int
}

func (c *fakeCache) GetInformer(context.Context, client.Object, ...cache.InformerGetOption) (cache.Informer, error) {
	return c.informer, nil
}

func (c *fakeCache) IndexField(context.Context, client.Object, string, client.IndexerFunc) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.indexes++
	return nil
}

func (c *fakeCache) Start(ctx context.Context) error {
	c.mu.Lock()
	c.starts++
	c.mu.Unlock()
	<-ctx.Done()
	return nil
}

type fakeInformer struct {
	cache.Informer
	mu       sync.Mutex
	handlers map[*fakeHandle]bool
}

type fakeHandle struct {
	toolscache.ResourceEventHandlerRegistration
}

func (i *fakeInformer) AddEventHandler(toolscache.ResourceEventHandler) (toolscache.ResourceEventHandlerRegistration, error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	h := &fakeHandle{}
	i.handlers[h] = true
	return h, nil
}

func (i *fakeInformer) AddEventHandlerWithOptions(h toolscache.ResourceEventHandler, _ toolscache.HandlerOptions) (toolscache.ResourceEventHandlerRegistration, error) {
	return i.AddEventHandler(h)
}

func (i *fakeInformer) RemoveEventHandler(h toolscache.ResourceEventHandlerRegistration) error {
	i.mu.Lock()
	defer i.mu.Unlock()
	delete(i.handlers, h.(*fakeHandle))
	return nil
}

func (i *fakeInformer) count() int {
	i.mu.Lock()
	defer i.mu.Unlock()
	return len(i.handlers)
}
