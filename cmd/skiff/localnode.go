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

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"golang.org/x/sync/errgroup"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"

	"github.com/skiff-dev/skiff/apiserver"
	"github.com/skiff-dev/skiff/apiserver/pki"
	"github.com/skiff-dev/skiff/nodeagent/agent"
	"github.com/skiff-dev/skiff/nodeagent/images"
	"github.com/skiff-dev/skiff/nodeagent/runtime/containerd"
	"github.com/skiff-dev/skiff/nodeagent/server"
)

// localNode is this machine's node in `skiff up`: the loopback image registry, a private
// containerd, the agent and its HTTPS server (logs, exec, port-forward).
type localNode struct {
	name      string
	podCIDR   string
	port      int
	imagesSrc string
	// metrics is the running agent's registry, gathered into the API server's /metrics.
	metrics atomic.Pointer[prometheus.Registry]
}

// Gather implements prometheus.Gatherer over the agent's metrics once it runs.
func (n *localNode) Gather() ([]*dto.MetricFamily, error) {
	if r := n.metrics.Load(); r != nil {
		return r.Gather()
	}
	return nil, nil
}

// run starts the node; it blocks until ctx ends. A missing runtime is reported in one line and
// is not an error for the control plane.
func (n *localNode) run(ctx context.Context, cfg *apiserver.Config) error {
	log := klog.FromContext(ctx).WithValues("node", n.name)
	dataDir := filepath.Join(cfg.Options.DataDir, "node")
	if _, _, err := containerd.LookupBinaries(containerd.Config{}); err != nil {
		fmt.Fprintf(os.Stderr, "skiff: no local node: %v (the control plane keeps running)\n", err)
		return nil
	}
	reg := images.NewRegistry(filepath.Join(dataDir, "registry"), "127.0.0.1:0")
	if err := reg.Start(ctx); err != nil {
		return fmt.Errorf("image registry: %w", err)
	}
	if err := os.WriteFile(filepath.Join(cfg.Options.DataDir, "registry.addr"), []byte(reg.Addr()+"\n"), 0o644); err != nil {
		return fmt.Errorf("writing the registry address: %w", err)
	}
	refs, err := images.EnsureBuiltin(ctx, reg, n.imagesSrc)
	if err != nil {
		fmt.Fprintf(os.Stderr, "skiff: no local node: building the builtin images from %s failed: %v (the control plane keeps running)\n", n.imagesSrc, err)
		return nil
	}
	crd := containerd.New(containerd.Config{DataDir: filepath.Join(dataDir, "containerd"), NodeName: n.name,
		PodCIDR: n.podCIDR, SandboxImage: refs[images.PauseRef], RegistryMirror: reg.Addr()})
	if err := crd.Start(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "skiff: no local node: containerd did not start: %v (the control plane keeps running)\n", err)
		return nil
	}
	restCfg, err := clientcmd.BuildConfigFromFlags("", cfg.AdminKubeconfig)
	if err != nil {
		return err
	}
	// The kubelet's API rate limits (--kube-api-qps 50, --kube-api-burst 100), not client-go's 5/10.
	restCfg.QPS, restCfg.Burst = 50, 100
	client, err := kubernetes.NewForConfig(restCfg)
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
	ag, err := agent.New(agent.Config{NodeName: n.name, Client: client,
		RuntimeService: crd.RuntimeService(), ImageService: crd.ImageService(),
		DataDir: filepath.Join(dataDir, "agent"), PodCIDR: n.podCIDR, NodeIP: nodeIP.String(),
		KubeletPort: int32(ln.Addr().(*net.TCPAddr).Port)})
	if err != nil {
		ln.Close()
		return err
	}
	n.metrics.Store(ag.Metrics().Registry)
	certPEM, keyPEM, err := cfg.CA.Issue(pki.CertSpec{CommonName: "system:node:" + n.name, Organization: []string{"system:nodes"},
		Server: true, DNSNames: []string{n.name, "localhost"}, IPs: []net.IP{nodeIP, net.ParseIP("127.0.0.1")}})
	if err != nil {
		ln.Close()
		return err
	}
	pool := x509.NewCertPool()
	pool.AddCert(cfg.CA.Cert)
	srv, err := server.New(server.Config{Listener: ln, CertPEM: certPEM, KeyPEM: keyPEM, ClientCAs: pool,
		Runtime: crd.RuntimeService(), PodLogDir: ag.PodLogDir})
	if err != nil {
		ln.Close()
		return err
	}
	log.Info("Local node starting", "podCIDR", n.podCIDR, "registry", reg.Addr(), "port", ln.Addr().String())
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return ag.Start(gctx) })
	g.Go(func() error { return srv.Start(gctx) })
	err = g.Wait()
	<-crd.Done()
	return err
}
