package simulated

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"

	"go.opentelemetry.io/otel"

	"github.com/skiff-dev/skiff/insight/trace"
	"github.com/skiff-dev/skiff/nodeagent/apistatus"
	"github.com/skiff-dev/skiff/nodeagent/faults"
	"github.com/skiff-dev/skiff/nodeagent/kuberuntime"
	"github.com/skiff-dev/skiff/nodeagent/nodelease"
	"github.com/skiff-dev/skiff/nodeagent/probes"
	"github.com/skiff-dev/skiff/nodeagent/server"
	"github.com/skiff-dev/skiff/nodeagent/status"
)

// Config describes one simulated node.
type Config struct {
	// Name is the Node's name.
	Name string
	// Client writes the node's Node, Lease and pod statuses (default: the pool's client, which
	// watches the pods of all its nodes).
	Client kubernetes.Interface
	// Pool runs the node with others (one pod watch for all of them, see Pool); nil: the node
	// gets a pool of its own, watching only its pods.
	Pool *Pool
	// Allocatable is the node's capacity and allocatable (default 4 cpu, 8Gi memory, 110 pods).
	Allocatable corev1.ResourceList
	// Labels and Taints are set on the Node at registration.
	Labels map[string]string
	Taints []corev1.Taint
	// PodCIDR gives pod IPs; each node should have its own. Empty: the Node registers without
	// spec.podCIDR, NotReady, and the node waits for the node IPAM controller to assign it.
	PodCIDR string
	// LeaseDuration and RenewInterval of the node Lease (defaults 40 s and 10 s, as the kubelet).
	LeaseDuration time.Duration
	RenewInterval time.Duration
	// StatusInterval is how often the node status is computed (10 s); it is posted when it
	// changed or StatusReportInterval (5 min) passed, as the agent's.
	StatusInterval       time.Duration
	StatusReportInterval time.Duration
	// Clock is injectable for tests (a node's own pool uses it).
	Clock clock.Clock
	// CompleteFinitePods makes the containers of pods with restartPolicy Never or OnFailure exit
	// 0 as soon as they start, so Jobs complete (benchmarks); otherwise every pod runs until deleted.
	CompleteFinitePods bool
	// Faults, when set, makes the node honour NodeHeartbeat Faults (it stops renewing its Lease
	// and posting its status while one targets it, and marks itself Ready again after); default:
	// its pool's (PoolConfig.Faults). Nodes may share one Watcher; a node's own pool starts it.
	Faults *faults.Watcher
	// Server, when set, makes the node serve the node agent's API with its simulated resource
	// statistics (stats.go).
	Server *ServerConfig
}

// defaultAllocatable is the capacity of nodes not given one (shared, never modified).
var defaultAllocatable = corev1.ResourceList{
	corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourceMemory: resource.MustParse("8Gi"),
	corev1.ResourcePods: resource.MustParse("110"), corev1.ResourceEphemeralStorage: resource.MustParse("100Gi"),
}

// nodeInfo is what every simulated node reports as status.nodeInfo.
var nodeInfo = corev1.NodeSystemInfo{KubeletVersion: apistatus.KubeletVersion, ContainerRuntimeVersion: RuntimeName + "://" + RuntimeVersion,
	OperatingSystem: "linux", Architecture: "amd64", OSImage: "simulated"}

// Node is a simulated node: the agent's node status, registration and Lease code, and its pod
// lifecycle (pod workers, kuberuntime, status generation) on an in-memory runtime.
type Node struct {
	cfg  Config
	pool *Pool
	// own: the pool is the node's own (Config.Pool nil), started with it.
	own   bool
	gate  *faults.Gate
	tasks [numTasks]task
	lease nodelease.Renewer // used by the lease task only
	srv   *server.Server
	// stopServer ends the server (guarded by the pool's mu).
	stopServer context.CancelFunc
	// started is when the node started (its boot time in its statistics).
	started time.Time
	stopped atomic.Bool

	// lastStatus is the node status last posted and when.
	lastStatus apistatus.LastReport

	mu         sync.Mutex
	registered bool
	// existed: the Node was in the API when the pool started (a restart).
	existed bool
	ips     ipRange
}

