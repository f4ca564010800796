package agent

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	oteltrace "go.opentelemetry.io/otel/trace"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	cri "k8s.io/cri-api/pkg/apis"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"

	"github.com/skiff-dev/skiff/apis/helper"
	"github.com/skiff-dev/skiff/insight/trace"
	"github.com/skiff-dev/skiff/insight/watchtrace"
	"github.com/skiff-dev/skiff/nodeagent/allocation"
	"github.com/skiff-dev/skiff/nodeagent/apistatus"
	"github.com/skiff-dev/skiff/nodeagent/cm"
	"github.com/skiff-dev/skiff/nodeagent/eviction"
	"github.com/skiff-dev/skiff/nodeagent/faults"
	"github.com/skiff-dev/skiff/nodeagent/imagegc"
	"github.com/skiff-dev/skiff/nodeagent/images"
	"github.com/skiff-dev/skiff/nodeagent/kuberuntime"
	"github.com/skiff-dev/skiff/nodeagent/localpath"
	"github.com/skiff-dev/skiff/nodeagent/logs"
	"github.com/skiff-dev/skiff/nodeagent/nodelease"
	"github.com/skiff-dev/skiff/nodeagent/podcidr"
	"github.com/skiff-dev/skiff/nodeagent/podworkers"
	"github.com/skiff-dev/skiff/nodeagent/probes"
	"github.com/skiff-dev/skiff/nodeagent/runtimeclass"
	"github.com/skiff-dev/skiff/nodeagent/staticpods"
	"github.com/skiff-dev/skiff/nodeagent/stats"
	"github.com/skiff-dev/skiff/nodeagent/volumes"
)

// Config configures an Agent. NodeName, Client, RuntimeService, ImageService and DataDir are
// required; the rest have upstream's defaults.
type Config struct {
	NodeName       string
	Client         kubernetes.Interface
	RuntimeService cri.RuntimeService
	ImageService   cri.ImageManagerService
	// TracerProvider records the agent's spans: each pod sync that does work, its runtime calls
	// and status writes (insight/trace); nil: OpenTelemetry's global provider.
	TracerProvider oteltrace.TracerProvider
	// DataDir holds pods/<uid>/volumes, storage/ (the local-path volumes) and, unless PodLogsDir
	// is set, pod-logs/.
	DataDir string
	// PodLogsDir is the root of the pod log directories (<ns>_<name>_<uid>/<container>/<n>.log);
	// default <DataDir>/pod-logs.
	PodLogsDir string
	// PodCIDR is set as the Node's spec.podCIDR(s) (the runtime's CNI config uses the same).
	PodCIDR string
	// NodeIP is the InternalIP address and the pods' hostIP (default: the address of the
	// default route's interface, as upstream's kubelet picks it).
	NodeIP string
	// ClusterDNS are the nameservers of ClusterFirst pods (none: such pods use the host's
	// resolv.conf, as upstream without --cluster-dns); ClusterDomain defaults to cluster.local.
	ClusterDNS    []string
	ClusterDomain string
	// ResolvConf is the host resolv.conf for dnsPolicy Default (default /etc/resolv.conf).
	ResolvConf string
	NodeLabels map[string]string
	Taints     []corev1.Taint
	// KubeletPort is reported as status.daemonEndpoints.kubeletEndpoint (default 10250).
	KubeletPort int32
	Clock       clock.WithTicker
	// CrashLoop back-off (10 s to 5 min) and image pull back-off (same).
	BackoffInitial, BackoffMax           time.Duration
	ImageBackoffInitial, ImageBackoffMax time.Duration
	// StatusInterval is how often the node status is computed (10 s); it is posted when it
	// changed or StatusReportInterval (5 min) passed.
	StatusInterval       time.Duration
	StatusReportInterval time.Duration
	// LeaseDuration (40 s) and LeaseRenewInterval (10 s) of the node Lease.
	LeaseDuration      time.Duration
	LeaseRenewInterval time.Duration
	// RelistPeriod is how often container states are listed to notice exits (1 s, upstream's
	// PLEG relist period).
	RelistPeriod time.Duration
	// ResyncPeriod syncs every pod again (1 min); SyncRetryPeriod retries a pod whose sync
	// failed or is backing off (default min(10 s, BackoffInitial)).
	ResyncPeriod    time.Duration
	SyncRetryPeriod time.Duration
	// ContainerGCPeriod is how often dead containers, sandboxes and log directories are
	// collected (1 min, upstream's ContainerGCPeriod; see kuberuntime.PlanGC).
	ContainerGCPeriod time.Duration
	// MinimumGracePeriod for stopping containers (2 s).
	MinimumGracePeriod time.Duration
	// DisableLocalPath turns off the node's skiff.dev/local-path provisioner (package
	// localpath), which otherwise makes the volumes of the claims scheduled to this node under
	// <DataDir>/storage and deletes them when they are released.
	DisableLocalPath bool
	// ContainerLogMaxSize (bytes, 10Mi) and ContainerLogMaxFiles (5) are the rotation of the
	// containers' logs (package logs; upstream's containerLogMaxSize and containerLogMaxFiles).
	ContainerLogMaxSize  int64
	ContainerLogMaxFiles int
	// ImageGCHighThresholdPercent (85) and ImageGCLowThresholdPercent (80) of the image file
	// system's use start and end the removal of unused images (package imagegc; a high
	// threshold of 100 turns it off); both zero: the defaults. Skiff's builtin images stay.
	ImageGCHighThresholdPercent, ImageGCLowThresholdPercent int
	// Faults, when set, makes the agent carry out chaos.skiff.dev Faults targeting its node:
	// stopped heartbeats, failing image pulls, killed containers. The agent starts it.
	Faults *faults.Watcher
	// HostStats reads the host's CPU, memory, network and processes (this machine's when nil).
	HostStats stats.HostReader
	// EvictionThresholds are the node-pressure eviction thresholds (eviction.ParseThresholds;
	// none: no eviction, the pressure conditions stay False); EvictionPressureTransitionPeriod
	// (5 min), EvictionMaxPodGracePeriod (seconds, 0: the pod's) and EvictionInterval (10 s)
	// as the kubelet's.
	EvictionThresholds               []eviction.Threshold
	EvictionPressureTransitionPeriod time.Duration
	EvictionMaxPodGracePeriod        int64
	EvictionInterval                 time.Duration
	// PodManifestPath is the directory of the node's static pods (none when ""), read every
	// StaticPodCheckPeriod (5 s); each runs with a mirror pod in the API (package staticpods).
	PodManifestPath      string
	StaticPodCheckPeriod time.Duration
	// CgroupRoot is the node's cgroup root (cm.NodeRoot; the kubelet's --cgroup-root): pods
	// run in pod cgroups with their pod-level limits under <root>/kubepods (package cm). Empty:
	// no pod cgroups (runtimes that are not real ones). PodPidsLimit is --pod-max-pids (<= 0:
	// none).
	CgroupRoot   string
	PodPidsLimit int64
}

