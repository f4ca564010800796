package main

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/skiff-dev/skiff/apiserver"
	"github.com/skiff-dev/skiff/nodeagent/join"
	"github.com/skiff-dev/skiff/nodeagent/simulated"
)

func newAgentCommand() *cobra.Command {
	cfg := join.Config{DataDir: apiserver.NewOptions().DataDir}
	cfg.NodeName, _ = os.Hostname()
	var sim bool
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Run a node: join the cluster with --server and --token, then run the node agent",
		Long: "Join a cluster as node --node-name: with the join token (`skiff token create`) the agent\n" +
			"obtains its own client certificate (user system:node:<name>) once and keeps it in\n" +
			"<data-dir>/agent.kubeconfig; later starts reuse it and need no token.\n" +
			"--simulated runs the node in simulated mode (no containers run).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			res, err := join.Join(ctx, cfg)
			if err != nil {
				return err
			}
			if !sim {
				return errors.New("joined, but the container agent is not wired yet: run with --simulated for a simulated node")
			}
			restCfg, err := clientcmd.BuildConfigFromFlags("", res.Kubeconfig)
			if err != nil {
				return fmt.Errorf("loading %s: %w", res.Kubeconfig, err)
			}
			client, err := kubernetes.NewForConfig(restCfg)
			if err != nil {
				return err
			}
			node, err := simulated.New(simulated.Config{Name: cfg.NodeName, Client: client})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Node %s joined (simulated). Kubeconfig: %s\n", cfg.NodeName, res.Kubeconfig)
			if err := node.Start(ctx); err != nil && ctx.Err() == nil {
				return err
			}
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&cfg.Server, "server", "", "URL of the API server, https://HOST:PORT.")
	fs.StringVar(&cfg.Token, "token", "", "Join token <id>.<secret> from `skiff token create` (needed only for the first join).")
	fs.StringVar(&cfg.NodeName, "node-name", cfg.NodeName, "Name of this node.")
	fs.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "Directory for the node's credential (agent.kubeconfig) and the cluster CA.")
	fs.StringVar(&cfg.CACertHash, "ca-cert-hash", "", "sha256:<hex> of the cluster CA's public key, as `skiff token create` prints it; without it the CA is trusted on first use.")
	fs.DurationVar(&cfg.Timeout, "join-timeout", 5*time.Minute, "How long to wait for the node's certificate to be approved and signed.")
	fs.BoolVar(&sim, "simulated", false, "Run a simulated node (explicit simulated mode: pods are marked running, no containers run).")
	return cmd
}
