package main

import (
	"context"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/spf13/pflag"
	"golang.org/x/sync/errgroup"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"

	"github.com/skiff-dev/skiff/apiserver"
	"github.com/skiff-dev/skiff/apiserver/pki"
	"github.com/skiff-dev/skiff/insight/trace"
	"github.com/skiff-dev/skiff/nodeagent/agent"
	"github.com/skiff-dev/skiff/nodeagent/cm"
	"github.com/skiff-dev/skiff/nodeagent/failover"
	"github.com/skiff-dev/skiff/nodeagent/faults"
	"github.com/skiff-dev/skiff/nodeagent/images"
	"github.com/skiff-dev/skiff/nodeagent/netpol"
	"github.com/skiff-dev/skiff/nodeagent/noderecord"
	"github.com/skiff-dev/skiff/nodeagent/podnet"
	"github.com/skiff-dev/skiff/nodeagent/proxy"
	"github.com/skiff-dev/skiff/nodeagent/routes"
	"github.com/skiff-dev/skiff/nodeagent/runtime/containerd"
	"github.com/skiff-dev/skiff/nodeagent/server"
	"github.com/skiff-dev/skiff/streaminglists"
)

// localNode is this machine's node in `skiff up`: the loopback image registry, a private
// containerd, the agent and its HTTPS server (logs, exec, port-forward).
type localNode struct {
	name      string
	podCIDR   string
	port      int
	imagesSrc string
	// registry, when set, is an existing registry (the server's) with the builtin images, which
	// the node's containerd mirrors; otherwise the node runs its own.
	registry string
	// learnRegistry makes a joined node without --registry use the registry the server
	// published (kube-system/skiff-registry) when it can reach it.
	learnRegistry bool
	// profiling serves pprof on the node's server (--profiling).
	profiling bool
	// metrics is the running agent's registry, served on the node's /metrics and gathered into
	// the API server's /metrics when the node runs in `skiff up`.
	metrics atomic.Pointer[prometheus.Registry]
	// cleanupProxyOnExit removes the service proxy's and NetworkPolicy rules when the node
	// stops (`skiff up`, whose cluster stops with it); a joined node keeps them so that a
	// restart has no gap.
	cleanupProxyOnExit bool
	// proxyMetrics is the service proxy's registry, gathered with the agent's.
	proxyMetrics atomic.Pointer[prometheus.Registry]
	// clusterDNS and clusterDomain are the DNS of ClusterFirst pods (--cluster-dns, --cluster-domain).
	clusterDNS    []string
	clusterDomain string
	// progress, when set (`skiff up`), prints a short line for each step of the node's start.
	progress *progress
	// runDir is where the node records itself for `skiff killall` (--run-dir; "": $SKIFF_RUN_DIR
	// or noderecord.DefaultRunDir).
	runDir string
	// ingress is the node's built-in ingress controller (--ingress-http-port, --ingress-https-port).
	ingress nodeIngress
	// eviction is the node-pressure eviction (--eviction-hard, ...).
	eviction nodeEviction
	// podManifestPath is the directory of the node's static pods (--pod-manifest-path).
	podManifestPath string
	// podMaxPids is the pods' pids limit (--pod-max-pids).
	podMaxPids int64
	// housekeeping is the agent's log rotation and image garbage collection
	// (--container-log-max-size, --container-log-max-files, --image-gc-*-threshold).
	housekeeping nodeHousekeeping
}

const podMaxPidsUsage = "Largest number of processes of a pod (its pod cgroup's pids.max); -1: unlimited."