// Agent is a running node agent.
type Agent struct {
	cfg            Config
	machine        MachineInfo
	runtimeVersion string
	runtime        cri.RuntimeService
	tracer         oteltrace.Tracer
	images         cri.ImageManagerService
	kr             *kuberuntime.Manager
	vols           *volumes.Manager
	probes         *probes.Manager
	workers        *podworkers.PodWorkers
	logs           *logs.Manager
	imageGC        *imagegc.Manager
	metrics        *Metrics
	recorder       record.EventRecorder
	broadcaster    record.EventBroadcaster
	pods           cache.Indexer
	hostResolvConf []byte
	heartbeat      *faults.Gate
	lease          nodelease.Renewer
	// networkNotReady makes the node report Ready False: its pod network is not configured
	// (AwaitPodCIDR's registration).
	networkNotReady bool

	// lastNodeStatus is the node status last posted and when.
	lastNodeStatus apistatus.LastReport

	mu         sync.Mutex
	lastStatus map[types.UID]corev1.PodStatus
	// allocations are the pods' allocation states (in-place resize), checkpointed by allocStore.
	allocations   map[types.UID]allocation.State
	allocStore    allocation.Store
	statusBase    map[types.UID]string
	podVolumes    map[types.UID]map[string]volumes.Volume
	startedHere   map[types.UID]bool
	startObserved map[types.UID]bool
	startLatency  map[types.UID]time.Duration
	finishing     map[types.UID]bool
	deadlineHit   map[types.UID]bool
	plegStates    map[string]runtimeapi.ContainerState
	// evicted are the eviction messages of the pods being evicted.
	evicted map[types.UID]string

	stats    *stats.Provider
	eviction *eviction.Manager
	// static are the static pods by UID; mirrorChanged wakes the mirror reconcile.
	static        map[types.UID]*corev1.Pod
	staticRemoved map[types.UID]string // removed static pods still terminating: their mirrors' keys
	mirrorChanged chan struct{}
	cgroups       *cm.Manager
	// runtimeClasses gives each sandbox the handler of its pod's RuntimeClass.
	runtimeClasses *runtimeclass.Manager
}

