package garbagecollector

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/go-logr/logr"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	ctrlcache "sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/manager"
)

// ControllerName names the collector in logs and as the events' reporting controller.
const ControllerName = "garbage-collector-controller"

// Config tunes the collector; zero fields take the defaults.
type Config struct {
	// Workers is the number of attemptToDelete workers (default 20, upstream's
	// --concurrent-gc-syncs); attemptToOrphan gets a quarter of them, at least one.
	Workers int
	// ResyncPeriod is how often resources are discovered again (default 30s).
	ResyncPeriod time.Duration
	// CacheSyncTimeout bounds the wait for new informers to sync (default 2m).
	CacheSyncTimeout time.Duration
	// IgnoredResources are never watched (default: core and events.k8s.io events).
	IgnoredResources []schema.GroupResource
	// IgnoreDefaults, when set, leaves IgnoredResources empty instead of defaulting it.
	IgnoreDefaults bool
	// Cache, when set (SetupWithManager sets the manager's), serves the kinds of SharedKinds:
	// the collector adds its handler to the cache's informer of such a kind instead of opening
	// a metadata-only informer of its own, as upstream's collector takes the controller
	// manager's typed informers before metadata-only ones, so that a kind the controllers keep
	// anyway is watched and held once (issue 17: at 50,000 pods, the pods' metadata informer
	// was a second pod watch and a 48 MB copy of their metadata).
	// Scheme makes its objects (default: client-go's).
	Cache  ctrlcache.Informers
	Scheme *runtime.Scheme
	// SharedKinds are the kinds Cache serves (default: DefaultSharedKinds).
	SharedKinds []schema.GroupVersionKind
}

// DefaultSharedKinds are the kinds the controller manager's controllers keep in its cache
// anyway, the many ones of a cluster: pods (ReplicaSet, Job, StatefulSet, DaemonSet,
// endpoints, disruption controllers and the scheduler), ReplicaSets and Deployments.
func DefaultSharedKinds() []schema.GroupVersionKind {
	return []schema.GroupVersionKind{corev1.SchemeGroupVersion.WithKind("Pod"),
		appsv1.SchemeGroupVersion.WithKind("ReplicaSet"), appsv1.SchemeGroupVersion.WithKind("Deployment")}
}

// DefaultIgnoredResources are upstream's defaults.
func DefaultIgnoredResources() []schema.GroupResource {
	return []schema.GroupResource{{Group: "", Resource: "events"}, {Group: "events.k8s.io", Resource: "events"}}
}

func (c Config) withDefaults() Config {
	if c.Workers <= 0 {
		c.Workers = 20
	}
	if c.ResyncPeriod <= 0 {
		c.ResyncPeriod = 30 * time.Second
	}
	if c.CacheSyncTimeout <= 0 {
		c.CacheSyncTimeout = 2 * time.Minute
	}
	if len(c.IgnoredResources) == 0 && !c.IgnoreDefaults {
		c.IgnoredResources = DefaultIgnoredResources()
	}
	if c.Cache != nil && c.Scheme == nil {
		c.Scheme = clientgoscheme.Scheme
	}
	if c.Cache != nil && c.SharedKinds == nil {
		c.SharedKinds = DefaultSharedKinds()
	}
	return c
}

// GarbageCollector is the collector; it runs as a manager.Runnable.
type GarbageCollector struct {
	cfg       Config
	metadata  metadata.Interface
	discovery discovery.DiscoveryInterface
	mapper    *restmapper.DeferredDiscoveryRESTMapper
	recorder  events.EventRecorder

	graph           *graph
	graphChanges    workqueue.TypedInterface[*event]
	attemptToDelete workqueue.TypedRateLimitingInterface[types.UID]
	attemptToOrphan workqueue.TypedRateLimitingInterface[types.UID]
	absent          *absentCache

	// workerLock is held for reading by workers and for writing while informers change, so
	// that no decision is made on a graph missing a kind being added.
	workerLock sync.RWMutex
	monitors   *monitors

	// resyncSoon asks for a discovery resync before the next period: a CustomResourceDefinition
	// or an APIService changed, so a kind may have appeared or gone.
	resyncSoon chan struct{}
}

var (
	_ manager.Runnable               = &GarbageCollector{}
	_ manager.LeaderElectionRunnable = &GarbageCollector{}
)

