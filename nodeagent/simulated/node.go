package simulated

import (
	"context"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/skiff-dev/skiff/insight/trace"
	"github.com/skiff-dev/skiff/nodeagent/faults"
	"github.com/skiff-dev/skiff/nodeagent/nodelease"
	"github.com/skiff-dev/skiff/nodeagent/podcidr"
	"github.com/skiff-dev/skiff/nodeagent/server"
	"github.com/skiff-dev/skiff/nodeagent/status"

	"go.opentelemetry.io/otel"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
)

// Config describes one simulated node.
type Config struct {
	// Name is the Node's name.
	Name string
	// Client talks to the API server.
	Client kubernetes.Interface
	// Allocatable is the node's capacity and allocatable (default 4 cpu, 8Gi memory, 110 pods).
	Allocatable corev1.ResourceList
	// Labels and Taints are set on the Node at registration.
	Labels map[string]string
	Taints []corev1.Taint
	// PodCIDR gives pod IPs; each node should have its own. Empty: the Node registers without
	// spec.podCIDR and the node waits for the node IPAM controller to assign it.
	PodCIDR string
	// LeaseDuration and RenewInterval of the node Lease (defaults 40 s and 10 s, as the kubelet).
	LeaseDuration time.Duration
	RenewInterval time.Duration
	// Clock is injectable for tests.
	Clock clock.Clock
	// CompleteFinitePods makes the containers of pods with restartPolicy Never or OnFailure exit
	// 0 as soon as they run, so Jobs complete (benchmarks); otherwise every pod runs until deleted.
	CompleteFinitePods bool
	// Faults, when set, makes the node honour NodeHeartbeat Faults (it stops renewing its Lease
	// while one targets it, and marks itself Ready again after). Nodes may share one Watcher.
	Faults *faults.Watcher
	// Server, when set, makes the node serve the node agent's API with its simulated resource
	// statistics (stats.go).
	Server *ServerConfig
}

// Node is a running simulated node.
type Node struct {
	cfg   Config
	queue workqueue.TypedRateLimitingInterface[string]
	pods  cache.Indexer

	// started is when the node started (its boot time in its statistics).
	started time.Time

	mu      sync.Mutex
	nextIP  uint32
	podIPs  map[string]string
	baseIP  net.IP
	ipLimit uint32
}

// New validates cfg and fills in defaults.
func New(cfg Config) (*Node, error) {
	if cfg.Name == "" || cfg.Client == nil {
		return nil, fmt.Errorf("simulated node needs a name and a client")
	}
	if cfg.Allocatable == nil {
		cfg.Allocatable = corev1.ResourceList{
			corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourceMemory: resource.MustParse("8Gi"),
			corev1.ResourcePods: resource.MustParse("110"), corev1.ResourceEphemeralStorage: resource.MustParse("100Gi"),
		}
	}
	if cfg.LeaseDuration == 0 {
		cfg.LeaseDuration = 40 * time.Second
	}
	if cfg.RenewInterval == 0 {
		cfg.RenewInterval = 10 * time.Second
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	node := &Node{
		cfg:    cfg,
		queue:  workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[string]()),
		podIPs: map[string]string{},
	}
	if cfg.PodCIDR != "" {
		if err := node.setPodCIDR(cfg.PodCIDR); err != nil {
			return nil, err
		}
	}
	return node, nil
}

