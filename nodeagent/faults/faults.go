package faults

import (
	"context"
	"fmt"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	oteltrace "go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/retry"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"

	chaosv1alpha1 "github.com/skiff-dev/skiff/apis/chaos/v1alpha1"
	"github.com/skiff-dev/skiff/insight/trace"
)

// Resource is the Faults' resource.
var Resource = chaosv1alpha1.GroupVersion.WithResource("faults")

// Watcher keeps a cache of every Fault in the cluster and answers the questions a node asks:
// must my heartbeats stop now, must this pull fail, which pods' containers must I kill. One
// Watcher can serve several nodes (simulated nodes share one).
type Watcher struct {
	client   dynamic.Interface
	clock    clock.Clock
	informer cache.SharedIndexInformer

	mu       sync.Mutex
	handlers []func()
	started  bool
}

// NewWatcher watches Faults through client; clk defaults to real time.
func NewWatcher(client dynamic.Interface, clk clock.Clock) *Watcher {
	if clk == nil {
		clk = clock.RealClock{}
	}
	w := &Watcher{client: client, clock: clk}
	w.informer = dynamicinformer.NewFilteredDynamicInformer(client, Resource, metav1.NamespaceAll, 0, cache.Indexers{}, nil).Informer()
	notify := func() {
		w.mu.Lock()
		hs := append([]func(){}, w.handlers...)
		w.mu.Unlock()
		for _, h := range hs {
			h()
		}
	}
	_, _ = w.informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { notify() },
		UpdateFunc: func(any, any) { notify() },
		DeleteFunc: func(any) { notify() },
	})
	return w
}

// NewWatcherForConfig builds a Watcher with a dynamic client for cfg.
func NewWatcherForConfig(cfg *rest.Config) (*Watcher, error) {
	client, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("fault watcher client: %w", err)
	}
	return NewWatcher(client, nil), nil
}

// OnChange registers f to run (on the informer's goroutine) whenever a Fault changes.
func (w *Watcher) OnChange(f func()) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.handlers = append(w.handlers, f)
}

// Start runs the informer until ctx ends; when several nodes share the Watcher, the first Start
// runs it and the others only wait for ctx. A cluster that does not serve Faults only makes the
// informer retry (and log); the node keeps working.
func (w *Watcher) Start(ctx context.Context) error {
	w.mu.Lock()
	first := !w.started
	w.started = true
	w.mu.Unlock()
	if !first {
		<-ctx.Done()
		return nil
	}
	klog.FromContext(ctx).V(1).Info("Watching faults", "resource", Resource.String())
	w.informer.Run(ctx.Done())
	return nil
}

// HasSynced reports whether the first list arrived.
func (w *Watcher) HasSynced() bool { return w.informer.HasSynced() }

// Faults returns every cached Fault.
func (w *Watcher) Faults() []*chaosv1alpha1.Fault {
	var out []*chaosv1alpha1.Fault
	for _, obj := range w.informer.GetStore().List() {
		u, ok := obj.(*unstructured.Unstructured)
		if !ok {
			continue
		}
		f := &chaosv1alpha1.Fault{}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, f); err != nil {
			continue
		}
		out = append(out, f)
	}
	return out
}

// HeartbeatFault returns the NodeHeartbeat fault in effect for node now, or nil.
func (w *Watcher) HeartbeatFault(node string) *chaosv1alpha1.Fault {
	now := w.clock.Now()
	for _, f := range w.Faults() {
		if f.Spec.Type == chaosv1alpha1.NodeHeartbeat && f.NodeName() == node && f.ActiveAt(now) {
			return f
		}
	}
	return nil
}

// PullError returns the error a pull of image on node fails with while an ImagePull fault is in
// effect, or nil. It reads like containerd's answer when the registry cannot be reached.
func (w *Watcher) PullError(node, image string) error {
	now := w.clock.Now()
	for _, f := range w.Faults() {
		if f.Spec.Type == chaosv1alpha1.ImagePull && f.NodeName() == node && f.ActiveAt(now) && f.MatchesImage(image) {
			return status.Errorf(codes.Unavailable, "failed to pull and unpack image %q: failed to resolve reference %q: "+
				"connection refused (injected by Fault %s/%s)", image, image, f.Namespace, f.Name)
		}
	}
	return nil
}