// New builds a collector for restConfig; recorder may be nil.
func New(restConfig *rest.Config, cfg Config, recorder events.EventRecorder) (*GarbageCollector, error) {
	cfg = cfg.withDefaults()
	mc, err := metadata.NewForConfig(restConfig)
	if err != nil {
		return nil, fmt.Errorf("metadata client: %w", err)
	}
	dc, err := discovery.NewDiscoveryClientForConfig(restConfig)
	if err != nil {
		return nil, fmt.Errorf("discovery client: %w", err)
	}
	gc := &GarbageCollector{
		cfg:          cfg,
		metadata:     mc,
		discovery:    dc,
		mapper:       restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc)),
		recorder:     recorder,
		graph:        newGraph(),
		graphChanges: workqueue.NewTypedWithConfig(workqueue.TypedQueueConfig[*event]{Name: "garbage_collector_graph_changes"}),
		attemptToDelete: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[types.UID](),
			workqueue.TypedRateLimitingQueueConfig[types.UID]{Name: "garbage_collector_attempt_to_delete"}),
		attemptToOrphan: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[types.UID](),
			workqueue.TypedRateLimitingQueueConfig[types.UID]{Name: "garbage_collector_attempt_to_orphan"}),
		absent:     newAbsentCache(500),
		resyncSoon: make(chan struct{}, 1),
	}
	gc.monitors = newMonitors(mc, gc.graphChanges, cfg)
	return gc, nil
}

// SetupWithManager adds a collector with cfg to mgr.
func SetupWithManager(mgr ctrl.Manager, cfg Config) error {
	if cfg.Cache == nil {
		cfg.Cache, cfg.Scheme = mgr.GetCache(), mgr.GetScheme()
	}
	gc, err := New(mgr.GetConfig(), cfg, mgr.GetEventRecorder(ControllerName))
	if err != nil {
		return err
	}
	return mgr.Add(gc)
}

// NeedLeaderElection makes only the leader collect garbage.
func (gc *GarbageCollector) NeedLeaderElection() bool { return true }

// Start runs the collector until ctx ends.
func (gc *GarbageCollector) Start(ctx context.Context) error {
	logger := log.FromContext(ctx).WithName("garbagecollector")
	ctx = log.IntoContext(ctx, logger)
	defer gc.graphChanges.ShutDown()
	defer gc.attemptToDelete.ShutDown()
	defer gc.attemptToOrphan.ShutDown()
	defer gc.monitors.stopAll()

	go gc.runGraphChanges(ctx)

	// Watch every deletable resource and wait for the informers before deciding anything.
	for {
		err := gc.resync(ctx)
		if err == nil {
			break
		}
		logger.Error(err, "initial discovery failed; retrying")
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(5 * time.Second):
		}
	}
	logger.Info("garbage collector synced", "resources", gc.monitors.count(), "nodes", gc.graph.size())

	var wg sync.WaitGroup
	orphanWorkers := max(1, gc.cfg.Workers/4)
	for i := 0; i < gc.cfg.Workers; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); gc.runWorker(ctx, gc.attemptToDelete, gc.processAttemptToDelete) }()
	}
	for i := 0; i < orphanWorkers; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); gc.runWorker(ctx, gc.attemptToOrphan, gc.processAttemptToOrphan) }()
	}
	ticker := time.NewTicker(gc.cfg.ResyncPeriod)
	defer ticker.Stop()
	// again resyncs once more shortly after a kinds change: discovery may list a new kind a
	// moment after the change that announced it.
	var again <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			gc.attemptToDelete.ShutDown()
			gc.attemptToOrphan.ShutDown()
			wg.Wait()
			return nil
		case <-ticker.C:
		case <-again:
			again = nil
		case <-gc.resyncSoon:
			again = time.After(2 * time.Second)
		}
		if err := gc.resync(ctx); err != nil {
			logger.Error(err, "resyncing monitored resources")
		}
	}
}

// resync discovers the deletable resources and, when they changed, adjusts the informers with
// the workers paused until the new ones have synced.
func (gc *GarbageCollector) resync(ctx context.Context) error {
	logger := log.FromContext(ctx)
	resources, failedGroups, err := deletableResources(gc.discovery, gc.cfg.IgnoredResources)
	if err != nil {
		return err
	}
	if len(failedGroups) > 0 {
		logger.Info("discovery failed for some groups; keeping their informers", "groups", failedGroups)
	}
	if !gc.monitors.changes(resources, failedGroups) {
		return nil
	}
	gc.workerLock.Lock()
	defer gc.workerLock.Unlock()
	gc.mapper.Reset()
	added, removed := gc.monitors.sync(ctx, resources, failedGroups)
	if len(added)+len(removed) > 0 {
		logger.Info("monitored resources changed", "added", added, "removed", removed)
	}
	syncCtx, cancel := context.WithTimeout(ctx, gc.cfg.CacheSyncTimeout)
	defer cancel()
	if !gc.monitors.waitForSync(syncCtx) {
		if ctx.Err() != nil {
			return nil
		}
		// Go on: upstream too proceeds, and every decision is checked with a live GET.
		logger.Info("timed out waiting for informers to sync; continuing", "timeout", gc.cfg.CacheSyncTimeout)
	}
	// An owner of a kind not watched until now is known only from references and checked with
	// a growing back-off: check it at once, it may be gone already.
	addedKinds := map[schema.GroupKind]bool{}
	for gvr, gvk := range resources {
		if slices.Contains(added, gvr.String()) {
			addedKinds[gvk.GroupKind()] = true
		}
	}
	if len(addedKinds) > 0 {
		for _, uid := range gc.graph.virtualOf(addedKinds) {
			gc.attemptToDelete.Add(uid)
		}
	}
	return nil
}