// record writes the node's record into its run dir (and a copy under dataDir), after checking
// that no running node of another data dir uses the same bridge (a node of the same name).
func (n *localNode) record(baseDir, dataDir, podCIDR string, ccfg containerd.Config) error {
	runDir := noderecord.RunDir(n.runDir)
	baseDir, _ = filepath.Abs(baseDir)
	dataDir, _ = filepath.Abs(dataDir)
	self, _ := podnet.ReadProc(os.Getpid())
	rec := noderecord.Record{Node: n.name, DataDir: baseDir, NodeDir: dataDir,
		ContainerdConfig: ccfg.ConfigPath(), ContainerdSocket: ccfg.Socket(), ContainerdRoot: ccfg.RootDir(),
		ContainerdState: ccfg.StateDir(), Bridge: ccfg.Bridge(), PodCIDR: podCIDR,
		ProxyTable: proxy.TableNameFor(n.name), NetpolTable: netpol.TableNameFor(n.name),
		PID: os.Getpid(), ProcessStart: self.Start, Started: time.Now().UTC()}
	recs, _ := noderecord.List(runDir)
	if conflicts := noderecord.Conflicts(recs, rec, recordRunning); len(conflicts) > 0 {
		o := conflicts[0]
		return fmt.Errorf("node %s: its bridge %s is in use by the running node %s of data dir %s (pid %d): stop it (or `skiff killall`), or give this node another --node-name",
			n.name, rec.Bridge, o.Node, o.DataDir, o.PID)
	}
	if err := noderecord.Write(runDir, rec); err != nil {
		return fmt.Errorf("node %s: %w", n.name, err)
	}
	return nil
}

// bridgeInUse tells whether a running node recorded in the node's run dir uses bridge.
func (n *localNode) bridgeInUse(bridge string) bool {
	recs, _ := noderecord.List(noderecord.RunDir(n.runDir))
	for _, r := range recs {
		if r.Bridge == bridge && recordRunning(r) {
			return true
		}
	}
	return false
}

// recordRunning tells whether the process that a node record names still runs.
func recordRunning(r noderecord.Record) bool {
	return r.PID > 0 && r.PID != os.Getpid() && podnet.Alive(podnet.Proc{Pid: r.PID, Start: r.ProcessStart})
}

// runDirFlag registers --run-dir.
func runDirFlag(fs *pflag.FlagSet, p *string, what string) {
	fs.StringVar(p, "run-dir", "", what+" (default $"+noderecord.RunDirEnv+", else "+noderecord.DefaultRunDir+").")
}

// Gather implements prometheus.Gatherer over the agent's and the proxy's metrics once they run.
func (n *localNode) Gather() ([]*dto.MetricFamily, error) {
	var gs prometheus.Gatherers
	for _, r := range []*prometheus.Registry{n.metrics.Load(), n.proxyMetrics.Load()} {
		if r != nil {
			gs = append(gs, r)
		}
	}
	return gs.Gather()
}

// nodeIdentity is how a node reaches the API server and proves itself to it.
type nodeIdentity struct {
	// kubeconfig is the node's credential for the API.
	kubeconfig string
	// ca is the cluster CA: the agent's server accepts client certificates it signed (users
	// and the API server), then authorizes each request with the API server.
	ca *x509.Certificate
	// servingCert returns the agent server's certificate for the node's addresses.
	servingCert func(ctx context.Context, client kubernetes.Interface, ips []net.IP, dnsNames []string) (certPEM, keyPEM []byte, err error)
	// servers, when several, are the control plane's API servers to fail over between.
	servers []string
	// adminKubeconfig, in `skiff up`, is the control plane's credential: the node publishes its
	// registry's address with it (kube-system/skiff-registry) for joined nodes.
	adminKubeconfig string
}

// upIdentity is the local node of `skiff up`: the CA is in this process, and the node gets its
// own credential (user system:node:<name>, group system:nodes) in <data-dir>/node.kubeconfig,
// so the node authorizer and NodeRestriction judge it as any joined node.
func upIdentity(cfg *apiserver.Config, nodeName string) (nodeIdentity, error) {
	kubeconfig := filepath.Join(cfg.Options.DataDir, "node.kubeconfig")
	if err := cfg.WriteClientKubeconfig(kubeconfig, "system:node:"+nodeName, "system:nodes"); err != nil {
		return nodeIdentity{}, fmt.Errorf("node credential: %w", err)
	}
	return nodeIdentity{kubeconfig: kubeconfig, ca: cfg.CA.Cert, adminKubeconfig: cfg.AdminKubeconfig,
		servingCert: func(_ context.Context, _ kubernetes.Interface, ips []net.IP, dnsNames []string) ([]byte, []byte, error) {
			return cfg.CA.Issue(pki.CertSpec{CommonName: "system:node:" + nodeName, Organization: []string{"system:nodes"},
				Server: true, DNSNames: append(dnsNames, "localhost"), IPs: append(ips, net.ParseIP("127.0.0.1"))})
		}}, nil
}

