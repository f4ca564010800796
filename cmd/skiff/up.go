package main

import (
	"context"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/skiff-dev/skiff/apiserver"
	"github.com/skiff-dev/skiff/apiserver/pki"
	"github.com/skiff-dev/skiff/controllers/clusterdns"
	"github.com/skiff-dev/skiff/nodeagent/faults"
	"github.com/skiff-dev/skiff/nodeagent/server"
	"github.com/skiff-dev/skiff/nodeagent/simulated"
)

func newUpCommand() *cobra.Command {
	p := newControlPlane()
	var agent, logToStderr bool
	var simulatedNodes int
	node := &localNode{port: server.DefaultPort, imagesSrc: ".", cleanupProxyOnExit: true}
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Run a whole cluster on this machine",
		Long: "Run the control plane (embedded etcd, API server, controllers, scheduler) in one process.\n" +
			"--simulated-nodes N adds N simulated nodes (no containers run) for trying the controllers out.",
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := node.housekeeping.validate(); err != nil {
				return err // refused before the cluster starts
			}
			if simulatedNodes > 0 {
				nodes := simulatedNodes
				if agent {
					nodes++
				}
				if err := p.controllers.NodeIPAM.CheckNodeCount(nodes); err != nil {
					return fmt.Errorf("--simulated-nodes %d: %w", simulatedNodes, err)
				}
			}
			if !logToStderr && !cmd.Flags().Changed("v") {
				path, err := logToFile(p.api.DataDir)
				if err != nil {
					return err
				}
				p.progress = newProgress(cmd.OutOrStdout())
				p.progress.step("Logs: %s (--log-to-stderr or -v N shows them here)", path)
			}
			if simulatedNodes > 0 {
				p.extra = append(p.extra, func(ctx context.Context, cfg *apiserver.Config) error {
					return runSimulatedNodes(ctx, cfg.AdminKubeconfig, cfg.CA, simulatedNodes, !p.controllers.NodeIPAM.AllocateNodeCIDRs)
				})
			}
			if agent {
				if err := node.eviction.parse(); err != nil {
					return err
				}
				node.clusterDomain = p.dns.domain
				if !cmd.Flags().Changed("cluster-dns") {
					// The kube-dns address of this cluster's own service range.
					ip, err := clusterdns.ServiceIPFor(p.api.ServiceClusterIPRange)
					if err != nil {
						return err
					}
					node.clusterDNS = []string{ip}
				}
				if node.name == "" {
					node.name, _ = os.Hostname()
					node.name = strings.ToLower(node.name)
				}
				p.api.ExtraMetrics = append(p.api.ExtraMetrics, node)
				node.progress = p.progress
				node.ingress.disabled = p.api.DisableIngress
				p.extra = append(p.extra, func(ctx context.Context, cfg *apiserver.Config) error {
					id, err := upIdentity(cfg, node.name)
					if err != nil {
						return err
					}
					return node.run(ctx, cfg.Options.DataDir, id)
				}, func(ctx context.Context, cfg *apiserver.Config) error {
					reportNodeReady(ctx, cfg.AdminKubeconfig, node.name, p.progress)
					return nil
				})
			}
			return p.run(cmd.Context(), cmd)
		},
	}
	p.flags(cmd.Flags())
	nodeDNSFlags(cmd.Flags(), node, false)
	nodeIngressFlags(cmd.Flags(), &node.ingress)
	nodeEvictionFlags(cmd.Flags(), &node.eviction)
	nodeStaticPodFlags(cmd.Flags(), node)
	cmd.Flags().Int64Var(&node.podMaxPids, "pod-max-pids", -1, podMaxPidsUsage)
	nodeHousekeepingFlags(cmd.Flags(), &node.housekeeping)
	cmd.Flags().BoolVar(&logToStderr, "log-to-stderr", false, "Write the components' logs to stderr instead of <data-dir>/logs/skiff.log (also when -v is given).")
	cmd.Flags().BoolVar(&agent, "agent", true, "Run a node agent for this machine (containers on a private containerd).")
	cmd.Flags().StringVar(&node.name, "node-name", "", "Name of this machine's node (default: the hostname).")
	cmd.Flags().StringVar(&node.podCIDR, "pod-cidr", "", "Pod subnet of this machine's node (default: a subnet of --cluster-cidr, assigned by the node IPAM controller).")
	cmd.Flags().IntVar(&node.port, "node-port", node.port, "Port of the node agent's HTTPS server (logs, exec, port-forward; 0: any free port).")
	runDirFlag(cmd.Flags(), &node.runDir, "Directory where the node records itself for skiff killall")
	cmd.Flags().StringVar(&node.imagesSrc, "images-src", node.imagesSrc, "Skiff source tree whose test/images are built into the builtin images (pause, busybox, skiff-http).")
	cmd.Flags().IntVar(&simulatedNodes, "simulated-nodes", 0, "Number of simulated nodes to run in one process (explicit simulated mode: the agent's status, Lease and pod lifecycle code on an in-memory runtime, no containers run; one pod watch for all of them).")
	return cmd
}

