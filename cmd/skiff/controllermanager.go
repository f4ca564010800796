package main

import (
	"fmt"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/skiff-dev/skiff/controllers/controllermanager"
)

// controllerFlags binds the controllers' settings to flags.
func controllerFlags(fs *pflag.FlagSet, c *controllermanager.Config) {
	fs.DurationVar(&c.NodeMonitorGracePeriod, "node-monitor-grace-period", c.NodeMonitorGracePeriod,
		"How long a node's Lease may go unrenewed before the node is marked NotReady.")
	fs.DurationVar(&c.NodeMonitorPeriod, "node-monitor-period", c.NodeMonitorPeriod, "How often node health is checked.")
	fs.BoolVar(&c.Manager.LeaderElection, "leader-elect", c.Manager.LeaderElection,
		"Elect a leader on the Lease kube-system/skiff-controller-manager, so only one of several control planes acts.")
	fs.StringVar(&c.Manager.MetricsBindAddress, "controllers-metrics-bind-address", c.Manager.MetricsBindAddress,
		"Where the controllers serve Prometheus metrics (\"0\" disables).")
}

func newControllerManagerCommand() *cobra.Command {
	c := controllermanager.DefaultConfig()
	var kubeconfig string
	cmd := &cobra.Command{
		Use:   "controller-manager",
		Short: "Run the controllers (and the scheduler) alone, against any cluster's kubeconfig",
		RunE: func(cmd *cobra.Command, args []string) error {
			if kubeconfig == "" {
				return fmt.Errorf("--kubeconfig is required")
			}
			cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
			if err != nil {
				return fmt.Errorf("loading %s: %w", kubeconfig, err)
			}
			return controllermanager.Start(cmd.Context(), cfg, c)
		},
	}
	cmd.Flags().StringVar(&kubeconfig, "kubeconfig", "", "Kubeconfig of the cluster to control.")
	controllerFlags(cmd.Flags(), &c)
	return cmd
}