// New checks cfg and fills in defaults; Start runs the agent.
func New(cfg Config) (*Agent, error) {
	if cfg.NodeName == "" || cfg.Client == nil || cfg.RuntimeService == nil || cfg.ImageService == nil || cfg.DataDir == "" {
		return nil, fmt.Errorf("agent needs NodeName, Client, RuntimeService, ImageService and DataDir")
	}
	if cfg.PodLogsDir == "" {
		cfg.PodLogsDir = filepath.Join(cfg.DataDir, "pod-logs")
	}
	cfg.defaultNodeIdentity()
	if cfg.ClusterDomain == "" {
		cfg.ClusterDomain = "cluster.local"
	}
	if cfg.ResolvConf == "" {
		cfg.ResolvConf = "/etc/resolv.conf"
	}
	if cfg.BackoffInitial == 0 {
		cfg.BackoffInitial = 10 * time.Second
	}
	if cfg.BackoffMax == 0 {
		cfg.BackoffMax = 5 * time.Minute
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&cfg.StatusInterval, 10*time.Second)
	def(&cfg.StatusReportInterval, 5*time.Minute)
	def(&cfg.LeaseDuration, 40*time.Second)
	def(&cfg.LeaseRenewInterval, 10*time.Second)
	def(&cfg.RelistPeriod, time.Second)
	def(&cfg.ResyncPeriod, time.Minute)
	def(&cfg.SyncRetryPeriod, min(10*time.Second, cfg.BackoffInitial))
	def(&cfg.MinimumGracePeriod, 2*time.Second)
	def(&cfg.ContainerGCPeriod, time.Minute)
	for _, d := range []string{cfg.DataDir, cfg.PodLogsDir, filepath.Join(cfg.DataDir, "pods")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	a := &Agent{
		cfg:           cfg,
		machine:       ReadMachineInfo(cfg.DataDir),
		metrics:       newMetrics(),
		lastStatus:    map[types.UID]corev1.PodStatus{},
		allocations:   map[types.UID]allocation.State{},
		podVolumes:    map[types.UID]map[string]volumes.Volume{},
		startedHere:   map[types.UID]bool{},
		startObserved: map[types.UID]bool{},
		startLatency:  map[types.UID]time.Duration{},
		finishing:     map[types.UID]bool{},
		deadlineHit:   map[types.UID]bool{},
		mirrorChanged: make(chan struct{}, 1),
	}
	if cfg.StaticPodCheckPeriod == 0 {
		a.cfg.StaticPodCheckPeriod = defaultStaticPodCheckPeriod
	}
	a.hostResolvConf, _ = os.ReadFile(cfg.ResolvConf)
	if servers, _, _ := ParseResolvConf(a.hostResolvConf); cfg.ResolvConf == "/etc/resolv.conf" && onlyLoopback(servers) {
		// systemd-resolved's stub (127.0.0.53) is unreachable from a pod: use its upstream
		// list, as kubeadm points the kubelet at.
		if b, err := os.ReadFile("/run/systemd/resolve/resolv.conf"); err == nil {
			a.hostResolvConf = b
		}
	}
	tp := cfg.TracerProvider
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	a.tracer = tp.Tracer(trace.ScopeName)
	a.runtime = &instrumentedRuntime{RuntimeService: cfg.RuntimeService, h: a.metrics.CRICallDuration, tracer: a.tracer, caller: trace.Agent(cfg.NodeName)}
	a.images = &instrumentedImages{ImageManagerService: cfg.ImageService, h: a.metrics.CRICallDuration, tracer: a.tracer, caller: trace.Agent(cfg.NodeName)}
	if cfg.Faults != nil {
		a.images = &faults.Images{ImageManagerService: a.images, Watcher: cfg.Faults, Node: cfg.NodeName}
		a.heartbeat = cfg.Faults.HeartbeatGate(cfg.NodeName).Traced(a.tracer, trace.Agent(cfg.NodeName))
	}
	_, allocatable := a.machine.Capacity()
	a.vols = &volumes.Manager{Root: filepath.Join(cfg.DataDir, "pods"), Client: cfg.Client, NodeAllocatable: allocatable,
		Hostnames: []string{a.nodeLabels()[corev1.LabelHostname], cfg.NodeName},
		Tokens:    &volumes.TokenManager{Client: cfg.Client, Now: cfg.Clock.Now}}
	a.probes = probes.NewManager(probes.Config{
		Prober:   &probes.CRIProber{Runtime: a.runtime},
		Clock:    cfg.Clock,
		Event:    a.containerEvent,
		OnChange: a.resync,
		// A probe run that changes a result is a span of the agent (insight/trace).
		Tracer:    a.tracer,
		Component: trace.Agent(cfg.NodeName),
	})
	a.cgroups = a.newCgroups()
	a.runtimeClasses = runtimeclass.NewManager(cfg.Client)
	a.kr = kuberuntime.NewManager(kuberuntime.Config{
		Runtime:             a.runtime,
		RuntimeHandler:      a.runtimeClasses.Handler,
		Images:              a.images,
		PodLogsDir:          cfg.PodLogsDir,
		ClusterDomain:       cfg.ClusterDomain,
		DNSConfig:           a.dnsConfig,
		ContainerOptions:    a.containerOptions,
		PullSecrets:         a.pullSecrets,
		Probes:              a.probes,
		CgroupParent:        a.cgroupParent,
		NodeMemoryCapacity:  a.machine.MemoryBytes,
		BackoffInitial:      cfg.BackoffInitial,
		BackoffMax:          cfg.BackoffMax,
		ImageBackoffInitial: cfg.ImageBackoffInitial,
		ImageBackoffMax:     cfg.ImageBackoffMax,
		MinimumGracePeriod:  cfg.MinimumGracePeriod,
		Clock:               cfg.Clock,
		Event:               a.containerEvent,
		Actuated:            a.actuated,
	})
	a.allocStore = allocation.Store{Dir: a.vols.PodDir}
	var err error
	if a.logs, err = logs.NewManager(logs.Config{Runtime: a.runtime, MaxSize: cfg.ContainerLogMaxSize,
		MaxFiles: cfg.ContainerLogMaxFiles, Clock: cfg.Clock}); err != nil {
		return nil, err
	}
	if a.imageGC, err = imagegc.NewManager(imagegc.Config{Runtime: a.runtime, Images: a.images,
		HighThresholdPercent: cfg.ImageGCHighThresholdPercent, LowThresholdPercent: cfg.ImageGCLowThresholdPercent,
		Protected: images.IsBuiltin, Event: a.nodeEvent, Clock: cfg.Clock}); err != nil {
		return nil, err
	}
	a.workers = podworkers.New(podworkers.Config{
		Sync:         a.syncPod,
		Terminate:    a.terminatePod,
		ResyncPeriod: cfg.ResyncPeriod,
		RetryPeriod:  cfg.SyncRetryPeriod,
		Clock:        cfg.Clock,
	})
	if a.stats, err = a.newStats(); err != nil {
		return nil, err
	}
	if a.eviction, err = a.newEviction(); err != nil {
		return nil, err
	}
	return a, nil
}

// defaultNodeIdentity fills in what the Node's registration reports: NodeIP, KubeletPort, Clock.
func (cfg *Config) defaultNodeIdentity() {
	if cfg.NodeIP == "" {
		// upstream's node IP detection: the address of the default route's interface.
		if ip, err := utilnet.ChooseHostInterface(); err == nil {
			cfg.NodeIP = ip.String()
		}
	}
	if cfg.KubeletPort == 0 {
		cfg.KubeletPort = 10250
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
}

// AwaitPodCIDR is the start of a node given no PodCIDR: it registers the Node, without
// spec.podCIDR and NotReady (its pod network is not configured yet, as the kubelet reports before
// its CNI config exists), unless the Node exists, and waits until the node IPAM controller has
// set spec.podCIDR, which it returns. The caller configures the runtime's pod network with it and
// runs the agent with Config.PodCIDR set. Only NodeName, Client, DataDir and the fields the
// Node's status reports are used; RuntimeService and ImageService may be nil.
func AwaitPodCIDR(ctx context.Context, cfg Config) (string, error) {
	if cfg.NodeName == "" || cfg.Client == nil || cfg.DataDir == "" {
		return "", fmt.Errorf("awaiting the pod CIDR needs NodeName, Client and DataDir")
	}
	cfg.defaultNodeIdentity()
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return "", err
	}
	a := &Agent{cfg: cfg, machine: ReadMachineInfo(cfg.DataDir), networkNotReady: true}
	log := klog.FromContext(ctx).WithValues("node", cfg.NodeName)
	if err := wait.PollUntilContextCancel(ctx, time.Second, true, func(ctx context.Context) (bool, error) {
		_, err := cfg.Client.CoreV1().Nodes().Get(ctx, cfg.NodeName, metav1.GetOptions{})
		if err == nil {
			return true, nil // registered before: its podCIDR, if any, is kept
		}
		if !apierrors.IsNotFound(err) {
			log.Error(err, "Reading node, will retry")
			return false, nil
		}
		if err := a.registerNode(ctx); err != nil {
			log.Error(err, "Registering node, will retry")
			return false, nil
		}
		return true, nil
	}); err != nil {
		return "", err
	}
	return podcidr.Wait(klog.NewContext(ctx, log), cfg.Client, cfg.NodeName)
}

// Metrics returns the agent's Prometheus registry (skiff_agent_*), for the caller to serve.
func (a *Agent) Metrics() *Metrics { return a.metrics }

// Runtime returns the kuberuntime manager the agent drives (for log and exec servers).
func (a *Agent) Runtime() *kuberuntime.Manager { return a.kr }

// StorageDir holds the directories of the volumes the node's local-path provisioner makes,
// <DataDir>/storage/pvc-<claim uid>.
func (a *Agent) StorageDir() string { return filepath.Join(a.cfg.DataDir, "storage") }

// PodDir is a pod's directory, its volumes in volumes/<plugin>/<name>; it fits
// nodeagent/stats' Config.PodDir.
func (a *Agent) PodDir(uid string) string { return a.vols.PodDir(uid) }

// DataDir is the agent's data directory (on the node's file system, the kubelet's nodefs).
func (a *Agent) DataDir() string { return a.cfg.DataDir }

// PodLogsDir is the root of the pod log directories.
func (a *Agent) PodLogsDir() string { return a.cfg.PodLogsDir }

// PodLogDir is one pod's log directory, <PodLogsDir>/<namespace>_<name>_<uid> (its containers'
// logs are <container>/<restartCount>.log in it); it fits nodeagent/server's Config.PodLogDir.
func (a *Agent) PodLogDir(namespace, name, uid string) string {
	return filepath.Join(a.cfg.PodLogsDir, strings.Join([]string{namespace, name, uid}, "_"))
}

// PodStartLatency is how long the pod took from creation to all containers started, if this
// agent started it.
func (a *Agent) PodStartLatency(uid types.UID) (time.Duration, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	d, ok := a.startLatency[uid]
	return d, ok
}

const uidIndex = "uid"

func onlyLoopback(servers []string) bool {
	for _, s := range servers {
		if ip := net.ParseIP(s); ip == nil || !ip.IsLoopback() {
			return false
		}
	}
	return len(servers) > 0
}

// Start registers the node and runs the agent until ctx ends. It returns an error when the
// node cannot be registered or the runtime does not answer.
func (a *Agent) Start(ctx context.Context) error {
	log := klog.FromContext(ctx).WithValues("node", a.cfg.NodeName)
	ctx = klog.NewContext(ctx, log)
	v, err := a.runtime.Version(ctx, "v1")
	if err != nil {
		return fmt.Errorf("container runtime version: %w", err)
	}
	a.runtimeVersion = fmt.Sprintf("%s://%s", v.RuntimeName, v.RuntimeVersion)
	if err := wait.PollUntilContextCancel(ctx, time.Second, true, func(ctx context.Context) (bool, error) {
		if err := a.registerNode(ctx); err != nil {
			log.Error(err, "Registering node, will retry")
			return false, nil
		}
		return true, nil
	}); err != nil {
		return err
	}

	a.broadcaster = record.NewBroadcaster(record.WithContext(ctx))
	a.broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: a.cfg.Client.CoreV1().Events("")})
	defer a.broadcaster.Shutdown()
	a.recorder = a.broadcaster.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "kubelet", Host: a.cfg.NodeName})

	factory := informers.NewSharedInformerFactoryWithOptions(a.cfg.Client, 0,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("spec.nodeName", a.cfg.NodeName).String()
		}))
	inf := factory.Core().V1().Pods().Informer()
	if err := inf.AddIndexers(cache.Indexers{uidIndex: func(obj any) ([]string, error) {
		return []string{string(obj.(*corev1.Pod).UID)}, nil
	}}); err != nil {
		return err
	}
	a.pods = inf.GetIndexer()
	// Each pod event the agent receives is a delivery span of the agent (insight/watchtrace).
	if _, err := inf.AddEventHandler(watchtrace.Handler(trace.NewWatch(trace.Agent(a.cfg.NodeName), "Pod"), cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) { a.handlePod(ctx, obj.(*corev1.Pod)) },
		UpdateFunc: func(oldObj, obj any) {
			pod := obj.(*corev1.Pod)
			a.mu.Lock()
			last, written := a.lastStatus[pod.UID]
			a.mu.Unlock()
			if written && ownStatusEcho(oldObj.(*corev1.Pod), pod, &last) {
				// The echo of the agent's own status write: nothing to act on (a sync now would
				// skip the retry back-off of a failing pod, whose status changes every attempt).
				a.workers.RefreshPod(pod)
				return
			}
			a.handlePod(ctx, pod)
		},
		DeleteFunc: func(obj any) {
			if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = t.Obj
			}
			if pod, ok := obj.(*corev1.Pod); ok {
				a.handlePodRemoved(ctx, pod)
			}
		},
	})); err != nil {
		return fmt.Errorf("watching pods: %w", err)
	}
	a.probes.Start(ctx)
	factory.Start(ctx.Done())
	defer factory.Shutdown()
	a.runtimeClasses.Start(ctx)
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced, a.runtimeClasses.HasSynced) {
		return ctx.Err()
	}
	var lp *localpath.Provisioner
	if !a.cfg.DisableLocalPath {
		if lp, err = localpath.New(localpath.Config{Client: a.cfg.Client, NodeName: a.cfg.NodeName, Root: a.StorageDir(),
			Recorder: a.broadcaster.NewRecorder(scheme.Scheme, corev1.EventSource{Component: helper.LocalPathProvisioner, Host: a.cfg.NodeName})}); err != nil {
			return err
		}
	}
	var wg sync.WaitGroup
	run := func(f func()) {
		wg.Add(1)
		go func() { defer wg.Done(); f() }()
	}
	// Static pods are known before the orphans are looked for.
	a.syncStaticPods(ctx)
	if a.cfg.PodManifestPath != "" {
		run(func() { a.runStaticPods(ctx) })
	}
	// orphans belong to no pod the workers know: remove them beside the workers' start.
	run(func() { a.removeOrphans(ctx) })
	run(func() { _ = a.workers.Start(ctx) })
	run(func() {
		for {
			// Bounded by the interval; a failed renewal is retried sooner.
			next, _ := a.lease.Heartbeat(ctx, a.cfg.LeaseRenewInterval, a.renewLease)
			t := time.NewTimer(next)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
	})
	run(func() {
		wait.UntilWithContext(ctx, func(ctx context.Context) {
			ctx, cancel := context.WithTimeout(ctx, a.cfg.StatusInterval)
			defer cancel()
			if err := a.syncNodeStatus(ctx); err != nil {
				log.Error(err, "Updating node status failed")
			}
		}, a.cfg.StatusInterval)
	})
	run(func() { wait.UntilWithContext(ctx, a.relist, a.cfg.RelistPeriod) })
	run(func() { wait.UntilWithContext(ctx, a.checkDeadlines, deadlineCheckPeriod) })
	run(func() { a.logs.Start(ctx) })
	run(func() { wait.UntilWithContext(ctx, a.containerGC, a.cfg.ContainerGCPeriod) })
	run(func() { a.imageGC.Start(ctx) })
	a.runFaults(ctx, run)
	if a.eviction != nil {
		run(func() { _ = a.eviction.Start(ctx) })
	}
	if lp != nil {
		run(func() {
			if err := lp.Start(ctx); err != nil && ctx.Err() == nil {
				log.Error(err, "Local-path provisioner failed")
			}
		})
	}
	log.Info("Node agent started", "runtime", a.runtimeVersion)
	<-ctx.Done()
	wg.Wait()
	return nil
}

