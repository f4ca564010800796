package nodelifecycle

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/retry"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/skiff-dev/skiff/controllers"
	"github.com/skiff-dev/skiff/insight/trace"
	"github.com/skiff-dev/skiff/insight/watchtrace"
)

// LeaseNamespace holds the node Leases.
const LeaseNamespace = corev1.NamespaceNodeLease

// podNodeIndex indexes pods by spec.nodeName in the manager's cache.
const podNodeIndex = "nodelifecycle.spec.nodeName"

// Config holds the controller's timings; zero fields take the defaults shown.
type Config struct {
	// GracePeriod is how long a node may go without renewing its Lease or posting status before
	// it is marked Unknown (50s, upstream's node-monitor-grace-period).
	GracePeriod time.Duration
	// MonitorPeriod is how often node health is checked (5s).
	MonitorPeriod time.Duration
	// OrphanQuarantine is how long a pod bound to a missing node waits before deletion (40s).
	OrphanQuarantine time.Duration
	// PodGCPeriod is how often all pods are checked for missing nodes and terminated pods are
	// counted (20s).
	PodGCPeriod time.Duration
	// TerminatedPodGCThreshold is how many terminated (Succeeded or Failed) pods may exist before
	// the oldest are deleted (upstream's --terminated-pod-gc-threshold); 0 or less keeps them all.
	TerminatedPodGCThreshold int
	// Clock is the time source (real time); tolerationSeconds timers run on it.
	Clock clock.WithTickerAndDelayedExecution
}

func (c Config) withDefaults() Config {
	if c.GracePeriod <= 0 {
		c.GracePeriod = 50 * time.Second
	}
	if c.MonitorPeriod <= 0 {
		c.MonitorPeriod = 5 * time.Second
	}
	if c.OrphanQuarantine <= 0 {
		c.OrphanQuarantine = 40 * time.Second
	}
	if c.PodGCPeriod <= 0 {
		c.PodGCPeriod = 20 * time.Second
	}
	if c.Clock == nil {
		c.Clock = clock.RealClock{}
	}
	return c
}

// Controller is the node lifecycle controller; it runs under leader election.
type Controller struct {
	cfg       Config
	client    kubernetes.Interface
	reader    client.Reader
	informers cache.Informers
	// podStore and nodeStore are the informers' stores, which the periodic sweeps read in
	// place (ofType).
	podStore, nodeStore toolscache.Store

	nodeRecorder, taintRecorder record.EventRecorder

	nodes workqueue.TypedRateLimitingInterface[string]
	pods  workqueue.TypedRateLimitingInterface[types.NamespacedName]

	// health is touched only by the monitor goroutine.
	health map[string]*nodeHealth

	mu        sync.Mutex
	evictions map[types.NamespacedName]*scheduledEviction
	orphans   map[types.UID]time.Time // when a pod was first seen bound to a missing node
}

// nodeHealth is what the monitor last saw of a node.
type nodeHealth struct {
	probe     time.Time // last time the node was seen alive
	renew     time.Time // lease renewTime last seen
	heartbeat time.Time // Ready condition lastHeartbeatTime last seen
}

// scheduledEviction is a pod's pending deletion for a tolerated NoExecute taint.
type scheduledEviction struct {
	created  time.Time
	deadline time.Time
	timer    clock.Timer
}

// New returns a controller with config c; add it to a manager with SetupWithManager.
func New(c Config) *Controller {
	c = c.withDefaults()
	return &Controller{
		cfg:       c,
		health:    map[string]*nodeHealth{},
		evictions: map[types.NamespacedName]*scheduledEviction{},
		orphans:   map[types.UID]time.Time{},
		nodes: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "nodelifecycle-nodes", Clock: c.Clock}),
		pods: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[types.NamespacedName](),
			workqueue.TypedRateLimitingQueueConfig[types.NamespacedName]{Name: "nodelifecycle-pods", Clock: c.Clock}),
	}
}