// setPodCIDR makes cidr the range of the pods' IPs.
func (n *Node) setPodCIDR(cidr string) error {
	_, ipnet, err := net.ParseCIDR(cidr)
	if err != nil || ipnet.IP.To4() == nil {
		return fmt.Errorf("pod CIDR %q: need an IPv4 CIDR", cidr)
	}
	ones, _ := ipnet.Mask.Size()
	if ones > 30 {
		return fmt.Errorf("pod CIDR %q: need a /30 or larger", cidr)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.cfg.PodCIDR, n.baseIP, n.ipLimit = cidr, ipnet.IP.To4(), 1<<(32-ones)-2
	return nil
}

// Start registers the node and runs until ctx ends: lease renewal and pod status.
func (n *Node) Start(ctx context.Context) error {
	log := klog.FromContext(ctx).WithValues("node", n.cfg.Name)
	ctx = klog.NewContext(ctx, log)
	n.started = n.cfg.Clock.Now()
	var srv *server.Server
	if n.cfg.Server != nil {
		var err error
		if srv, err = n.newServer(); err != nil {
			return err
		}
	}
	if err := n.register(ctx); err != nil {
		return err
	}
	if n.cfg.PodCIDR == "" {
		cidr, err := podcidr.Wait(ctx, n.cfg.Client, n.cfg.Name)
		if err != nil {
			return err
		}
		if err := n.setPodCIDR(cidr); err != nil {
			return err
		}
	}
	factory := informers.NewSharedInformerFactoryWithOptions(n.cfg.Client, 0,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("spec.nodeName", n.cfg.Name).String()
		}))
	inf := factory.Core().V1().Pods().Informer()
	n.pods = inf.GetIndexer()
	enqueue := func(obj any) {
		if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil {
			n.queue.Add(key)
		}
	}
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: enqueue, UpdateFunc: func(_, o any) { enqueue(o) }, DeleteFunc: enqueue,
	}); err != nil {
		return fmt.Errorf("watching pods: %w", err)
	}
	factory.Start(ctx.Done())
	defer factory.Shutdown()
	defer n.queue.ShutDown()
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		return ctx.Err()
	}
	for i := 0; i < 4; i++ {
		go n.worker(ctx)
	}
	if srv != nil {
		go func() {
			if err := srv.Start(ctx); err != nil {
				log.Error(err, "Simulated node server stopped")
			}
		}()
	}
	var gate *faults.Gate
	if n.cfg.Faults != nil {
		go func() { _ = n.cfg.Faults.Start(ctx) }()
		gate = n.cfg.Faults.HeartbeatGate(n.cfg.Name).Traced(otel.Tracer(trace.ScopeName), trace.Agent(n.cfg.Name))
	}
	wait.UntilWithContext(ctx, func(ctx context.Context) {
		if stopped, resumed := gate.Check(ctx); stopped {
			return
		} else if resumed {
			if err := n.register(ctx); err != nil {
				log.Error(err, "Marking node ready after a fault")
			}
		}
		if err := n.renewLease(ctx); err != nil {
			log.Error(err, "Renewing node lease failed")
		}
	}, n.cfg.RenewInterval)
	return nil
}

func (n *Node) register(ctx context.Context) error {
	now := metav1.NewTime(n.cfg.Clock.Now())
	labels := map[string]string{corev1.LabelHostname: n.cfg.Name, corev1.LabelOSStable: "linux", corev1.LabelArchStable: "amd64",
		"type": "simulated"}
	for k, v := range n.cfg.Labels {
		labels[k] = v
	}
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: n.cfg.Name, Labels: labels},
		Spec:       corev1.NodeSpec{Taints: n.cfg.Taints},
		Status: corev1.NodeStatus{
			Capacity: n.cfg.Allocatable, Allocatable: n.cfg.Allocatable, Phase: corev1.NodeRunning,
			Conditions: []corev1.NodeCondition{
				{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady", Message: "simulated node is posting ready status",
					LastHeartbeatTime: now, LastTransitionTime: now},
				{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasSufficientMemory", LastHeartbeatTime: now, LastTransitionTime: now},
				{Type: corev1.NodeDiskPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasNoDiskPressure", LastHeartbeatTime: now, LastTransitionTime: now},
				{Type: corev1.NodePIDPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasSufficientPID", LastHeartbeatTime: now, LastTransitionTime: now},
			},
			NodeInfo: corev1.NodeSystemInfo{KubeletVersion: "v1.37.2-skiff-simulated", ContainerRuntimeVersion: "simulated://0",
				OperatingSystem: "linux", Architecture: "amd64", OSImage: "simulated"},
			Addresses: []corev1.NodeAddress{{Type: corev1.NodeHostName, Address: n.cfg.Name}},
		},
	}
	if sc := n.cfg.Server; sc != nil {
		// The API server reaches the node's server at its listener (metrics, logs, exec).
		if addr, ok := sc.Listener.Addr().(*net.TCPAddr); ok {
			node.Status.Addresses = append([]corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: addr.IP.String()}}, node.Status.Addresses...)
			node.Status.DaemonEndpoints.KubeletEndpoint.Port = int32(addr.Port)
		}
	}
	if n.cfg.PodCIDR != "" {
		node.Spec.PodCIDR, node.Spec.PodCIDRs = n.cfg.PodCIDR, []string{n.cfg.PodCIDR}
	}
	_, err := n.cfg.Client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		// Coming back: mark it Ready again.
		cur, err := n.cfg.Client.CoreV1().Nodes().Get(ctx, n.cfg.Name, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("reading node %s: %w", n.cfg.Name, err)
		}
		cur.Status.Conditions = node.Status.Conditions
		cur.Status.Addresses, cur.Status.DaemonEndpoints = node.Status.Addresses, node.Status.DaemonEndpoints
		_, err = n.cfg.Client.CoreV1().Nodes().UpdateStatus(ctx, cur, metav1.UpdateOptions{})
		if err != nil {
			return fmt.Errorf("updating node %s: %w", n.cfg.Name, err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("registering node %s: %w", n.cfg.Name, err)
	}
	return nil
}