// podByUID returns the static pod of the UID, else the pod from the informer cache.
func (a *Agent) podByUID(uid types.UID) *corev1.Pod {
	if p := a.staticPod(uid); p != nil {
		return p
	}
	if a.pods == nil {
		return nil
	}
	objs, err := a.pods.ByIndex(uidIndex, string(uid))
	if err != nil || len(objs) == 0 {
		return nil
	}
	return objs[0].(*corev1.Pod)
}

// resync hands the cached pod to its worker again (probe result changed, container exited).
func (a *Agent) resync(uid types.UID) {
	if pod := a.podByUID(uid); pod != nil && !isTerminalAPI(pod) {
		a.workers.UpdatePod(pod)
	}
}

func isTerminalAPI(pod *corev1.Pod) bool {
	return pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed
}

func (a *Agent) handlePod(ctx context.Context, pod *corev1.Pod) {
	if staticpods.IsMirror(pod) {
		a.pokeMirrors() // the static pod runs; its mirror is only reconciled
		return
	}
	if pod.DeletionTimestamp != nil && (a.workers.IsTerminated(pod.UID) || isTerminalAPI(pod) && !a.known(pod.UID)) {
		// finished here before (or before a restart): remove what is left and the object.
		a.finishAsync(ctx, pod)
		return
	}
	if isTerminalAPI(pod) && !a.known(pod.UID) {
		return // never run a finished pod again
	}
	if pod.DeletionTimestamp == nil && !a.known(pod.UID) && !a.admit(ctx, pod) {
		return // refused: failed, never run
	}
	a.workers.UpdatePod(pod)
}