// SetupWithManager indexes pods by node in mgr's cache and adds the controller to mgr.
func (c *Controller) SetupWithManager(mgr manager.Manager) error {
	err := mgr.GetFieldIndexer().IndexField(context.Background(), &corev1.Pod{}, podNodeIndex, func(o client.Object) []string {
		if n := o.(*corev1.Pod).Spec.NodeName; n != "" {
			return []string{n}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("indexing pods by node: %w", err)
	}
	cs, err := kubernetes.NewForConfig(mgr.GetConfig())
	if err != nil {
		return err
	}
	c.client, c.reader, c.informers = cs, mgr.GetClient(), mgr.GetCache()
	return mgr.Add(c)
}

// NeedLeaderElection makes only the leading manager act.
func (c *Controller) NeedLeaderElection() bool { return true }

// Start runs the controller until ctx ends.
func (c *Controller) Start(ctx context.Context) error {
	if c.client == nil {
		return errors.New("nodelifecycle: SetupWithManager was not called")
	}
	logger := klog.FromContext(ctx).WithName("nodelifecycle")
	ctx = klog.NewContext(ctx, logger)

	broadcaster := record.NewBroadcaster(record.WithContext(ctx))
	broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: c.client.CoreV1().Events("")})
	defer broadcaster.Shutdown()
	c.nodeRecorder = broadcaster.NewRecorder(clientgoscheme.Scheme, corev1.EventSource{Component: "node-controller"})
	c.taintRecorder = broadcaster.NewRecorder(clientgoscheme.Scheme, corev1.EventSource{Component: "taint-eviction-controller"})

	nodeInf, err := c.informers.GetInformer(ctx, &corev1.Node{})
	if err != nil {
		return err
	}
	podInf, err := c.informers.GetInformer(ctx, &corev1.Pod{})
	if err != nil {
		return err
	}
	if _, err := c.informers.GetInformer(ctx, &coordinationv1.Lease{}); err != nil {
		return err
	}
	nodeReg, err := nodeInf.AddEventHandler(watchtrace.Handler(trace.NewWatch(componentLifecycle, "Node"), toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { c.nodes.Add(obj.(*corev1.Node).Name) },
		UpdateFunc: func(_, obj any) { c.nodes.Add(obj.(*corev1.Node).Name) },
		DeleteFunc: func(obj any) {
			if t, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
				obj = t.Obj
			}
			if n, ok := obj.(*corev1.Node); ok {
				c.nodes.Add(n.Name)
			}
		},
	}))
	if err != nil {
		return err
	}
	podReg, err := podInf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { c.enqueuePod(obj) },
		UpdateFunc: func(_, obj any) { c.enqueuePod(obj) },
		DeleteFunc: func(obj any) { c.enqueuePod(obj) },
	})
	if err != nil {
		return err
	}
	defer func() { _ = nodeInf.RemoveEventHandler(nodeReg); _ = podInf.RemoveEventHandler(podReg) }()
	if c.podStore, err = storeOf(podInf); err != nil {
		return err
	}
	if c.nodeStore, err = storeOf(nodeInf); err != nil {
		return err
	}
	if !toolscache.WaitForCacheSync(ctx.Done(), nodeReg.HasSynced, podReg.HasSynced) {
		return ctx.Err()
	}
	logger.Info("Starting node lifecycle controller", "gracePeriod", c.cfg.GracePeriod)

	var wg sync.WaitGroup
	wg.Go(func() { runQueue(ctx, c.nodes, c.syncNode) })
	for range 4 {
		wg.Go(func() { runQueue(ctx, c.pods, c.syncPod) })
	}
	wg.Go(func() { c.every(ctx, c.cfg.MonitorPeriod, c.monitor) })
	wg.Go(func() { c.every(ctx, c.cfg.PodGCPeriod, c.gcOrphans) })
	<-ctx.Done()
	c.nodes.ShutDown()
	c.pods.ShutDown()
	wg.Wait()
	c.mu.Lock()
	for _, ev := range c.evictions {
		ev.timer.Stop()
	}
	c.mu.Unlock()
	return nil
}