// run starts the node with its data under baseDir/node; it blocks until ctx ends. A missing
// runtime is reported in one line and is not an error for the control plane.
func (n *localNode) run(ctx context.Context, baseDir string, id nodeIdentity) error {
	log := klog.FromContext(ctx).WithValues("node", n.name)
	dataDir := filepath.Join(baseDir, "node")
	if _, _, err := containerd.LookupBinaries(containerd.Config{}); err != nil {
		fmt.Fprintf(os.Stderr, "skiff: no local node: %v (the control plane keeps running)\n", err)
		return nil
	}
	restCfg, err := clientcmd.BuildConfigFromFlags("", id.kubeconfig)
	if err != nil {
		return err
	}
	if _, err := failover.Apply(restCfg, id.servers); err != nil {
		return err
	}
	// The kubelet's API rate limits (--kube-api-qps 50, --kube-api-burst 100), not client-go's 5/10.
	restCfg.QPS, restCfg.Burst = 50, 100
	tp, err := processTracer(ctx)
	if err != nil {
		return err
	}
	// Status writes carry the pod sync's span to the API server (insight/trace).
	restCfg.Wrap(trace.WrapTransport)
	client, err := builtinClient(restCfg)
	if err != nil {
		return err
	}
	n.progress.step("Node %s: preparing the built-in images (pause, busybox, skiff-http)", n.name)
	regAddr, refs, err := n.images(ctx, baseDir, client)
	if err != nil {
		fmt.Fprintf(os.Stderr, "skiff: no local node: %v (the control plane keeps running)\n", err)
		return nil
	}
	if id.adminKubeconfig != "" && n.registry == "" {
		go publishRegistry(ctx, id.adminKubeconfig, regAddr)
	}
	faultWatcher, err := faults.NewWatcherForConfig(restCfg)
	if err != nil {
		return err
	}
	nodeIP, err := utilnet.ChooseHostInterface()
	if err != nil {
		nodeIP = net.ParseIP("127.0.0.1")
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("", strconv.Itoa(n.port)))
	if err != nil {
		return fmt.Errorf("node server: %w", err)
	}
	agentCfg := agent.Config{NodeName: n.name, Client: client, DataDir: filepath.Join(dataDir, "agent"), PodCIDR: n.podCIDR,
		NodeIP: nodeIP.String(), KubeletPort: int32(ln.Addr().(*net.TCPAddr).Port), Faults: faultWatcher,
		ClusterDNS: n.clusterDNS, ClusterDomain: n.clusterDomain, CgroupRoot: cm.NodeRoot(n.name), PodPidsLimit: n.podMaxPids}
	n.eviction.apply(&agentCfg)
	var traces *trace.Store
	if tp != nil {
		agentCfg.TracerProvider, traces = tp, tp.Store
	}
	agentCfg.PodManifestPath = n.podManifestPath
	if err := n.housekeeping.apply(&agentCfg); err != nil {
		ln.Close()
		return err
	}
	if agentCfg.PodCIDR == "" {
		// No --pod-cidr: the node IPAM controller assigns the node's subnet; the pod network
		// (CNI bridge), the proxy and the agent are configured with it.
		n.progress.step("Node %s: waiting for its pod subnet (node IPAM controller)", n.name)
		if agentCfg.PodCIDR, err = agent.AwaitPodCIDR(klog.NewContext(ctx, log), agentCfg); err != nil {
			ln.Close()
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
	}
	podCIDR := agentCfg.PodCIDR
	crd := containerd.New(containerd.Config{DataDir: filepath.Join(dataDir, "containerd"), NodeName: n.name,
		PodCIDR: podCIDR, SandboxImage: refs[images.PauseRef], RegistryMirror: regAddr})
	n.progress.step("Node %s: starting containerd (pod subnet %s)", n.name, podCIDR)
	if err := crd.Start(ctx); err != nil {
		ln.Close()
		fmt.Fprintf(os.Stderr, "skiff: no local node: containerd did not start: %v (the control plane keeps running)\n", err)
		return nil
	}
	// The node records itself before it runs any pod (`skiff killall` finds it by its record),
	// and refuses a bridge that a running node of the same name uses.
	if err := n.record(baseDir, dataDir, podCIDR, crd.Config()); err != nil {
		ln.Close()
		return err
	}
	// Pods outlive their node: those that another cluster's node of this name left on the
	// bridge go before this node hands out their addresses again.
	ccfg := crd.Config()
	swept, err := podnet.Sweep(ctx, podnet.SweepConfig{Bridge: ccfg.Bridge(), PodCIDR: podCIDR, Socket: ccfg.Socket(),
		Runtime: crd.RuntimeService(), IPAMStore: ccfg.IPAMStore(), BridgeInUse: n.bridgeInUse})
	if err != nil {
		log.Error(err, "Sweeping the node's bridge of leftover pods failed")
	}
	if len(swept.Removed) > 0 {
		// The one line the user sees (the full report is in the log).
		n.progress.step("Node %s: removed %d leftover pod sandboxes of another cluster from bridge %s", n.name, len(swept.Removed), ccfg.Bridge())
	}
	agentCfg.RuntimeService, agentCfg.ImageService = crd.RuntimeService(), crd.ImageService()
	ag, err := agent.New(agentCfg)
	if err != nil {
		ln.Close()
		return err
	}
	n.metrics.Store(ag.Metrics().Registry)
	// The service proxy (kube-proxy) of the node, on a table of its own: several nodes can
	// share this machine. Without nftables the node runs without it, as the one line says.
	proxyCfg := proxy.Config{NodeName: n.name, Client: client, PodCIDRs: []string{podCIDR},
		NodeIPs: []string{nodeIP.String()}, TableName: proxy.TableNameFor(n.name), ConfigureHost: true, CleanupOnExit: n.cleanupProxyOnExit}
	if tp != nil {
		proxyCfg.TracerProvider = tp // its syncs' spans are served with the agent's (insight/trace)
	}
	px, err := proxy.New(proxyCfg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "skiff: node %s runs without its service proxy: %v\n", n.name, err)
		px = nil
	} else {
		n.proxyMetrics.Store(px.Registry)
	}
	// NetworkPolicies of the node's pods, on a table of its own beside the proxy's.
	np, err := netpol.New(netpol.Config{Client: client, NodeName: n.name, PodCIDRs: []string{podCIDR},
		TableName: netpol.TableNameFor(n.name), ConfigureHost: true, CleanupOnExit: n.cleanupProxyOnExit})
	if err != nil {
		fmt.Fprintf(os.Stderr, "skiff: node %s runs without NetworkPolicies: %v\n", n.name, err)
		np = nil
	}
	log.Info("Local node starting", "podCIDR", podCIDR, "registry", regAddr, "port", ln.Addr().String())
	n.progress.step("Node %s: starting its agent, service proxy and server", n.name)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return ag.Start(gctx) })
	if px != nil {
		g.Go(func() error { return px.Start(gctx) })
	}
	if np != nil {
		g.Go(func() error { return np.Start(gctx) })
	}
	// The ingress controller (nodeagent/ingress) on the host's HTTP and HTTPS ports.
	if ing := n.newIngress(client); ing != nil {
		g.Go(func() error { return ing.Start(gctx) })
	}
	// Routes to the pod subnets of nodes on other machines.
	if rt, err := routes.New(routes.Config{Client: client, NodeName: n.name, ManageForwarding: true}); err != nil {
		fmt.Fprintf(os.Stderr, "skiff: node %s runs without routes to other nodes: %v\n", n.name, err)
	} else {
		g.Go(func() error { return rt.Start(gctx) })
	}
	g.Go(func() error {
		// As the kubelet: the node registers first, then gets its serving certificate for the
		// addresses it reports, then serves logs, exec and port-forward.
		certPEM, keyPEM, err := id.servingCert(gctx, client, []net.IP{nodeIP}, []string{n.name})
		if err != nil {
			ln.Close()
			return fmt.Errorf("node serving certificate: %w", err)
		}
		pool := x509.NewCertPool()
		pool.AddCert(id.ca)
		// Callers are authenticated (client certificates of the cluster CA, bearer tokens by
		// TokenReview) and authorized (SubjectAccessReview on nodes/<subresource> of this node)
		// through the node's own credential, as the kubelet's webhook mode.
		// /stats/summary and /metrics/resource: the host's CPU, memory and network, the pods' from CRI.
		srv, err := server.New(server.Config{Listener: ln, CertPEM: certPEM, KeyPEM: keyPEM, ClientCAs: pool,
			NodeName: n.name, Client: client, Stats: ag.Stats(),
			Runtime: crd.RuntimeService(), PodLogDir: ag.PodLogDir, Metrics: n, Profiling: n.profiling, Traces: traces})
		if err != nil {
			ln.Close()
			return err
		}
		return srv.Start(gctx)
	})
	err = g.Wait()
	<-crd.Done()
	return err
}

