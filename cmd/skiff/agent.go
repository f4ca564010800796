package main

import (
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	certutil "k8s.io/client-go/util/cert"

	"github.com/skiff-dev/skiff/apiserver"
	"github.com/skiff-dev/skiff/nodeagent/failover"
	"github.com/skiff-dev/skiff/nodeagent/faults"
	"github.com/skiff-dev/skiff/nodeagent/join"
	"github.com/skiff-dev/skiff/nodeagent/netpol"
	"github.com/skiff-dev/skiff/nodeagent/proxy"
	"github.com/skiff-dev/skiff/nodeagent/routes"
	"github.com/skiff-dev/skiff/nodeagent/server"
	"github.com/skiff-dev/skiff/nodeagent/simulated"
)

func newAgentCommand() *cobra.Command {
	cfg := join.Config{DataDir: apiserver.NewOptions().DataDir}
	cfg.NodeName, _ = os.Hostname()
	var sim, cleanupOnly bool
	count := 1
	var servers []string
	node := &localNode{port: server.DefaultPort, imagesSrc: ".", learnRegistry: true}
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Run a node: join the cluster with --server and --token, then run the node agent",
		Long: "Join a cluster as node --node-name: with the join token (`skiff token create`) the agent\n" +
			"obtains its own client certificate (user system:node:<name>) once and keeps it in\n" +
			"<data-dir>/agent.kubeconfig; later starts reuse it and need no token.\n" +
			"--simulated runs the node in simulated mode (no containers run); --count N runs N of them.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if err := node.eviction.parse(); err != nil {
				return err
			}
			if err := node.housekeeping.validate(); err != nil {
				return err // refused before the node joins
			}
			if cleanupOnly {
				// As `kube-proxy --cleanup`: remove the node's service rules and exit.
				if err := proxy.CleanupTable(ctx, proxy.TableNameFor(cfg.NodeName)); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "Removed the service proxy rules of node %s (nftables table ip %s).\n",
					cfg.NodeName, proxy.TableNameFor(cfg.NodeName))
				if err := netpol.CleanupTable(ctx, netpol.TableNameFor(cfg.NodeName)); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "Removed the NetworkPolicy rules of node %s (nftables table ip %s).\n",
					cfg.NodeName, netpol.TableNameFor(cfg.NodeName))
				// And the routes to other nodes' pod subnets (shared by the Skiff nodes of this
				// machine; a running one puts its own back at its next resync).
				if err := routes.Cleanup(ctx, routes.Config{ManageForwarding: true}); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "Removed Skiff's routes to pod subnets (ip route proto %s).\n", routes.Protocol)
				return nil
			}
			if len(servers) > 0 {
				cfg.Server = servers[0]
			}
			if sim {
				return runSimulatedAgents(ctx, cmd.OutOrStdout(), cfg, servers, count, node.podCIDR, node.profiling)
			}
			res, err := join.Join(ctx, cfg)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Node %s joined. Kubeconfig: %s\n", cfg.NodeName, res.Kubeconfig)
			caPEM, err := os.ReadFile(filepath.Join(cfg.DataDir, join.CAFile))
			if err != nil {
				return fmt.Errorf("reading the cluster CA: %w", err)
			}
			cas, err := certutil.ParseCertsPEM(caPEM)
			if err != nil {
				return fmt.Errorf("parsing the cluster CA: %w", err)
			}
			node.name = cfg.NodeName
			return node.run(ctx, cfg.DataDir, nodeIdentity{kubeconfig: res.Kubeconfig, ca: cas[0], servers: servers,
				servingCert: func(ctx context.Context, client kubernetes.Interface, ips []net.IP, dnsNames []string) ([]byte, []byte, error) {
					return servingCertificate(ctx, client, cfg.NodeName, cfg.DataDir, ips, cfg.Timeout, dnsNames...)
				}})
		},
	}
	fs := cmd.Flags()
	fs.StringSliceVar(&servers, "server", nil, "URL of the API server, https://HOST:PORT; repeat it for the members of a highly available control plane: the node joins through the first and fails over to the next that answers.")
	fs.StringVar(&cfg.Token, "token", "", "Join token <id>.<secret> from `skiff token create` (needed only for the first join).")
	fs.StringVar(&cfg.NodeName, "node-name", cfg.NodeName, "Name of this node.")
	fs.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "Directory for the node's credential (agent.kubeconfig) and the cluster CA.")
	fs.StringVar(&cfg.CACertHash, "ca-cert-hash", "", "sha256:<hex> of the cluster CA's public key, as `skiff token create` prints it; without it the CA is trusted on first use.")
	fs.DurationVar(&cfg.Timeout, "join-timeout", 5*time.Minute, "How long to wait for the node's certificate to be approved and signed.")
	fs.StringVar(&node.podCIDR, "pod-cidr", "", "Pod subnet of this node, distinct per node (default: the subnet the control plane's node IPAM controller assigns; --simulated too).")
	fs.IntVar(&node.port, "node-port", node.port, "Port of the node agent's HTTPS server (logs, exec, port-forward).")
	fs.StringVar(&node.registry, "registry", "", "Mirror this Skiff registry (HOST:PORT, e.g. the server's <data-dir>/registry.addr) instead of running one. Without it the node uses the registry the server publishes (ConfigMap kube-system/skiff-registry) when it can reach it, else runs its own.")
	runDirFlag(fs, &node.runDir, "Directory where the node records itself for skiff killall")
	fs.StringVar(&node.imagesSrc, "images-src", node.imagesSrc, "Skiff source tree whose test/images are built into the builtin images.")
	fs.BoolVar(&node.profiling, "profiling", false, "Serve pprof at /debug/pprof/ on the node's HTTPS server (to clients of the cluster CA), as the kubelet's enableProfilingHandler.")
	fs.BoolVar(&cleanupOnly, "cleanup", false, "Remove the service proxy's nftables rules of node --node-name and Skiff's routes to pod subnets, and exit.")
	nodeDNSFlags(fs, node, true)
	nodeIngressFlags(fs, &node.ingress)
	nodeEvictionFlags(fs, &node.eviction)
	nodeStaticPodFlags(fs, node)
	fs.Int64Var(&node.podMaxPids, "pod-max-pids", -1, podMaxPidsUsage)
	nodeHousekeepingFlags(fs, &node.housekeeping)
	tracingFlags(fs)
	fs.BoolVar(&sim, "simulated", false, "Run a simulated node (explicit simulated mode: the agent's status, Lease and pod lifecycle code on an in-memory runtime, no containers run).")
	fs.IntVar(&count, "count", 1, "With --simulated: run this many simulated nodes in one process, named <node-name>-0 ... <node-name>-<count-1>, each joining with its own credential (in <data-dir>/<name>); one pod watch serves them all.")
	return cmd
}