func (c *Controller) every(ctx context.Context, period time.Duration, f func(context.Context)) {
	t := c.cfg.Clock.NewTicker(period)
	defer t.Stop()
	for {
		f(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		}
	}
}

func runQueue[T comparable](ctx context.Context, q workqueue.TypedRateLimitingInterface[T], sync func(context.Context, T) error) {
	for {
		key, shutdown := q.Get()
		if shutdown {
			return
		}
		if err := sync(ctx, key); err != nil {
			if ctx.Err() == nil {
				klog.FromContext(ctx).Error(err, "Sync failed; retrying", "key", key)
			}
			q.AddRateLimited(key)
		} else {
			q.Forget(key)
		}
		q.Done(key)
	}
}

func (c *Controller) enqueuePod(obj any) {
	if t, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	if p, ok := obj.(*corev1.Pod); ok {
		c.pods.Add(types.NamespacedName{Namespace: p.Namespace, Name: p.Name})
	}
}

// monitor checks every node's Lease and heartbeat and marks silent nodes Unknown.
func (c *Controller) monitor(ctx context.Context) {
	// The cache's objects, read only: a copy of every Node every period was most of this
	// controller's cost at 5,000 nodes (issue 17).
	nodes := ofType[corev1.Node](c.nodeStore.List())
	now := c.cfg.Clock.Now()
	seen := map[string]bool{}
	for _, node := range nodes {
		seen[node.Name] = true
		h := c.health[node.Name]
		if h == nil {
			h = &nodeHealth{probe: now}
			c.health[node.Name] = h
		}
		if rc := condition(node, corev1.NodeReady); rc != nil && rc.LastHeartbeatTime.Time.After(h.heartbeat) {
			if !h.heartbeat.IsZero() {
				h.probe = now
			}
			h.heartbeat = rc.LastHeartbeatTime.Time
		}
		var lease coordinationv1.Lease
		if err := c.reader.Get(ctx, client.ObjectKey{Namespace: LeaseNamespace, Name: node.Name}, &lease, client.UnsafeDisableDeepCopy); err == nil && lease.Spec.RenewTime != nil {
			if renew := lease.Spec.RenewTime.Time; renew.After(h.renew) {
				h.probe, h.renew = now, renew
			}
		}
		if now.Sub(h.probe) <= c.cfg.GracePeriod {
			continue
		}
		if err := c.markNodeUnknown(ctx, node.Name, h, now); err != nil && ctx.Err() == nil {
			klog.FromContext(ctx).Error(err, "Marking node status unknown", "node", node.Name)
		}
	}
	for name := range c.health {
		if !seen[name] {
			delete(c.health, name)
		}
	}
}

// markNodeUnknown re-reads the node and its Lease from the API server (the cache may be behind
// a node that just came back) and marks the node Unknown if it is still silent.
func (c *Controller) markNodeUnknown(ctx context.Context, name string, h *nodeHealth, now time.Time) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		node, err := c.client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return client.IgnoreNotFound(err)
		}
		if rc := condition(node, corev1.NodeReady); rc != nil && rc.LastHeartbeatTime.Time.After(h.heartbeat) {
			h.probe, h.heartbeat = now, rc.LastHeartbeatTime.Time
			return nil
		}
		if lease, err := c.client.CoordinationV1().Leases(LeaseNamespace).Get(ctx, name, metav1.GetOptions{}); err == nil &&
			lease.Spec.RenewTime != nil && lease.Spec.RenewTime.Time.After(h.renew) {
			h.probe, h.renew = now, lease.Spec.RenewTime.Time
			return nil
		}
		wasReady := readyStatus(node) == corev1.ConditionTrue
		if !markUnknown(node, now) {
			return nil
		}
		recordSilence(ctx, node, h, now)
		sctx, span := nodeSpan(ctx, componentLifecycle, "mark Node Unknown", node, nil)
		_, err = c.client.CoreV1().Nodes().UpdateStatus(sctx, node, metav1.UpdateOptions{})
		end(span, err)
		if err != nil {
			return err
		}
		klog.FromContext(ctx).Info("Node stopped posting status; marked Unknown", "node", name)
		if wasReady {
			c.nodeRecorder.Eventf(node, corev1.EventTypeNormal, "NodeNotReady", "Node %s status is now: NodeNotReady", name)
		}
		return nil
	})
}