// ipRange hands out the pod IPs of the node's pod CIDR.
type ipRange struct {
	cidr   string
	base   uint32
	limit  uint32
	next   uint32
	byPod  map[string]uint32
	usedIP map[uint32]bool
}

// New validates cfg and fills in defaults.
func New(cfg Config) (*Node, error) {
	if cfg.Name == "" || cfg.Client == nil && cfg.Pool == nil {
		return nil, fmt.Errorf("simulated node needs a name and a client")
	}
	if cfg.Allocatable == nil {
		cfg.Allocatable = defaultAllocatable
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&cfg.LeaseDuration, 40*time.Second)
	def(&cfg.RenewInterval, 10*time.Second)
	def(&cfg.StatusInterval, 10*time.Second)
	def(&cfg.StatusReportInterval, 5*time.Minute)
	n := &Node{cfg: cfg, pool: cfg.Pool}
	if n.pool == nil {
		clk, ok := cfg.Clock.(clock.WithTicker)
		if !ok {
			clk = clock.RealClock{}
		}
		pool, err := NewPool(PoolConfig{Client: cfg.Client, Clock: clk, Faults: cfg.Faults, node: cfg.Name})
		if err != nil {
			return nil, err
		}
		n.pool, n.own = pool, true
	}
	// A node's own client writes its Node, Lease and pods' statuses (a node credential may write
	// only its own); the pool's client watches for all.
	if n.cfg.Client == nil {
		n.cfg.Client = n.pool.cfg.Client
	}
	n.cfg.Clock = n.pool.cfg.Clock
	if n.cfg.Faults == nil {
		n.cfg.Faults = n.pool.cfg.Faults
	}
	if n.cfg.Faults != nil {
		n.gate = n.cfg.Faults.HeartbeatGate(cfg.Name).Traced(otel.Tracer(trace.ScopeName), trace.Agent(cfg.Name))
	}
	for i := range n.tasks {
		n.tasks[i] = task{node: n, kind: i, index: -1}
	}
	if cfg.PodCIDR != "" {
		if err := n.setPodCIDR(cfg.PodCIDR); err != nil {
			return nil, err
		}
	}
	if sc := cfg.Server; sc != nil && len(sc.CertPEM) > 0 {
		var err error
		if n.srv, err = n.newServer(sc.CertPEM, sc.KeyPEM); err != nil {
			return nil, err
		}
	}
	return n, nil
}

// Name is the node's name.
func (n *Node) Name() string { return n.cfg.Name }

// Start runs the node until ctx ends: it joins its pool (and starts a pool of its own, or the
// shared pool if no one started it: the first node's ctx is then the pool's).
func (n *Node) Start(ctx context.Context) error {
	log := klog.FromContext(ctx).WithValues("node", n.cfg.Name)
	ctx = klog.NewContext(ctx, log)
	if err := n.pool.add(n); err != nil {
		return err
	}
	defer n.pool.Remove(n)
	go func() { _ = n.pool.Start(ctx) }()
	<-ctx.Done()
	return nil
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
	ip := ipnet.IP.To4()
	n.mu.Lock()
	defer n.mu.Unlock()
	n.ips = ipRange{cidr: cidr, base: ipUint32(ip), limit: 1<<(32-ones) - 2}
	return nil
}

// ready: registered (or its Node was in the API when the pool started: a restarted node runs
// its pods while it registers again), with a pod CIDR.
func (n *Node) ready() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return (n.registered || n.existed) && n.ips.cidr != ""
}

