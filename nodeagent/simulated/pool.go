package simulated

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/flowcontrol"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"

	"github.com/skiff-dev/skiff/nodeagent/faults"
	"github.com/skiff-dev/skiff/nodeagent/kuberuntime"
	"github.com/skiff-dev/skiff/nodeagent/podworkers"
)

// PoolConfig configures a Pool.
type PoolConfig struct {
	// Client talks to the API server (protobuf, as every internal client).
	Client kubernetes.Interface
	// Clock is injectable for tests.
	Clock clock.WithTicker
	// Faults, when set, makes the nodes honour NodeHeartbeat Faults; the pool starts it.
	Faults *faults.Watcher
	// StatusQPS and StatusBurst limit the status writes (pods' and Nodes') of all the pool's
	// nodes together (default 500 and 1000).
	StatusQPS   float32
	StatusBurst int
	// HeartbeatWorkers run the nodes' registrations, Lease renewals and node status syncs
	// (default 128: after a control-plane restart every node's next renewal dials and
	// handshakes a new connection, as thousands of kubelets do at once; 16 renewed 5,000
	// nodes' Leases in about 100 s).
	HeartbeatWorkers int

	// node, when set, limits the watches to that node's pods and Node (the pool of a node
	// started without one).
	node string
	// podSource and nodeSource replace the watches of pods and Nodes (tests).
	podSource, nodeSource cache.ListerWatcher
}

// Pool runs simulated nodes in one process at a few KiB each: one pod informer for all of
// them (pods dispatched by spec.nodeName), one Node informer (only the podCIDRs are kept), one
// kuberuntime manager on one in-memory CRI runtime, one set of pod workers, one scheduler of
// the nodes' Lease renewals and status syncs, one limiter of their status writes.
type Pool struct {
	cfg     PoolConfig
	pods    cache.SharedIndexInformer
	nodeInf cache.SharedIndexInformer
	rt      *memRuntime
	kr      *kuberuntime.Manager
	workers *podworkers.PodWorkers
	limiter flowcontrol.RateLimiter
	sched   *scheduler

	mu    sync.RWMutex
	nodes map[string]*Node

	once    sync.Once
	ctx     context.Context // guarded by mu; set once the pool runs
	started chan struct{}
}

// Pod informer indexes.
const (
	byNode = "node"
	byUID  = "uid"
)

// errNodeNotReady makes the pod workers retry a pod of a node not registered yet, or waiting
// for its pod CIDR.
var errNodeNotReady = errors.New("simulated node not ready")

// NewPool makes a pool; Start runs it, Add adds nodes.
func NewPool(cfg PoolConfig) (*Pool, error) {
	if cfg.Client == nil {
		return nil, fmt.Errorf("simulated nodes need a client")
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	if cfg.StatusQPS == 0 {
		cfg.StatusQPS = 500
	}
	if cfg.StatusBurst == 0 {
		cfg.StatusBurst = 1000
	}
	if cfg.HeartbeatWorkers == 0 {
		cfg.HeartbeatWorkers = 128
	}
	p := &Pool{cfg: cfg, nodes: map[string]*Node{}, started: make(chan struct{}),
		limiter: flowcontrol.NewTokenBucketRateLimiterWithClock(cfg.StatusQPS, cfg.StatusBurst, cfg.Clock)}
	p.rt = newMemRuntime(cfg.Clock)
	p.rt.ipFor, p.rt.release, p.rt.exitsAtStart = p.allocateIP, p.releaseIP, p.exitsAtStart
	p.kr = kuberuntime.NewManager(kuberuntime.Config{Runtime: p.rt, Images: p.rt, RuntimeName: RuntimeName, Clock: cfg.Clock,
		// Lifecycle hooks succeed at once: exec through the runtime's ExecSync, no HTTP, no sleep.
		Hooks: kuberuntime.HookRunners{
			HTTP:  func(*http.Request) (*http.Response, error) { return okResponse(), nil },
			Sleep: func(context.Context, time.Duration) error { return nil },
		}})
	p.workers = podworkers.New(podworkers.Config{Sync: p.syncPod, Terminate: p.terminatePod, OnTerminated: p.terminated,
		RetryPeriod: time.Second, Clock: cfg.Clock})
	p.sched = newScheduler(cfg.Clock, cfg.HeartbeatWorkers, p.runTask)
	p.pods = cache.NewSharedIndexInformer(p.podSource(), &corev1.Pod{}, 0, cache.Indexers{
		byNode: func(obj any) ([]string, error) { return []string{obj.(*corev1.Pod).Spec.NodeName}, nil },
		byUID:  func(obj any) ([]string, error) { return []string{string(obj.(*corev1.Pod).UID)}, nil },
	})
	// Managed fields are not the simulated nodes' business (a status write without them keeps
	// the server's).
	if err := p.pods.SetTransform(func(obj any) (any, error) {
		if pod, ok := obj.(*corev1.Pod); ok {
			pod.ManagedFields = nil
		}
		return obj, nil
	}); err != nil {
		return nil, err
	}
	if _, err := p.pods.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { p.handlePod(obj.(*corev1.Pod)) },
		UpdateFunc: func(_, obj any) { p.handlePod(obj.(*corev1.Pod)) },
		DeleteFunc: func(obj any) {
			if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = t.Obj
			}
			if pod, ok := obj.(*corev1.Pod); ok {
				p.handlePodRemoved(pod)
			}
		},
	}); err != nil {
		return nil, err
	}
	p.nodeInf = cache.NewSharedIndexInformer(p.nodeSource(), &corev1.Node{}, 0, cache.Indexers{})
	// Only the name and the pod CIDR of a Node are kept: a few bytes a node.
	if err := p.nodeInf.SetTransform(func(obj any) (any, error) {
		if n, ok := obj.(*corev1.Node); ok {
			return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: n.Name, UID: n.UID, ResourceVersion: n.ResourceVersion},
				Spec: corev1.NodeSpec{PodCIDR: n.Spec.PodCIDR}}, nil
		}
		return obj, nil
	}); err != nil {
		return nil, err
	}
	if _, err := p.nodeInf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { p.handleNode(obj.(*corev1.Node)) },
		UpdateFunc: func(_, obj any) { p.handleNode(obj.(*corev1.Node)) },
	}); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *Pool) podSource() cache.ListerWatcher {
	if p.cfg.podSource != nil {
		return p.cfg.podSource
	}
	sel := fields.OneTermNotEqualSelector("spec.nodeName", "")
	if p.cfg.node != "" {
		sel = fields.OneTermEqualSelector("spec.nodeName", p.cfg.node)
	}
	return p.listWatch(func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
		o.FieldSelector = sel.String()
		return p.cfg.Client.CoreV1().Pods("").List(ctx, o)
	}, func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
		o.FieldSelector = sel.String()
		return p.cfg.Client.CoreV1().Pods("").Watch(ctx, o)
	})
}