// syncNode makes the node's managed taints match its conditions and reprocesses its pods.
func (c *Controller) syncNode(ctx context.Context, name string) error {
	var node corev1.Node
	err := c.reader.Get(ctx, client.ObjectKey{Name: name}, &node)
	if err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	if err == nil {
		if taints, changed := reconcileTaints(&node, c.cfg.Clock.Now()); changed {
			sctx, span := nodeSpan(ctx, componentLifecycle, "taint Node", &node, nil, attribute.String("skiff.taints", taintsText(taints)))
			err := c.updateTaints(sctx, name)
			end(span, err)
			if err != nil {
				return err
			}
		}
	}
	var pods corev1.PodList
	if err := c.reader.List(ctx, &pods, client.MatchingFields{podNodeIndex: name}); err != nil {
		return err
	}
	for i := range pods.Items {
		c.pods.Add(types.NamespacedName{Namespace: pods.Items[i].Namespace, Name: pods.Items[i].Name})
	}
	return nil
}

func (c *Controller) updateTaints(ctx context.Context, name string) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		node, err := c.client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return client.IgnoreNotFound(err)
		}
		taints, changed := reconcileTaints(node, c.cfg.Clock.Now())
		if !changed {
			return nil
		}
		node.Spec.Taints = taints
		_, err = c.client.CoreV1().Nodes().Update(ctx, node, metav1.UpdateOptions{})
		return err
	})
}

// syncPod handles one pod: not-ready marking, NoExecute eviction and orphan collection.
func (c *Controller) syncPod(ctx context.Context, key types.NamespacedName) error {
	var pod corev1.Pod
	if err := c.reader.Get(ctx, key, &pod); err != nil {
		if apierrors.IsNotFound(err) {
			c.cancelEviction(key, nil)
			return nil
		}
		return err
	}
	if pod.Spec.NodeName == "" {
		c.cancelEviction(key, nil)
		return nil
	}
	var node corev1.Node
	if err := c.reader.Get(ctx, client.ObjectKey{Name: pod.Spec.NodeName}, &node); err != nil {
		if !apierrors.IsNotFound(err) {
			return err
		}
		c.cancelEviction(key, nil)
		return c.collectOrphan(ctx, &pod)
	}
	c.mu.Lock()
	delete(c.orphans, pod.UID)
	c.mu.Unlock()

	if s := readyStatus(&node); s != "" && s != corev1.ConditionTrue {
		if err := c.markPodNotReady(ctx, &node, &pod); err != nil {
			return err
		}
	}
	if pod.DeletionTimestamp != nil {
		c.cancelEviction(key, nil)
		return nil
	}
	wait, forever := tolerationTime(noExecuteTaints(&node), pod.Spec.Tolerations)
	if forever {
		c.cancelEviction(key, &pod)
		return nil
	}
	now := c.cfg.Clock.Now()
	c.mu.Lock()
	ev := c.evictions[key]
	created := now
	if ev != nil {
		created = ev.created
	}
	deadline := created.Add(wait)
	if now.Before(deadline) {
		if ev == nil || !ev.deadline.Equal(deadline) {
			if ev != nil {
				ev.timer.Stop()
			}
			c.evictions[key] = &scheduledEviction{created: created, deadline: deadline,
				timer: c.cfg.Clock.AfterFunc(deadline.Sub(now), func() { c.pods.Add(key) })}
		}
		c.mu.Unlock()
		return nil
	}
	if ev != nil {
		ev.timer.Stop()
		delete(c.evictions, key)
	}
	c.mu.Unlock()
	return c.evict(ctx, &node, &pod)
}