// images returns the registry address the node pulls from and the builtin images' names:
// the given registry's (--registry, or the one the server published when this node learns it),
// or a registry of the node's own, started and filled here, on the address it had before.
func (n *localNode) images(ctx context.Context, baseDir string, client kubernetes.Interface) (string, map[string]string, error) {
	builtin := map[string]string{}
	for _, r := range []string{images.PauseRef, images.BusyboxRef, images.HTTPRef} {
		builtin[r] = r
	}
	if n.registry != "" {
		return n.registry, builtin, nil
	}
	log := klog.FromContext(ctx)
	if n.learnRegistry {
		addr, err := images.Published(ctx, client)
		switch {
		case err != nil:
			log.Info("No registry published by the server, running the node's own", "err", err)
		case addr == "":
		default:
			if err := images.Reachable(ctx, addr); err != nil {
				log.Info("The server's registry cannot be reached, running the node's own", "address", addr, "err", err)
				break
			}
			log.Info("Using the server's registry", "address", addr)
			return addr, builtin, nil
		}
	}
	addrFile := filepath.Join(baseDir, "registry.addr")
	recorded, _ := os.ReadFile(addrFile)
	reg := images.NewRegistry(filepath.Join(baseDir, "node", "registry"), images.ListenCandidates(string(recorded))...)
	if err := reg.Start(ctx); err != nil {
		return "", nil, fmt.Errorf("image registry: %w", err)
	}
	if err := os.WriteFile(addrFile, []byte(reg.Addr()+"\n"), 0o644); err != nil {
		return "", nil, fmt.Errorf("writing the registry address: %w", err)
	}
	refs, err := images.EnsureBuiltin(ctx, reg, n.imagesSrc)
	if err != nil {
		return "", nil, fmt.Errorf("building the builtin images from %s: %w", n.imagesSrc, err)
	}
	return reg.Addr(), refs, nil
}