// ownStatusEcho reports whether pod differs from old only by a status the agent wrote last
// (and metadata the API server keeps, such as the resourceVersion): the kubelet does not sync
// a pod whose spec, labels, annotations and deletion did not change (its config source's
// podsDifferSemantically), and a status others changed is written again.
func ownStatusEcho(old, pod *corev1.Pod, last *corev1.PodStatus) bool {
	return old.UID == pod.UID &&
		apiequality.Semantic.DeepEqual(old.Spec, pod.Spec) &&
		apiequality.Semantic.DeepEqual(old.Labels, pod.Labels) &&
		apiequality.Semantic.DeepEqual(old.Annotations, pod.Annotations) &&
		apiequality.Semantic.DeepEqual(old.DeletionTimestamp, pod.DeletionTimestamp) &&
		apiequality.Semantic.DeepEqual(old.DeletionGracePeriodSeconds, pod.DeletionGracePeriodSeconds) &&
		bytes.Equal(statusJSON(&pod.Status), statusJSON(last))
}

func (a *Agent) known(uid types.UID) bool { return a.workers.IsKnown(uid) }

func (a *Agent) handlePodRemoved(ctx context.Context, pod *corev1.Pod) {
	if staticpods.IsMirror(pod) {
		a.pokeMirrors() // a deleted mirror is created again
		return
	}
	if a.workers.IsTerminated(pod.UID) || isTerminalAPI(pod) && !a.known(pod.UID) {
		// a finished pod (whose containers stay for their logs) is removed: clean up.
		a.workers.Forget(pod.UID)
		a.forget(pod.UID)
		a.finishAsync(ctx, pod)
		return
	}
	a.workers.KillPod(pod, nil)
}