// cancelEviction drops a scheduled eviction; with pod set it records the cancellation event.
func (c *Controller) cancelEviction(key types.NamespacedName, pod *corev1.Pod) {
	c.mu.Lock()
	ev := c.evictions[key]
	delete(c.evictions, key)
	c.mu.Unlock()
	if ev == nil {
		return
	}
	ev.timer.Stop()
	if pod != nil {
		c.taintRecorder.Eventf(pod, corev1.EventTypeNormal, "TaintManagerEviction", "Cancelling deletion of Pod %s", key)
	}
}

// evict deletes a pod that does not (or no longer) tolerate its node's NoExecute taints.
func (c *Controller) evict(ctx context.Context, node *corev1.Node, pod *corev1.Pod) (err error) {
	ctx, span := nodeSpan(ctx, componentEviction, "evict Pod", node, pod, attribute.String("skiff.taints", taintsText(noExecuteTaints(node))))
	defer func() { end(span, err) }()
	key := types.NamespacedName{Namespace: pod.Namespace, Name: pod.Name}
	klog.FromContext(ctx).Info("Deleting pod for NoExecute taint", "pod", klog.KObj(pod), "node", pod.Spec.NodeName)
	c.taintRecorder.Eventf(pod, corev1.EventTypeNormal, "TaintManagerEviction", "Marking for deletion Pod %s", key)
	if err := c.patchCondition(ctx, pod, corev1.PodCondition{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue,
		Reason: "DeletionByTaintManager", Message: "Taint manager: deleting due to NoExecute taint"}, ""); err != nil {
		return err
	}
	err = c.client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &pod.UID}})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil
	}
	return err
}

// markPodNotReady sets a pod's Ready condition to False, as upstream's MarkPodsNotReady.
func (c *Controller) markPodNotReady(ctx context.Context, node *corev1.Node, pod *corev1.Pod) error {
	for _, cond := range pod.Status.Conditions {
		if cond.Type != corev1.PodReady || cond.Status == corev1.ConditionFalse {
			continue
		}
		cond.Status = corev1.ConditionFalse
		cond.LastTransitionTime = metav1.NewTime(c.cfg.Clock.Now())
		sctx, span := nodeSpan(ctx, componentLifecycle, "mark Pod not ready", node, pod)
		err := c.patchCondition(sctx, pod, cond, "")
		end(span, err)
		if err != nil {
			return err
		}
		c.nodeRecorder.Eventf(pod, corev1.EventTypeWarning, "NodeNotReady", "Node is not ready")
	}
	return nil
}

// collectOrphan deletes a pod whose node is gone once the quarantine passed and the API server
// confirms the node is missing.
func (c *Controller) collectOrphan(ctx context.Context, pod *corev1.Pod) error {
	now := c.cfg.Clock.Now()
	key := types.NamespacedName{Namespace: pod.Namespace, Name: pod.Name}
	c.mu.Lock()
	since, ok := c.orphans[pod.UID]
	if !ok {
		since = now
		c.orphans[pod.UID] = now
	}
	c.mu.Unlock()
	if left := since.Add(c.cfg.OrphanQuarantine).Sub(now); left > 0 {
		c.pods.AddAfter(key, left)
		return nil
	}
	if _, err := c.client.CoreV1().Nodes().Get(ctx, pod.Spec.NodeName, metav1.GetOptions{}); err == nil {
		return nil // the cache is behind: the node exists
	} else if !apierrors.IsNotFound(err) {
		return err
	}
	klog.FromContext(ctx).Info("Deleting orphaned pod", "pod", klog.KObj(pod), "node", pod.Spec.NodeName)
	phase := corev1.PodPhase("")
	if pod.Status.Phase != corev1.PodSucceeded && pod.Status.Phase != corev1.PodFailed {
		phase = corev1.PodFailed
	}
	if err := c.patchCondition(ctx, pod, corev1.PodCondition{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue,
		Reason: "DeletionByPodGC", Message: "PodGC: node no longer exists"}, phase); err != nil {
		return err
	}
	err := c.client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{
		GracePeriodSeconds: ptr(int64(0)), Preconditions: &metav1.Preconditions{UID: &pod.UID}})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return err
	}
	c.mu.Lock()
	delete(c.orphans, pod.UID)
	c.mu.Unlock()
	return nil
}