// publishRegistry publishes the registry's address for joined nodes (kube-system/skiff-registry),
// retrying while the API server is busy.
func publishRegistry(ctx context.Context, adminKubeconfig, addr string) {
	log := klog.FromContext(ctx)
	cfg, err := clientcmd.BuildConfigFromFlags("", adminKubeconfig)
	if err != nil {
		log.Error(err, "Cannot publish the registry address")
		return
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		log.Error(err, "Cannot publish the registry address")
		return
	}
	var last error
	err = wait.PollUntilContextTimeout(ctx, time.Second, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		last = images.Publish(ctx, client, addr)
		return last == nil, nil
	})
	if err != nil && ctx.Err() == nil {
		log.Error(last, "Cannot publish the registry address", "address", addr)
	}
}

// builtinClient is a node's or a component's client of the built-in kinds: protobuf, as the
// kubelet's --kube-api-content-type and kube components (about half the bytes and a fraction
// of the decoding of JSON on every watch event); its informers list instead of streaming while
// the API server's watch cache lags (streaminglists). cfg itself is left as it is, for the
// clients of custom resources (which only speak JSON).
func builtinClient(cfg *rest.Config) (*kubernetes.Clientset, error) {
	cfg = rest.CopyConfig(cfg)
	cfg.ContentType = "application/vnd.kubernetes.protobuf"
	cfg.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	cfg.Wrap(streaminglists.WrapTransport)
	return kubernetes.NewForConfig(cfg)
}