// cidrAssigned takes the pod CIDR the node IPAM controller assigned: the node posts its status
// (Ready now) and runs its pods.
func (n *Node) cidrAssigned(cidr string) {
	n.mu.Lock()
	have := n.ips.cidr != ""
	n.mu.Unlock()
	if have {
		return
	}
	if err := n.setPodCIDR(cidr); err != nil {
		klog.Background().Error(err, "Simulated node's pod CIDR", "node", n.cfg.Name)
		return
	}
	klog.Background().V(1).Info("Node podCIDR assigned", "node", n.cfg.Name, "podCIDR", cidr)
	n.pool.sched.schedule(&n.tasks[taskStatus], n.cfg.Clock.Now())
	n.pool.resync(n.cfg.Name)
}

func (n *Node) labels() map[string]string {
	l := map[string]string{corev1.LabelHostname: n.cfg.Name, corev1.LabelOSStable: "linux", corev1.LabelArchStable: "amd64",
		"type": "simulated"}
	for k, v := range n.cfg.Labels {
		l[k] = v
	}
	return l
}

// nodeStatus is the agent's node status for the simulated node's configuration.
func (n *Node) nodeStatus(old *corev1.NodeStatus) corev1.NodeStatus {
	addrs := []corev1.NodeAddress{{Type: corev1.NodeHostName, Address: n.cfg.Name}}
	var port int32
	if sc := n.cfg.Server; sc != nil {
		// The API server reaches the node's server at its listener (metrics, logs, exec).
		if addr, ok := sc.Listener.Addr().(*net.TCPAddr); ok {
			addrs = append([]corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: addr.IP.String()}}, addrs...)
			port = int32(addr.Port)
		}
	}
	n.mu.Lock()
	noCIDR := n.ips.cidr == ""
	n.mu.Unlock()
	return apistatus.NodeStatus(apistatus.NodeStatusInput{Capacity: n.cfg.Allocatable, Allocatable: n.cfg.Allocatable, Addresses: addrs,
		KubeletPort: port, NodeInfo: nodeInfo, NetworkNotReady: noCIDR, Now: n.cfg.Clock.Now()}, old)
}

func (n *Node) registration() apistatus.NodeRegistration {
	n.mu.Lock()
	cidr := n.ips.cidr
	n.mu.Unlock()
	return apistatus.NodeRegistration{Client: n.cfg.Client, Name: n.cfg.Name, Labels: n.labels(), Taints: n.cfg.Taints, PodCIDR: cidr,
		Status: n.nodeStatus}
}

// register registers the Node (the register task); then the node's Lease and status
// heartbeats begin, spread over their intervals, and its pods run once it has a pod CIDR.
func (n *Node) register(ctx context.Context) error {
	st, err := n.registration().Register(ctx)
	if err != nil {
		return err
	}
	n.lastStatus.Set(st, n.cfg.Clock.Now())
	n.mu.Lock()
	n.registered = true
	n.mu.Unlock()
	now := n.cfg.Clock.Now()
	n.pool.sched.schedule(&n.tasks[taskLease], now)
	n.pool.sched.schedule(&n.tasks[taskStatus], now.Add(spread(n.cfg.StatusInterval)))
	if st.Conditions != nil {
		n.pool.resync(n.cfg.Name)
	}
	return nil
}

// heartbeatStopped reports whether a NodeHeartbeat fault stops the node's heartbeats now; when
// one has just ended the status is posted at once (the node lifecycle controller marked the
// node Unknown meanwhile), as the agent's.
func (n *Node) heartbeatStopped(ctx context.Context) bool {
	stopped, resumed := n.gate.Check(ctx)
	if resumed {
		n.lastStatus.Forget()
		n.pool.sched.schedule(&n.tasks[taskStatus], n.cfg.Clock.Now())
	}
	return stopped
}

func (n *Node) renewLease(ctx context.Context) error {
	if n.heartbeatStopped(ctx) {
		return nil
	}
	return n.lease.Renew(ctx, n.cfg.Client, n.cfg.Name, n.cfg.LeaseDuration, n.cfg.Clock.Now())
}