// Kill is one pod whose containers a node must kill for a PodKill fault.
type Kill struct {
	Fault *chaosv1alpha1.Fault
	Pod   chaosv1alpha1.FaultPod
}

// PendingKills lists the pods on node that running PodKill faults still want killed.
func (w *Watcher) PendingKills(node string) []Kill {
	var out []Kill
	for _, f := range w.Faults() {
		if f.Spec.Type != chaosv1alpha1.PodKill || f.Status.Phase != chaosv1alpha1.FaultRunning || f.DeletionTimestamp != nil {
			continue
		}
		for _, p := range f.Status.Pods {
			if p.NodeName == node && p.KillTime == nil {
				out = append(out, Kill{Fault: f, Pod: p})
			}
		}
	}
	return out
}

// MarkKilled records on the Fault's status that the node killed the pod's containers.
func (w *Watcher) MarkKilled(ctx context.Context, k Kill, containers []string, at time.Time) error {
	api := w.client.Resource(Resource).Namespace(k.Fault.Namespace)
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		u, err := api.Get(ctx, k.Fault.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		f := &chaosv1alpha1.Fault{}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, f); err != nil {
			return err
		}
		if f.UID != k.Fault.UID {
			return nil // deleted and created again
		}
		changed := false
		for i := range f.Status.Pods {
			p := &f.Status.Pods[i]
			if p.UID == k.Pod.UID && p.KillTime == nil {
				t := metav1.NewTime(at)
				p.KillTime, p.Containers = &t, containers
				changed = true
			}
		}
		if !changed {
			return nil
		}
		obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(f)
		if err != nil {
			return err
		}
		_, err = api.UpdateStatus(ctx, &unstructured.Unstructured{Object: obj}, metav1.UpdateOptions{})
		return err
	})
}

// Gate follows one node's NodeHeartbeat faults for the node's heartbeat loops.
type Gate struct {
	w    *Watcher
	node string
	// tracer and component record the heartbeats' stop and resumption (Traced).
	tracer    oteltrace.Tracer
	component string

	mu      sync.Mutex
	stopped types.UID
	fault   *chaosv1alpha1.Fault // the fault that stopped the heartbeats
	since   time.Time
}

// Traced makes the gate record spans of component with tr: "stop heartbeats" when a fault
// stops them and "heartbeats stopped" (from the stop to the resumption) when they resume, both
// about the Fault (insight/trace). It returns g.
func (g *Gate) Traced(tr oteltrace.Tracer, component string) *Gate {
	if g != nil {
		g.tracer, g.component = tr, component
	}
	return g
}

// HeartbeatGate returns the gate of node's heartbeats.
func (w *Watcher) HeartbeatGate(node string) *Gate { return &Gate{w: w, node: node} }

// Check reports whether the node's heartbeats must be skipped now and whether they have just
// resumed (the first Check after a fault ended), logging the transitions. A nil Gate never stops.
func (g *Gate) Check(ctx context.Context) (stopped, resumed bool) {
	if g == nil {
		return false, false
	}
	f := g.w.HeartbeatFault(g.node)
	g.mu.Lock()
	defer g.mu.Unlock()
	log := klog.FromContext(ctx)
	switch {
	case f != nil && g.stopped != f.UID:
		end, _ := f.EndsAt()
		log.Info("Node heartbeats stopped by a fault", "node", g.node, "fault", klog.KObj(f), "until", end)
		g.stopped, g.fault, g.since = f.UID, f, g.w.clock.Now()
		g.record(ctx, "stop heartbeats", g.since, g.since)
	case f == nil && g.stopped != "":
		log.Info("Node heartbeats resumed", "node", g.node)
		g.record(ctx, "heartbeats stopped", g.since, g.w.clock.Now())
		g.stopped, g.fault = "", nil
		return false, true
	}
	return f != nil, false
}

// record records a span of the node's heartbeats about the gate's fault.
func (g *Gate) record(ctx context.Context, name string, from, to time.Time) {
	if g.tracer == nil || g.fault == nil {
		return
	}
	trace.Record(ctx, g.tracer, name, from, to, append(trace.Object("Fault", g.fault), trace.Component(g.component),
		attribute.String("k8s.node.name", g.node))...)
}