func (n *Node) renewLease(ctx context.Context) error {
	return nodelease.Renew(ctx, n.cfg.Client, n.cfg.Name, n.cfg.LeaseDuration, n.cfg.Clock.Now())
}

func (n *Node) worker(ctx context.Context) {
	for {
		key, quit := n.queue.Get()
		if quit {
			return
		}
		if err := n.syncPod(ctx, key); err != nil {
			klog.FromContext(ctx).V(2).Info("Retrying pod sync", "pod", key, "err", err)
			n.queue.AddRateLimited(key)
		} else {
			n.queue.Forget(key)
		}
		n.queue.Done(key)
	}
}

// syncPod makes a pod Running and Ready, or finishes its deletion.
func (n *Node) syncPod(ctx context.Context, key string) error {
	obj, exists, err := n.pods.GetByKey(key)
	if err != nil {
		return err
	}
	if !exists {
		n.releaseIP(key)
		return nil
	}
	pod := obj.(*corev1.Pod)
	pods := n.cfg.Client.CoreV1().Pods(pod.Namespace)
	if pod.DeletionTimestamp != nil {
		err := pods.Delete(ctx, pod.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0),
			Preconditions: &metav1.Preconditions{UID: &pod.UID}})
		if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
			return nil
		}
		return err
	}
	switch {
	case pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed:
		return nil
	case pod.Status.Phase == corev1.PodRunning && pod.Status.PodIP != "":
		finish := n.cfg.CompleteFinitePods && pod.Spec.RestartPolicy != corev1.RestartPolicyAlways
		if !finish && status.GenerationObserved(&pod.Status, pod.Generation) {
			return nil
		}
		updated := pod.DeepCopy()
		if finish {
			updated.Status = succeededStatus(pod, n.cfg.Clock.Now())
		}
		addEphemeralStatuses(updated, n.cfg.Clock.Now())
		status.ObserveGeneration(&updated.Status, pod.Generation)
		_, err := pods.UpdateStatus(ctx, updated, metav1.UpdateOptions{})
		if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
			return nil
		}
		return err
	}
	ip, err := n.allocateIP(key)
	if err != nil {
		return err
	}
	updated := pod.DeepCopy()
	updated.Status = runningStatus(pod, ip, n.cfg.Clock.Now())
	status.ObserveGeneration(&updated.Status, pod.Generation)
	_, err = pods.UpdateStatus(ctx, updated, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

func runningStatus(pod *corev1.Pod, ip string, now time.Time) corev1.PodStatus {
	t := metav1.NewTime(now)
	s := *pod.Status.DeepCopy()
	s.Phase, s.PodIP, s.PodIPs, s.StartTime = corev1.PodRunning, ip, []corev1.PodIP{{IP: ip}}, &t
	s.HostIP = "127.0.0.1"
	s.HostIPs = []corev1.HostIP{{IP: s.HostIP}}
	running := func(c *corev1.Container) corev1.ContainerStatus {
		return corev1.ContainerStatus{
			Name: c.Name, Image: c.Image, ImageID: "simulated://" + c.Image, ContainerID: "simulated://" + pod.Name + "/" + c.Name,
			Ready: true, Started: ptr.To(true), State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: t}},
		}
	}
	// init containers completed; sidecars (restartable init containers) keep running.
	s.InitContainerStatuses = nil
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		st := running(c)
		if c.RestartPolicy == nil || *c.RestartPolicy != corev1.ContainerRestartPolicyAlways {
			st.Started = ptr.To(false)
			st.State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0, Reason: "Completed",
				StartedAt: t, FinishedAt: t, ContainerID: st.ContainerID}}
		}
		s.InitContainerStatuses = append(s.InitContainerStatuses, st)
	}
	s.ContainerStatuses = nil
	for i := range pod.Spec.Containers {
		s.ContainerStatuses = append(s.ContainerStatuses, running(&pod.Spec.Containers[i]))
	}
	for _, c := range []corev1.PodConditionType{corev1.PodReadyToStartContainers, corev1.PodInitialized, corev1.ContainersReady, corev1.PodReady, corev1.PodScheduled} {
		setCondition(&s, corev1.PodCondition{Type: c, Status: corev1.ConditionTrue, LastTransitionTime: t})
	}
	return s
}