// syncStatus posts the node status when it is due (apistatus.NodeStatusDue), as the agent's.
func (n *Node) syncStatus(ctx context.Context) error {
	if n.heartbeatStopped(ctx) {
		return nil
	}
	last, lastReport := n.lastStatus.Get()
	next := n.nodeStatus(last)
	if !apistatus.NodeStatusDue(last, &next, lastReport, n.cfg.Clock.Now(), n.cfg.StatusReportInterval, n.cfg.Name) {
		return nil
	}
	if err := n.pool.limiter.Wait(ctx); err != nil {
		return err
	}
	st, err := n.registration().Post(ctx)
	if err != nil {
		return err
	}
	n.lastStatus.Set(st, n.cfg.Clock.Now())
	return nil
}

// hostIPs are the pods' hostIPs: the node's server address, else loopback.
func (n *Node) hostIPs() []string {
	if sc := n.cfg.Server; sc != nil {
		if addr, ok := sc.Listener.Addr().(*net.TCPAddr); ok {
			return []string{addr.IP.String()}
		}
	}
	return []string{"127.0.0.1"}
}

// errBackingOff makes the pod worker retry a pod whose containers wait in a back-off.
var errBackingOff = errors.New("containers waiting to start")

// syncPod is the pod worker's sync, the agent's on the in-memory runtime: kuberuntime.SyncPod
// (ComputePodActions and its runtime calls) and the status from status.Generate. The runtime
// acts at once, so the sync repeats until there is nothing left to do (a real node's PLEG
// would wake it for each completed init container) and writes one status.
func (n *Node) syncPod(ctx context.Context, pod *corev1.Pod) (bool, error) {
	kr := n.pool.kr
	res := kr.SyncPod(ctx, pod)
	for round := 0; res.Err == nil && len(res.StartFailures) == 0 && acted(res.Actions) && round < len(pod.Spec.InitContainers)+2; round++ {
		res = kr.SyncPod(ctx, pod)
	}
	st, err := n.generate(ctx, pod, res.StartFailures, false)
	if err != nil {
		return false, err
	}
	if err := n.writeStatus(ctx, pod, st); err != nil {
		return false, err
	}
	if res.Err != nil {
		return false, res.Err
	}
	if len(res.StartFailures) > 0 {
		return false, errBackingOff
	}
	return st.Phase == corev1.PodSucceeded || st.Phase == corev1.PodFailed, nil
}

// acted reports whether a sync changed the runtime.
func acted(a kuberuntime.PodActions) bool {
	return a.CreateSandbox || a.KillPod || len(a.ContainersToKill) > 0 || len(a.InitContainersToStart) > 0 ||
		len(a.ContainersToStart) > 0 || len(a.EphemeralContainersToStart) > 0
}

// generate is the agent's status generation: what the runtime reports through status.Generate,
// with every probe succeeding (simulated containers are ready and started as they run).
func (n *Node) generate(ctx context.Context, pod *corev1.Pod, failures map[string]status.Waiting, terminal bool) (corev1.PodStatus, error) {
	rt, err := n.pool.kr.PodRuntime(ctx, string(pod.UID))
	if err != nil {
		return corev1.PodStatus{}, err
	}
	readiness, startup := map[string]bool{}, map[string]bool{}
	for _, c := range probes.ProbedContainers(pod) {
		if c.ReadinessProbe != nil {
			readiness[c.Name] = true
		}
		if c.StartupProbe != nil {
			startup[c.Name] = true
		}
	}
	now := n.cfg.Clock.Now()
	st := status.Generate(status.Input{Pod: pod, Runtime: rt, StartFailures: failures, Readiness: readiness, Startup: startup,
		HostIPs: n.hostIPs(), PodIsTerminal: terminal, Now: now})
	status.ApplyActiveDeadline(pod, &st, now)
	status.ObserveGeneration(&st, pod.Generation)
	return st, nil
}