// finishAsync runs the end of the termination path for a pod without a worker, once at a
// time per pod.
func (a *Agent) finishAsync(ctx context.Context, pod *corev1.Pod) {
	a.mu.Lock()
	busy := a.finishing[pod.UID]
	a.finishing[pod.UID] = true
	a.mu.Unlock()
	if busy {
		return
	}
	go func() {
		defer func() {
			a.mu.Lock()
			delete(a.finishing, pod.UID)
			a.mu.Unlock()
		}()
		// Retried as a worker retries: containers, sandboxes and volumes must not outlive the pod.
		backoff := wait.Backoff{Duration: 200 * time.Millisecond, Factor: 2, Steps: 8, Cap: 10 * time.Second}
		for {
			err := a.terminatePod(ctx, pod, nil)
			if err == nil || ctx.Err() != nil {
				return
			}
			klog.FromContext(ctx).Error(err, "Finishing pod, will retry", "pod", klog.KObj(pod))
			if backoff.Steps <= 1 {
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-a.cfg.Clock.After(backoff.Step()):
			}
		}
	}()
}

func (a *Agent) forget(uid types.UID) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.lastStatus, uid)
	delete(a.allocations, uid)
	delete(a.statusBase, uid)
	delete(a.podVolumes, uid)
	delete(a.startedHere, uid)
	delete(a.evicted, uid)
	delete(a.startObserved, uid)
	delete(a.deadlineHit, uid)
}

