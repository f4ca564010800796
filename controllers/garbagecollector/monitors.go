package garbagecollector

import (
	"context"
	"fmt"
	"sort"
	"sync"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	ctrlcache "sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/skiff-dev/skiff/insight/trace"
	"github.com/skiff-dev/skiff/insight/watchtrace"
)

// monitor watches one resource: a metadata-only informer of its own, or a handler on the shared
// cache's informer of a shared kind.
type monitor struct {
	gvk schema.GroupVersionKind
	// synced tells whether the monitor has passed on every object of its initial list.
	synced func() bool
	cancel context.CancelFunc
	// shared is set when the monitor is a handler on the shared cache's informer.
	shared bool
}

// monitors holds the informers by resource; their events go to the graph-changes queue.
type monitors struct {
	mu     sync.Mutex
	client metadata.Interface
	events workqueue.TypedInterface[*event]
	byGVR  map[schema.GroupVersionResource]*monitor
	// shared, when set, serves the kinds of sharedKinds from its informers (cfg, defaulted).
	shared      ctrlcache.Informers
	sharedKinds map[schema.GroupVersionKind]bool
	scheme      *runtime.Scheme
}

func newMonitors(client metadata.Interface, events workqueue.TypedInterface[*event], cfg Config) *monitors {
	m := &monitors{client: client, events: events, byGVR: map[schema.GroupVersionResource]*monitor{}}
	if cfg.Cache != nil {
		m.shared, m.scheme, m.sharedKinds = cfg.Cache, cfg.Scheme, map[schema.GroupVersionKind]bool{}
		for _, gvk := range cfg.SharedKinds {
			m.sharedKinds[gvk] = true
		}
	}
	return m
}

// desired is the resources to watch: those discovered, plus the current ones of groups whose
// discovery failed.
func (m *monitors) desired(resources map[schema.GroupVersionResource]schema.GroupVersionKind, failed map[schema.GroupVersion]bool) map[schema.GroupVersionResource]schema.GroupVersionKind {
	want := map[schema.GroupVersionResource]schema.GroupVersionKind{}
	for gvr, gvk := range resources {
		want[gvr] = gvk
	}
	for gvr, mon := range m.byGVR {
		if failed[gvr.GroupVersion()] {
			want[gvr] = mon.gvk
		}
	}
	return want
}

// changes tells whether sync would add or remove an informer.
func (m *monitors) changes(resources map[schema.GroupVersionResource]schema.GroupVersionKind, failed map[schema.GroupVersion]bool) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	want := m.desired(resources, failed)
	if len(want) != len(m.byGVR) {
		return true
	}
	for gvr, gvk := range want {
		if mon, ok := m.byGVR[gvr]; !ok || mon.gvk != gvk {
			return true
		}
	}
	return false
}

// sync starts informers for new resources and stops those of resources gone.
func (m *monitors) sync(ctx context.Context, resources map[schema.GroupVersionResource]schema.GroupVersionKind, failed map[schema.GroupVersion]bool) (added, removed []string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	want := m.desired(resources, failed)
	for gvr, mon := range m.byGVR {
		if gvk, ok := want[gvr]; !ok || gvk != mon.gvk {
			mon.cancel()
			delete(m.byGVR, gvr)
			removed = append(removed, gvr.String())
		}
	}
	for gvr, gvk := range want {
		if _, ok := m.byGVR[gvr]; ok {
			continue
		}
		m.byGVR[gvr] = m.start(ctx, gvr, gvk)
		added = append(added, gvr.String())
	}
	sort.Strings(added)
	sort.Strings(removed)
	return added, removed
}