func statusJSON(s *corev1.PodStatus) []byte {
	b, _ := json.Marshal(s)
	return b
}

// writeStatus writes pods/status when it differs from the pod's, through the pool's limiter.
func (n *Node) writeStatus(ctx context.Context, pod *corev1.Pod, st corev1.PodStatus) error {
	if bytes.Equal(statusJSON(&st), statusJSON(&pod.Status)) {
		return nil
	}
	if err := n.pool.limiter.Wait(ctx); err != nil {
		return err
	}
	p := pod.DeepCopy()
	p.Status = st
	_, _, err := apistatus.PutPodStatus(ctx, n.cfg.Client.CoreV1().Pods(pod.Namespace), p)
	return err
}

// terminatePod is the agent's termination path: stop the containers, write the final status,
// and for a deleted pod remove its containers and sandboxes and then the API object (grace 0,
// UID precondition).
func (n *Node) terminatePod(ctx context.Context, pod *corev1.Pod, grace *int64) error {
	if err := n.pool.kr.KillPod(ctx, pod, grace); err != nil {
		return err
	}
	cached := n.pool.podByUID(pod.UID)
	if cached != nil {
		pod = cached
	}
	st, err := n.generate(ctx, pod, nil, true)
	if err != nil {
		return err
	}
	if cached != nil {
		if err := n.writeStatus(ctx, pod, st); err != nil {
			return err
		}
	}
	if cached != nil && pod.DeletionTimestamp == nil {
		return nil // finished pod: containers stay until the pod is deleted
	}
	if err := n.pool.kr.RemovePod(ctx, string(pod.UID)); err != nil {
		return err
	}
	if cached != nil {
		err := n.cfg.Client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{
			GracePeriodSeconds: ptr.To[int64](0), Preconditions: &metav1.Preconditions{UID: &pod.UID}})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			return fmt.Errorf("deleting pod: %w", err)
		}
	}
	return nil
}

// allocateIP gives the pod the next free IP of the node's pod CIDR, or want when it is one of
// them and free (an adopted pod's).
func (n *Node) allocateIP(uid, want string) (string, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	r := &n.ips
	if r.cidr == "" {
		return "", errNodeNotReady
	}
	if off, ok := r.byPod[uid]; ok {
		return ipString(r.base + off), nil
	}
	if r.byPod == nil {
		r.byPod, r.usedIP = map[string]uint32{}, map[uint32]bool{}
	}
	if ip := net.ParseIP(want).To4(); ip != nil {
		off := ipUint32(ip) - r.base
		if off >= 2 && off <= r.limit && !r.usedIP[off] {
			r.byPod[uid], r.usedIP[off] = off, true
			return want, nil
		}
	}
	for i := uint32(0); i < r.limit-1; i++ {
		off := 2 + (r.next+i)%(r.limit-1) // .1 is the node's bridge
		if !r.usedIP[off] {
			r.next, r.byPod[uid], r.usedIP[off] = off-1, off, true
			return ipString(r.base + off), nil
		}
	}
	return "", fmt.Errorf("pod CIDR %s is full", r.cidr)
}

// ipUint32 is an IPv4 address (4 bytes) as a number; ipString the reverse.
func ipUint32(ip net.IP) uint32 {
	return uint32(ip[0])<<24 | uint32(ip[1])<<16 | uint32(ip[2])<<8 | uint32(ip[3])
}

func ipString(v uint32) string {
	return net.IPv4(byte(v>>24), byte(v>>16), byte(v>>8), byte(v)).String()
}

func (n *Node) releaseIP(uid string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if off, ok := n.ips.byPod[uid]; ok {
		delete(n.ips.byPod, uid)
		delete(n.ips.usedIP, off)
	}
}