// removeOrphans stops and removes sandboxes and containers of pods the API does not know, their
// cgroups and their volume directories (restart safety).
func (a *Agent) removeOrphans(ctx context.Context) {
	log := klog.FromContext(ctx)
	sbs, err := a.runtime.ListPodSandbox(ctx, nil)
	if err != nil {
		log.Error(err, "Listing sandboxes for orphans")
		return
	}
	seen := map[string]bool{}
	for _, sb := range sbs {
		uid := sb.Labels[kuberuntime.PodUIDLabel]
		if uid == "" || seen[uid] || a.podByUID(types.UID(uid)) != nil {
			continue
		}
		seen[uid] = true
		stub := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{UID: types.UID(uid),
			Name: sb.Labels[kuberuntime.PodNameLabel], Namespace: sb.Labels[kuberuntime.PodNamespaceLabel]}}
		zero := int64(0)
		if err := a.kr.KillPod(ctx, stub, &zero); err != nil {
			log.Error(err, "Stopping orphaned pod", "uid", uid)
			continue
		}
		if err := a.kr.RemovePod(ctx, uid); err != nil {
			log.Error(err, "Removing orphaned pod", "uid", uid)
		} else if err := a.removePodCgroup(types.UID(uid)); err != nil {
			log.Error(err, "Removing orphaned pod's cgroup", "uid", uid)
		}
		if stub.Name != "" && stub.Namespace != "" {
			_ = os.RemoveAll(kuberuntime.BuildPodLogsDirectory(a.cfg.PodLogsDir, stub))
		}
		log.Info("Removed orphaned pod sandbox", "pod", klog.KObj(stub), "uid", uid)
	}
	for _, uid := range a.vols.PodUIDs() {
		if a.podByUID(types.UID(uid)) == nil {
			_ = a.vols.CleanUp(uid)
		}
	}
}