// gcOrphans enqueues every pod bound to a node the cache does not have.
func (c *Controller) gcOrphans(ctx context.Context) {
	// The cache's objects, read only (every pod of the cluster deep-copied each round was
	// 120 MB of garbage at 20,000 pods, and a list of their structs still 26 MB).
	pods := ofType[corev1.Pod](c.podStore.List())
	nodes := ofType[corev1.Node](c.nodeStore.List())
	have := make(map[string]bool, len(nodes))
	for _, n := range nodes {
		have[n.Name] = true
	}
	for _, p := range pods {
		if p.Spec.NodeName != "" && !have[p.Spec.NodeName] {
			c.pods.Add(types.NamespacedName{Namespace: p.Namespace, Name: p.Name})
		}
	}
	for _, p := range TerminatedPodsToDelete(pods, c.cfg.TerminatedPodGCThreshold) {
		err := c.client.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, *metav1.NewDeleteOptions(0))
		if err != nil && !apierrors.IsNotFound(err) {
			klog.FromContext(ctx).Error(err, "Deleting terminated pod failed", "pod", klog.KObj(p))
			continue
		}
		klog.FromContext(ctx).V(2).Info("Deleted terminated pod beyond the threshold", "pod", klog.KObj(p), "threshold", c.cfg.TerminatedPodGCThreshold)
	}
}

// patchCondition merges one pod condition (and optionally the phase) into the pod's status,
// unless the pod already has it.
func (c *Controller) patchCondition(ctx context.Context, pod *corev1.Pod, cond corev1.PodCondition, phase corev1.PodPhase) error {
	same := false
	for _, existing := range pod.Status.Conditions {
		if existing.Type == cond.Type && existing.Status == cond.Status && existing.Reason == cond.Reason {
			same = true
		}
	}
	if same && (phase == "" || pod.Status.Phase == phase) {
		return nil
	}
	if cond.LastTransitionTime.IsZero() {
		cond.LastTransitionTime = metav1.NewTime(c.cfg.Clock.Now())
	}
	status := map[string]any{"conditions": []corev1.PodCondition{cond}}
	if phase != "" {
		status["phase"] = phase
	}
	patch, err := json.Marshal(map[string]any{"status": status})
	if err != nil {
		return err
	}
	_, err = c.client.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status")
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

func ptr[T any](v T) *T { return &v }

// storeOf is inf's store: controller-runtime's cache hands out client-go's shared informers,
// whose stores the sweeps read in place.
func storeOf(inf cache.Informer) (toolscache.Store, error) {
	s, ok := controllers.UnwrapInformer(inf).(toolscache.SharedIndexInformer)
	if !ok {
		return nil, fmt.Errorf("node lifecycle: informer %T is not client-go's shared informer", inf)
	}
	return s.GetStore(), nil
}

// ofType are the items that are *T.
func ofType[T any, E any](items []E) []*T {
	out := make([]*T, 0, len(items))
	for _, o := range items {
		if t, ok := any(o).(*T); ok {
			out = append(out, t)
		}
	}
	return out
}