func (m *monitors) start(ctx context.Context, gvr schema.GroupVersionResource, gvk schema.GroupVersionKind) *monitor {
	send := func(typ eventType, obj any) {
		if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = d.Obj
		}
		acc, err := meta.Accessor(obj)
		if err != nil {
			return
		}
		m.events.Add(eventFor(typ, gvk, acc))
	}
	handler := watchtrace.Handler(deletionWatch(gvk.Kind), cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { send(addOrUpdateEvent, obj) },
		UpdateFunc: func(_, obj any) { send(addOrUpdateEvent, obj) },
		DeleteFunc: func(obj any) { send(deleteEvent, obj) },
	})
	if m.sharedKinds[gvk] {
		mon, err := m.startShared(ctx, gvk, handler)
		if err == nil {
			return mon
		}
		log.FromContext(ctx).Error(err, "watching a shared kind through the cache failed; watching its metadata instead", "kind", gvk.String())
	}
	inf := metadatainformer.NewFilteredMetadataInformer(m.client, gvr, "", 0, cache.Indexers{}, nil).Informer()
	// The graph needs owners, finalizers and deletion state, never managed fields: a third of
	// the metadata of every object of the cluster (issue 17).
	_ = inf.SetTransform(ctrlcache.TransformStripManagedFields())
	_, _ = inf.AddEventHandler(handler)
	ctx, cancel := context.WithCancel(ctx)
	go inf.Run(ctx.Done())
	return &monitor{gvk: gvk, synced: inf.HasSynced, cancel: cancel}
}

// startShared adds the collector's handler to the shared cache's informer of gvk; the monitor's
// cancel removes it, and the informer goes on for the controllers that keep it.
func (m *monitors) startShared(ctx context.Context, gvk schema.GroupVersionKind, handler cache.ResourceEventHandler) (*monitor, error) {
	obj, err := m.scheme.New(gvk)
	if err != nil {
		return nil, fmt.Errorf("new %s: %w", gvk, err)
	}
	cobj, ok := obj.(client.Object)
	if !ok {
		return nil, fmt.Errorf("%s is not a client.Object", gvk)
	}
	inf, err := m.shared.GetInformer(ctx, cobj, ctrlcache.BlockUntilSynced(false))
	if err != nil {
		return nil, fmt.Errorf("informer of %s: %w", gvk, err)
	}
	reg, err := inf.AddEventHandler(handler)
	if err != nil {
		return nil, fmt.Errorf("handler on the informer of %s: %w", gvk, err)
	}
	return &monitor{gvk: gvk, synced: reg.HasSynced, cancel: func() { _ = inf.RemoveEventHandler(reg) }, shared: true}, nil
}

// waitForSync waits until every informer has listed once, or ctx ends.
func (m *monitors) waitForSync(ctx context.Context) bool {
	m.mu.Lock()
	var synced []cache.InformerSynced
	for _, mon := range m.byGVR {
		synced = append(synced, mon.synced)
	}
	m.mu.Unlock()
	return cache.WaitForCacheSync(ctx.Done(), synced...)
}

func (m *monitors) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.byGVR)
}

func (m *monitors) stopAll() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for gvr, mon := range m.byGVR {
		mon.cancel()
		delete(m.byGVR, gvr)
	}
}

// absentCache remembers owners verified absent, by their full coordinates (a UID looked up in
// the wrong namespace must not make the real owner look absent elsewhere).
type absentCache struct {
	mu    sync.Mutex
	max   int
	order []objectReference
	set   map[objectReference]bool
}

func newAbsentCache(max int) *absentCache {
	return &absentCache{max: max, set: map[objectReference]bool{}}
}

func (c *absentCache) add(r objectReference) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.set[r] {
		return
	}
	if len(c.order) >= c.max {
		delete(c.set, c.order[0])
		c.order = c.order[1:]
	}
	c.order = append(c.order, r)
	c.set[r] = true
}

func (c *absentCache) has(r objectReference) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.set[r]
}

// deletionWatch is the collector's deliveries of kind (insight/watchtrace) that concern a
// deletion, its work: an object removed (its dependents may go) or being deleted (its
// finalizers, its foreground dependents). The others only update the graph: not recorded.
func deletionWatch(kind string) *trace.Watch {
	w := trace.NewWatch(trace.Controller("garbagecollector"), kind)
	w.Keep = func(eventType string, obj metav1.Object) bool {
		return eventType == trace.WatchDeleted || obj.GetDeletionTimestamp() != nil
	}
	return w
}