// relist is a small PLEG: list containers, and resync pods whose containers changed state.
func (a *Agent) relist(ctx context.Context) {
	cs, err := a.runtime.ListContainers(ctx, nil)
	if err != nil {
		return
	}
	now := map[string]runtimeapi.ContainerState{}
	changed := map[types.UID]bool{}
	running := 0
	a.mu.Lock()
	prev := a.plegStates
	for _, c := range cs {
		now[c.Id] = c.State
		if c.State == runtimeapi.ContainerState_CONTAINER_RUNNING {
			running++
		}
		if prev != nil {
			if old, ok := prev[c.Id]; !ok || old != c.State {
				changed[types.UID(c.Labels[kuberuntime.PodUIDLabel])] = true
			}
		}
	}
	a.plegStates = now
	a.mu.Unlock()
	a.metrics.RunningContainers.Set(float64(running))
	if sbs, err := a.runtime.ListPodSandbox(ctx, &runtimeapi.PodSandboxFilter{State: &runtimeapi.PodSandboxStateValue{State: runtimeapi.PodSandboxState_SANDBOX_READY}}); err == nil {
		a.metrics.RunningPods.Set(float64(len(sbs)))
	}
	for uid := range changed {
		if uid != "" {
			a.resync(uid)
		}
	}
}

// containerGC is one container GC: pods the API has, the workers know or the agent is
// finishing keep their containers; the others lose the dead ones, their sandboxes and logs.
func (a *Agent) containerGC(ctx context.Context) {
	exists := func(uid string) bool {
		a.mu.Lock()
		finishing := a.finishing[types.UID(uid)]
		a.mu.Unlock()
		return finishing || a.podByUID(types.UID(uid)) != nil || a.known(types.UID(uid))
	}
	if err := a.kr.GarbageCollect(ctx, exists); err != nil {
		klog.FromContext(ctx).Error(err, "Container garbage collection failed")
		a.nodeEvent(corev1.EventTypeWarning, "ContainerGCFailed", err.Error())
	}
}

// nodeEvent records an event on the Node, referenced as the kubelet's nodeRef.
func (a *Agent) nodeEvent(eventType, reason, message string) {
	if a.recorder == nil {
		return
	}
	ref := &corev1.ObjectReference{Kind: "Node", Name: a.cfg.NodeName, UID: types.UID(a.cfg.NodeName)}
	a.recorder.Event(ref, eventType, reason, message)
}

// containerEvent records an event on a pod's container as the kubelet does (fieldPath
// spec.containers{name}, spec.initContainers{name} or spec.ephemeralContainers{name}).
func (a *Agent) containerEvent(pod *corev1.Pod, container, eventType, reason, message string) {
	if a.recorder == nil {
		return
	}
	ref := &corev1.ObjectReference{Kind: "Pod", APIVersion: "v1", Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID, ResourceVersion: pod.ResourceVersion}
	if container != "" {
		ref.FieldPath = fmt.Sprintf("spec.containers{%s}", container)
		for _, c := range pod.Spec.InitContainers {
			if c.Name == container {
				ref.FieldPath = fmt.Sprintf("spec.initContainers{%s}", container)
			}
		}
		for _, c := range pod.Spec.EphemeralContainers {
			if c.Name == container {
				ref.FieldPath = fmt.Sprintf("spec.ephemeralContainers{%s}", container)
			}
		}
	}
	a.recorder.Event(ref, eventType, reason, message)
}

func (a *Agent) podEvent(pod *corev1.Pod, eventType, reason, message string) {
	a.containerEvent(pod, "", eventType, reason, message)
}