func (p *Pool) nodeSource() cache.ListerWatcher {
	if p.cfg.nodeSource != nil {
		return p.cfg.nodeSource
	}
	sel := fields.Everything()
	if p.cfg.node != "" {
		sel = fields.OneTermEqualSelector("metadata.name", p.cfg.node)
	}
	return p.listWatch(func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
		o.FieldSelector = sel.String()
		return p.cfg.Client.CoreV1().Nodes().List(ctx, o)
	}, func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
		o.FieldSelector = sel.String()
		return p.cfg.Client.CoreV1().Nodes().Watch(ctx, o)
	})
}

// listWatch lists and watches with the pool's client, streaming lists (WatchList) when the
// client supports them.
func (p *Pool) listWatch(list func(context.Context, metav1.ListOptions) (runtime.Object, error),
	w func(context.Context, metav1.ListOptions) (watch.Interface, error)) cache.ListerWatcher {
	return cache.ToListWatcherWithWatchListSemantics(&cache.ListWatch{ListWithContextFunc: list, WatchFuncWithContext: w}, p.cfg.Client)
}

// Start runs the pool until ctx ends: its informers, pod workers and heartbeats. Nodes added
// before or after run from then on.
func (p *Pool) Start(ctx context.Context) error {
	first := false
	p.once.Do(func() { first = true })
	if !first {
		<-ctx.Done()
		return nil
	}
	var wg sync.WaitGroup
	run := func(f func()) {
		wg.Add(1)
		go func() { defer wg.Done(); f() }()
	}
	if p.cfg.Faults != nil {
		run(func() { _ = p.cfg.Faults.Start(ctx) })
	}
	run(func() { p.nodeInf.RunWithContext(ctx) })
	run(func() { p.pods.RunWithContext(ctx) })
	if !cache.WaitForCacheSync(ctx.Done(), p.pods.HasSynced, p.nodeInf.HasSynced) {
		wg.Wait()
		return ctx.Err()
	}
	p.mu.Lock()
	p.ctx = ctx
	for _, n := range p.nodes {
		p.resume(n)
		p.serve(ctx, n)
	}
	p.mu.Unlock()
	// What the nodes ran before a restart (adopt), before their pods' first syncs.
	adopted := 0
	for _, obj := range p.pods.GetStore().List() {
		if pod := obj.(*corev1.Pod); p.node(pod.Spec.NodeName) != nil && p.rt.adopt(pod) {
			adopted++
		}
	}
	if adopted > 0 {
		klog.FromContext(ctx).Info("Simulated nodes adopted the pods they ran", "pods", adopted)
	}
	run(func() { _ = p.workers.Start(ctx) })
	run(func() { p.sched.Start(ctx) })
	close(p.started)
	<-ctx.Done()
	wg.Wait()
	return nil
}

