package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/skiff-dev/skiff/nodeagent/simulated"
)

func newUpCommand() *cobra.Command {
	p := newControlPlane()
	var agent bool
	var simulatedNodes int
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Run a whole cluster on this machine",
		Long: "Run the control plane (embedded etcd, API server, controllers, scheduler) in one process.\n" +
			"--simulated-nodes N adds N simulated nodes (no containers run) for trying the controllers out.",
		RunE: func(cmd *cobra.Command, args []string) error {
			if simulatedNodes > 0 {
				p.extra = append(p.extra, func(ctx context.Context, kubeconfig string) error {
					return runSimulatedNodes(ctx, kubeconfig, simulatedNodes)
				})
			}
			if agent {
				fmt.Fprintln(cmd.ErrOrStderr(), "Note: the node agent is not built yet; running the control plane without a local node.")
			}
			return p.run(cmd.Context(), cmd)
		},
	}
	p.flags(cmd.Flags())
	cmd.Flags().BoolVar(&agent, "agent", true, "Run a node agent for this machine.")
	cmd.Flags().IntVar(&simulatedNodes, "simulated-nodes", 0, "Number of simulated nodes to register (explicit simulated mode: pods are marked running, no containers run).")
	return cmd
}

// runSimulatedNodes runs n simulated nodes named sim-0, sim-1, ... with their own pod CIDRs.
func runSimulatedNodes(ctx context.Context, kubeconfig string, n int) error {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return fmt.Errorf("loading %s: %w", kubeconfig, err)
	}
	cfg.QPS, cfg.Burst = 200, 400
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	for i := 0; i < n; i++ {
		node, err := simulated.New(simulated.Config{Name: fmt.Sprintf("sim-%d", i), Client: client,
			PodCIDR: fmt.Sprintf("10.244.%d.0/24", i%256)})
		if err != nil {
			return err
		}
		g.Go(func() error { return node.Start(gctx) })
	}
	return g.Wait()
}