// runSimulatedAgents joins count simulated nodes (one named cfg.NodeName, or <cfg.NodeName>-<i>
// with their credentials in <data-dir>/<name>) and runs them in one simulated.Pool: the first
// node's client watches the pods and Nodes for all, each node writes its own Node, Lease and
// pod statuses with its own credential (a node may write only its own).
func runSimulatedAgents(ctx context.Context, out io.Writer, cfg join.Config, servers []string, count int, podCIDR string, profiling bool) error {
	if count < 1 {
		return fmt.Errorf("--count %d: need at least 1", count)
	}
	if count > 1 && podCIDR != "" {
		return fmt.Errorf("--pod-cidr names one node's subnet: with --count the node IPAM controller assigns them")
	}
	names := []string{cfg.NodeName}
	if count > 1 {
		names = make([]string, count)
		for i := range names {
			names[i] = fmt.Sprintf("%s-%d", cfg.NodeName, i)
		}
	}
	clients := make([]kubernetes.Interface, count)
	restCfgs := make([]*rest.Config, count)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(16)
	for i, name := range names {
		g.Go(func() error {
			nc := cfg
			nc.NodeName = name
			nc.DataDir = dataDirOf(cfg, name, count)
			res, err := join.Join(gctx, nc)
			if err != nil {
				return fmt.Errorf("node %s: %w", name, err)
			}
			restCfg, err := clientcmd.BuildConfigFromFlags("", res.Kubeconfig)
			if err != nil {
				return fmt.Errorf("loading %s: %w", res.Kubeconfig, err)
			}
			if _, err := failover.Apply(restCfg, servers); err != nil {
				return err
			}
			// The pool paces its status writes; a node's Lease is one write in 10 s.
			restCfg.QPS, restCfg.Burst = -1, 0
			if clients[i], err = builtinClient(restCfg); err != nil {
				return err
			}
			restCfgs[i] = restCfg
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	faultWatcher, err := faults.NewWatcherForConfig(restCfgs[0])
	if err != nil {
		return err
	}
	pool, err := simulated.NewPool(simulated.PoolConfig{Client: clients[0], Faults: faultWatcher})
	if err != nil {
		return err
	}
	caPEM, err := os.ReadFile(filepath.Join(dataDirOf(cfg, names[0], count), join.CAFile))
	if err != nil {
		return fmt.Errorf("reading the cluster CA: %w", err)
	}
	clientCAs := x509.NewCertPool()
	if !clientCAs.AppendCertsFromPEM(caPEM) {
		return fmt.Errorf("no certificate in the cluster CA %s", join.CAFile)
	}
	// Every node serves the agent's API (resource metrics, kubectl top) on a port of its own at
	// the host's address, with a kubelet-serving certificate of its own (kept in its data dir
	// from the last run, else requested once the Node is registered, a few at a time).
	hostIP, err := utilnet.ChooseHostInterface()
	if err != nil {
		hostIP = net.ParseIP("127.0.0.1")
	}
	// At most 64 requests in flight (the certificates controller signs with 10 workers).
	certSlots := make(chan struct{}, 64)
	for i, name := range names {
		l, err := net.Listen("tcp", net.JoinHostPort(hostIP.String(), "0"))
		if err != nil {
			return fmt.Errorf("simulated node %s: %w", name, err)
		}
		client := clients[i]
		srv := &simulated.ServerConfig{Listener: l, ClientCAs: clientCAs, Profiling: profiling,
			Certificate: func(ctx context.Context) ([]byte, []byte, error) {
				select {
				case certSlots <- struct{}{}:
				case <-ctx.Done():
					return nil, nil, ctx.Err()
				}
				defer func() { <-certSlots }()
				return servingCertificate(ctx, client, name, dataDirOf(cfg, name, count), []net.IP{hostIP}, cfg.Timeout)
			}}
		if _, err := pool.Add(simulated.Config{Name: name, Client: client, PodCIDR: podCIDR, Server: srv}); err != nil {
			return err
		}
	}
	if count == 1 {
		fmt.Fprintf(out, "Node %s joined (simulated). Kubeconfig: %s\n", names[0], join.KubeconfigPath(cfg.DataDir))
	} else {
		fmt.Fprintf(out, "Nodes %s ... %s joined (simulated, %d). Kubeconfigs: %s/<name>/%s\n", names[0], names[count-1], count,
			cfg.DataDir, join.KubeconfigFile)
	}
	if err := pool.Start(ctx); err != nil && ctx.Err() == nil {
		return err
	}
	return nil
}

// servingCertificate is node's kubelet-serving certificate for ips and dnsNames kept in dir
// (join.KeptServingCertificate), or else one requested once the Node reports addresses (the
// request is approved against them).
func servingCertificate(ctx context.Context, client kubernetes.Interface, node, dir string, ips []net.IP, timeout time.Duration, dnsNames ...string) ([]byte, []byte, error) {
	return join.KeptServingCertificate(dir, ips, dnsNames, time.Now(), func() ([]byte, []byte, error) {
		err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
			n, err := client.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
			return err == nil && len(n.Status.Addresses) > 0, nil
		})
		if err != nil {
			return nil, nil, fmt.Errorf("node %s did not register: %w", node, err)
		}
		return join.ServingCertificate(ctx, client, node, ips, dnsNames, timeout)
	})
}

// dataDirOf is the data dir of the simulated node name: cfg's, or <data-dir>/<name> with --count.
func dataDirOf(cfg join.Config, name string, count int) string {
	if count > 1 {
		return filepath.Join(cfg.DataDir, name)
	}
	return cfg.DataDir
}