// resume starts the Lease renewals at once of a node whose Node is in the API already (a
// restart: the kubelet's Lease controller runs from its start, beside the registration) and
// lets it run its pods while it registers again (p.mu held).
func (p *Pool) resume(n *Node) {
	if _, ok, _ := p.nodeInf.GetStore().GetByKey(n.cfg.Name); !ok {
		return
	}
	n.mu.Lock()
	n.existed = true
	n.mu.Unlock()
	// The Leases first (the node lifecycle controller's health signal), then the registrations.
	p.sched.schedule(&n.tasks[taskLease], n.started)
	p.sched.schedule(&n.tasks[taskRegister], p.cfg.Clock.Now())
}

// runTask runs one node's heartbeat task and returns when it is due again (0: never).
func (p *Pool) runTask(ctx context.Context, t *task) time.Duration {
	n := t.node
	ctx = klog.NewContext(ctx, klog.FromContext(ctx).WithValues("node", n.cfg.Name))
	switch t.kind {
	case taskRegister:
		if err := n.register(ctx); err != nil {
			klog.FromContext(ctx).Error(err, "Registering node, will retry")
			return time.Second
		}
		return 0
	case taskLease:
		// Bounded by its interval (a hanging request would hold a worker and every renewal
		// queued behind it); a failed renewal is retried sooner, a successful one jittered.
		next, err := n.lease.Heartbeat(ctx, n.cfg.RenewInterval, n.renewLease)
		if err != nil {
			return next
		}
		return jitter(next)
	case taskStatus:
		hctx, cancel := context.WithTimeout(ctx, n.cfg.StatusInterval)
		defer cancel()
		if err := n.syncStatus(hctx); err != nil {
			klog.FromContext(ctx).Error(err, "Updating node status failed")
		}
		return jitter(n.cfg.StatusInterval)
	}
	return 0
}

func (p *Pool) node(name string) *Node {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.nodes[name]
}

// podByUID is the cached pod of the UID.
func (p *Pool) podByUID(uid types.UID) *corev1.Pod {
	objs, err := p.pods.GetIndexer().ByIndex(byUID, string(uid))
	if err != nil || len(objs) == 0 {
		return nil
	}
	return objs[0].(*corev1.Pod)
}

// podsOn are the cached pods bound to the node.
func (p *Pool) podsOn(node string) []*corev1.Pod {
	objs, _ := p.pods.GetIndexer().ByIndex(byNode, node)
	out := make([]*corev1.Pod, 0, len(objs))
	for _, o := range objs {
		out = append(out, o.(*corev1.Pod))
	}
	return out
}

// resync hands a node's pods to the workers again (the node became ready).
func (p *Pool) resync(node string) {
	for _, pod := range p.podsOn(node) {
		p.handlePod(pod)
	}
}

func isTerminalAPI(pod *corev1.Pod) bool {
	return pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed
}

// handlePod is the agent's: a pod of one of the pool's nodes goes to its worker; a deleted one
// that finished is finished (containers removed, the object deleted); a finished one is never
// run again.
func (p *Pool) handlePod(pod *corev1.Pod) {
	if p.node(pod.Spec.NodeName) == nil {
		return
	}
	known := p.workers.IsKnown(pod.UID)
	if pod.DeletionTimestamp != nil && (p.workers.IsTerminated(pod.UID) || isTerminalAPI(pod) && !known) {
		p.finish(pod)
		return
	}
	if isTerminalAPI(pod) && !known {
		return
	}
	p.workers.UpdatePod(pod)
}

// handlePodRemoved is the agent's: a pod removed from the API is stopped and its containers
// removed.
func (p *Pool) handlePodRemoved(pod *corev1.Pod) {
	if p.node(pod.Spec.NodeName) == nil {
		return
	}
	if p.workers.IsTerminated(pod.UID) || isTerminalAPI(pod) && !p.workers.IsKnown(pod.UID) {
		p.finish(pod)
		return
	}
	p.workers.KillPod(pod, nil)
}

// finish runs the termination path once more for a pod whose worker ended (or that never had
// one): its containers and sandboxes are removed and, while the API has it, the object deleted.
func (p *Pool) finish(pod *corev1.Pod) {
	p.workers.Forget(pod.UID)
	p.workers.KillPod(pod, nil)
}

// terminated forgets a pod the API no longer has once its worker ended.
func (p *Pool) terminated(pod *corev1.Pod) {
	if p.podByUID(pod.UID) == nil {
		p.workers.Forget(pod.UID)
	}
}

func (p *Pool) syncPod(ctx context.Context, pod *corev1.Pod) (bool, error) {
	n := p.node(pod.Spec.NodeName)
	if n == nil || !n.ready() {
		return false, errNodeNotReady
	}
	return n.syncPod(ctx, pod)
}