// deletableResources returns the resources supporting list, watch and delete, less ignored
// ones, and the group versions discovery failed for.
func deletableResources(dc discovery.DiscoveryInterface, ignored []schema.GroupResource) (map[schema.GroupVersionResource]schema.GroupVersionKind, map[schema.GroupVersion]bool, error) {
	lists, err := dc.ServerPreferredResources()
	failed := map[schema.GroupVersion]bool{}
	if err != nil {
		var gdf *discovery.ErrGroupDiscoveryFailed
		if !errors.As(err, &gdf) {
			return nil, nil, fmt.Errorf("discovering resources: %w", err)
		}
		for gv := range gdf.Groups {
			failed[gv] = true
		}
	}
	lists = discovery.FilteredBy(discovery.SupportsAllVerbs{Verbs: []string{"list", "watch", "delete"}}, lists)
	out := map[schema.GroupVersionResource]schema.GroupVersionKind{}
	for _, l := range lists {
		gv, err := schema.ParseGroupVersion(l.GroupVersion)
		if err != nil {
			continue
		}
	resources:
		for _, r := range l.APIResources {
			for _, ig := range ignored {
				if ig.Group == gv.Group && ig.Resource == r.Name {
					continue resources
				}
			}
			out[gv.WithResource(r.Name)] = gv.WithKind(r.Kind)
		}
	}
	return out, failed, nil
}

// runGraphChanges applies informer events to the graph, one at a time.
func (gc *GarbageCollector) runGraphChanges(ctx context.Context) {
	logger := log.FromContext(ctx)
	for {
		ev, quit := gc.graphChanges.Get()
		if quit {
			return
		}
		out := gc.graph.process(ev)
		if changesKinds(ev.identity) {
			select {
			case gc.resyncSoon <- struct{}{}:
			default:
			}
		}
		if logger.V(5).Enabled() {
			logger.V(5).Info("graph change", "object", ev.identity.String(), "delete", ev.typ == deleteEvent, "virtual", ev.virtual,
				"attemptToDelete", len(out.attemptToDelete), "attemptToOrphan", len(out.attemptToOrphan))
		}
		for _, uid := range out.attemptToDelete {
			gc.attemptToDelete.Add(uid)
		}
		for _, r := range out.invalidNamespace {
			gc.recordEvent(r.dependent, corev1.EventTypeWarning, "OwnerRefInvalidNamespace",
				"ownerRef [%s/%s, namespace: %s, name: %s, uid: %s] does not exist in namespace %q",
				r.owner.APIVersion, r.owner.Kind, r.dependent.Namespace, r.owner.Name, r.owner.UID, r.dependent.Namespace)
		}
		for _, uid := range out.attemptToOrphan {
			gc.attemptToOrphan.Add(uid)
		}
		gc.graphChanges.Done(ev)
	}
}

// changesKinds reports whether a change of the object can add or remove served kinds: a new
// CustomResourceDefinition is watched once discovery lists it (its Established update), not a
// whole ResyncPeriod later.
func changesKinds(id objectReference) bool {
	gv, err := schema.ParseGroupVersion(id.APIVersion)
	if err != nil {
		return false
	}
	return (gv.Group == "apiextensions.k8s.io" && id.Kind == "CustomResourceDefinition") ||
		(gv.Group == "apiregistration.k8s.io" && id.Kind == "APIService")
}

// errRequeue asks for the item again later without logging an error.
var errRequeue = errors.New("requeue")

func (gc *GarbageCollector) runWorker(ctx context.Context, q workqueue.TypedRateLimitingInterface[types.UID], process func(context.Context, types.UID) error) {
	for {
		uid, quit := q.Get()
		if quit {
			return
		}
		func() {
			defer q.Done(uid)
			gc.workerLock.RLock()
			err := process(ctx, uid)
			gc.workerLock.RUnlock()
			switch {
			case err == nil:
				q.Forget(uid)
			case errors.Is(err, errRequeue):
				q.AddRateLimited(uid)
			default:
				if ctx.Err() == nil {
					log.FromContext(ctx).Error(err, "garbage collection failed; will retry", "uid", uid)
				}
				q.AddRateLimited(uid)
			}
		}()
	}
}

func loggerFor(ctx context.Context, ref objectReference) logr.Logger {
	return log.FromContext(ctx).WithValues("object", ref.String())
}

// recordEvent emits an event about ref when a recorder is set.
func (gc *GarbageCollector) recordEvent(ref objectReference, eventType, reason, note string, args ...any) {
	if gc.recorder == nil {
		return
	}
	obj := &metav1.PartialObjectMetadata{
		TypeMeta:   metav1.TypeMeta{APIVersion: ref.APIVersion, Kind: ref.Kind},
		ObjectMeta: metav1.ObjectMeta{Namespace: ref.Namespace, Name: ref.Name, UID: ref.UID},
	}
	gc.recorder.Eventf(obj, nil, eventType, reason, "GarbageCollect", note, args...)
}