// addEphemeralStatuses gives each ephemeral container of a running pod without a status yet a
// running one (never ready, without started, as a real node's).
func addEphemeralStatuses(pod *corev1.Pod, now time.Time) {
	have := map[string]bool{}
	for _, st := range pod.Status.EphemeralContainerStatuses {
		have[st.Name] = true
	}
	for _, ec := range pod.Spec.EphemeralContainers {
		if have[ec.Name] {
			continue
		}
		pod.Status.EphemeralContainerStatuses = append(pod.Status.EphemeralContainerStatuses, corev1.ContainerStatus{
			Name: ec.Name, Image: ec.Image, ImageID: "simulated://" + ec.Image, ContainerID: "simulated://" + pod.Name + "/" + ec.Name,
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(now)}},
		})
	}
}

// succeededStatus is a running pod's status once every app container exited 0 (and its
// sidecars were stopped).
func succeededStatus(pod *corev1.Pod, now time.Time) corev1.PodStatus {
	t := metav1.NewTime(now)
	s := *pod.Status.DeepCopy()
	s.Phase = corev1.PodSucceeded
	// every container exited 0; sidecars were stopped after the app containers (SIGTERM).
	for i := range s.InitContainerStatuses {
		c := &s.InitContainerStatuses[i]
		if c.State.Running != nil {
			c.Ready, c.Started = false, ptr.To(false)
			c.State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 143, Reason: "Error",
				StartedAt: c.State.Running.StartedAt, FinishedAt: t, ContainerID: c.ContainerID}}
		}
	}
	for i := range s.ContainerStatuses {
		c := &s.ContainerStatuses[i]
		started := t
		if c.State.Running != nil {
			started = c.State.Running.StartedAt
		}
		c.Ready, c.Started = false, ptr.To(false)
		c.State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0, Reason: "Completed",
			StartedAt: started, FinishedAt: t, ContainerID: c.ContainerID}}
	}
	for _, c := range []corev1.PodConditionType{corev1.ContainersReady, corev1.PodReady} {
		setCondition(&s, corev1.PodCondition{Type: c, Status: corev1.ConditionFalse, Reason: "PodCompleted", LastTransitionTime: t})
	}
	return s
}

func setCondition(s *corev1.PodStatus, c corev1.PodCondition) {
	for i := range s.Conditions {
		if s.Conditions[i].Type == c.Type {
			if s.Conditions[i].Status == c.Status {
				return
			}
			s.Conditions[i] = c
			return
		}
	}
	s.Conditions = append(s.Conditions, c)
}

func (n *Node) allocateIP(key string) (string, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if ip, ok := n.podIPs[key]; ok {
		return ip, nil
	}
	used := map[string]bool{}
	for _, ip := range n.podIPs {
		used[ip] = true
	}
	base := uint32(n.baseIP[0])<<24 | uint32(n.baseIP[1])<<16 | uint32(n.baseIP[2])<<8 | uint32(n.baseIP[3])
	for i := uint32(0); i < n.ipLimit; i++ {
		off := 2 + (n.nextIP+i)%(n.ipLimit-1) // .1 is the node's bridge
		v := base + off
		ip := net.IPv4(byte(v>>24), byte(v>>16), byte(v>>8), byte(v)).String()
		if !used[ip] {
			n.nextIP = off
			n.podIPs[key] = ip
			return ip, nil
		}
	}
	return "", fmt.Errorf("pod CIDR %s is full", n.cfg.PodCIDR)
}

func (n *Node) releaseIP(key string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(n.podIPs, key)
}