// runSimulatedNodes runs n simulated nodes named sim-0, sim-1, ... in one simulated.Pool (one
// pod watch for all of them): their pod CIDRs come from the node IPAM controller, or are
// 10.244.<i>.0/24 when it is off (explicit). Each serves the node agent's API on a loopback port
// with a certificate of ca, so that the metrics API (kubectl top) reads their simulated usage.
func runSimulatedNodes(ctx context.Context, kubeconfig string, ca *pki.CA, n int, explicitCIDRs bool) error {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return fmt.Errorf("loading %s: %w", kubeconfig, err)
	}
	// No client-side limit: the pool paces its nodes' status writes itself, and their Leases
	// alone are n/10 a second.
	cfg.QPS, cfg.Burst = -1, 0
	client, err := builtinClient(cfg)
	if err != nil {
		return err
	}
	// One Fault watcher for all the simulated nodes: they honour NodeHeartbeat faults.
	faultWatcher, err := faults.NewWatcherForConfig(cfg)
	if err != nil {
		return err
	}
	pool, err := simulated.NewPool(simulated.PoolConfig{Client: client, Faults: faultWatcher})
	if err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		nc := simulated.Config{Name: fmt.Sprintf("sim-%d", i)}
		if nc.Server, err = simulatedServer(ca, nc.Name); err != nil {
			return err
		}
		if explicitCIDRs {
			nc.PodCIDR = fmt.Sprintf("10.244.%d.0/24", i%256)
		}
		if _, err := pool.Add(nc); err != nil {
			return err
		}
	}
	return pool.Start(ctx)
}

// reportNodeReady prints one progress line when the node first reports Ready, with a next step.
func reportNodeReady(ctx context.Context, kubeconfig, name string, pr *progress) {
	if pr == nil {
		return
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return
	}
	err = wait.PollUntilContextCancel(ctx, 500*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		node, err := client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		for _, c := range node.Status.Conditions {
			if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
				return true, nil
			}
		}
		return false, nil
	})
	if err == nil {
		pr.step("Node %s is Ready. Next: kubectl get nodes; kubectl create deployment web --image=busybox -- sleep 3600", name)
	}
}

// simulatedServer is a simulated node's server: a loopback listener and a serving certificate
// of the cluster CA for it.
func simulatedServer(ca *pki.CA, name string) (*simulated.ServerConfig, error) {
	loopback := net.ParseIP("127.0.0.1")
	certPEM, keyPEM, err := ca.Issue(pki.CertSpec{CommonName: "system:node:" + name, Organization: []string{"system:nodes"},
		Server: true, IPs: []net.IP{loopback}})
	if err != nil {
		return nil, fmt.Errorf("simulated node %s: serving certificate: %w", name, err)
	}
	l, err := net.Listen("tcp", net.JoinHostPort(loopback.String(), "0"))
	if err != nil {
		return nil, fmt.Errorf("simulated node %s: %w", name, err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	return &simulated.ServerConfig{Listener: l, CertPEM: certPEM, KeyPEM: keyPEM, ClientCAs: pool}, nil
}