func (p *Pool) terminatePod(ctx context.Context, pod *corev1.Pod, grace *int64) error {
	n := p.node(pod.Spec.NodeName)
	if n == nil {
		return errNodeNotReady
	}
	return n.terminatePod(ctx, pod, grace)
}

// handleNode gives a node waiting for its pod CIDR the one the node IPAM controller assigned.
func (p *Pool) handleNode(node *corev1.Node) {
	if n := p.node(node.Name); n != nil && node.Spec.PodCIDR != "" {
		n.cidrAssigned(node.Spec.PodCIDR)
	}
}

func (p *Pool) allocateIP(uid, want string) (string, string, error) {
	pod := p.podByUID(types.UID(uid))
	if pod == nil {
		return "", "", fmt.Errorf("pod %s is gone", uid)
	}
	n := p.node(pod.Spec.NodeName)
	if n == nil {
		return "", "", errNodeNotReady
	}
	ip, err := n.allocateIP(uid, want)
	return ip, n.cfg.Name, err
}

func (p *Pool) releaseIP(uid, node string) {
	if n := p.node(node); n != nil {
		n.releaseIP(uid)
	}
}

// exitsAtStart: a regular init container completes at once; with CompleteFinitePods so do the
// containers of a pod that does not restart them always.
func (p *Pool) exitsAtStart(uid, name string) bool {
	pod := p.podByUID(types.UID(uid))
	if pod == nil {
		return false
	}
	for i := range pod.Spec.InitContainers {
		if c := &pod.Spec.InitContainers[i]; c.Name == name {
			return c.RestartPolicy == nil || *c.RestartPolicy != corev1.ContainerRestartPolicyAlways
		}
	}
	n := p.node(pod.Spec.NodeName)
	if n == nil || !n.cfg.CompleteFinitePods || pod.Spec.RestartPolicy == corev1.RestartPolicyAlways {
		return false
	}
	for i := range pod.Spec.Containers {
		if pod.Spec.Containers[i].Name == name {
			return true
		}
	}
	return false
}

// Add adds a node to the pool: it registers (retried until it succeeds), renews its Lease
// and posts its status from the pool's heartbeat workers, and runs the pods bound to it, from
// the pool's Start until Remove or the pool's end. It runs no goroutine of its own (but for
// its server, with Config.Server).
func (p *Pool) Add(cfg Config) (*Node, error) {
	cfg.Pool = p
	n, err := New(cfg)
	if err != nil {
		return nil, err
	}
	if err := p.add(n); err != nil {
		return nil, err
	}
	return n, nil
}

func (p *Pool) add(n *Node) error {
	p.mu.Lock()
	if _, dup := p.nodes[n.cfg.Name]; dup {
		p.mu.Unlock()
		return fmt.Errorf("simulated node %s added twice", n.cfg.Name)
	}
	p.nodes[n.cfg.Name] = n
	if p.ctx != nil {
		p.resume(n)
		p.serve(p.ctx, n)
	}
	p.mu.Unlock()
	n.started = p.cfg.Clock.Now()
	p.sched.schedule(&n.tasks[taskRegister], n.started)
	return nil
}

// serve runs the node's server (Config.Server) until ctx ends or the node is removed; without
// a certificate yet it first obtains one (ServerConfig.Certificate).
func (p *Pool) serve(ctx context.Context, n *Node) {
	sc := n.cfg.Server
	if sc == nil || (n.srv == nil && sc.Certificate == nil) {
		return
	}
	ctx, n.stopServer = context.WithCancel(ctx)
	srv := n.srv
	go func() {
		log := klog.FromContext(ctx)
		if srv == nil {
			certPEM, keyPEM, err := sc.Certificate(ctx)
			if err == nil {
				srv, err = n.newServer(certPEM, keyPEM)
			}
			if err != nil {
				if ctx.Err() == nil {
					log.Error(err, "Simulated node server not started", "node", n.cfg.Name)
				}
				return
			}
		}
		if err := srv.Start(ctx); err != nil {
			log.Error(err, "Simulated node server stopped", "node", n.cfg.Name)
		}
	}()
}

// Remove stops a node's heartbeats and pods (the Node object stays, as a stopped kubelet's).
func (p *Pool) Remove(n *Node) {
	n.stopped.Store(true)
	for i := range n.tasks {
		p.sched.unschedule(&n.tasks[i])
	}
	p.mu.Lock()
	delete(p.nodes, n.cfg.Name)
	if n.stopServer != nil {
		n.stopServer()
	}
	p.mu.Unlock()
}

// okResponse is what an HTTP lifecycle hook of a simulated container gets.
func okResponse() *http.Response {
	return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody}
}
