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
	fs.IntVar(&c.TerminatedPodGCThreshold, "terminated-pod-gc-threshold", c.TerminatedPodGCThreshold,
		"Number of terminated pods that can exist before the pod garbage collector deletes the oldest (0 or less: never).")
	fs.BoolVar(&c.Manager.LeaderElection, "leader-elect", c.Manager.LeaderElection,
		"Elect a leader on the Lease kube-system/skiff-controller-manager, so only one of several control planes acts (a lost Lease stops the controllers and scheduler until this process is elected again).")
	fs.Float32Var(&c.Manager.QPS, "kube-api-qps", c.Manager.QPS,
		"Requests per second the controllers may send to the API server (kube-controller-manager's flag; Skiff's default is higher than upstream's 20, priority and fairness protects the server).")
	fs.IntVar(&c.Manager.Burst, "kube-api-burst", c.Manager.Burst, "Burst of requests the controllers may send to the API server above --kube-api-qps.")
	fs.StringVar(&c.Manager.MetricsBindAddress, "controllers-metrics-bind-address", c.Manager.MetricsBindAddress,
		"Where the controllers serve Prometheus metrics (\"0\" disables).")
	fs.BoolVar(&c.NodeIPAM.AllocateNodeCIDRs, "allocate-node-cidrs", c.NodeIPAM.AllocateNodeCIDRs,
		"Give every Node without spec.podCIDR a subnet of --cluster-cidr (the node IPAM controller).")
	fs.StringVar(&c.NodeIPAM.ClusterCIDR, "cluster-cidr", c.NodeIPAM.ClusterCIDR,
		"CIDR range of the pods, cut into node subnets; an IPv4 and an IPv6 CIDR comma-separated for dual-stack.")
	fs.IntVar(&c.NodeIPAM.NodeCIDRMaskSize, "node-cidr-mask-size", c.NodeIPAM.NodeCIDRMaskSize,
		"Mask size of the node subnets in a single-stack cluster (default 24 for IPv4, 64 for IPv6).")
	fs.IntVar(&c.NodeIPAM.NodeCIDRMaskSizeIPv4, "node-cidr-mask-size-ipv4", c.NodeIPAM.NodeCIDRMaskSizeIPv4,
		"Mask size of the IPv4 node subnets in a dual-stack cluster (default 24).")
	fs.IntVar(&c.NodeIPAM.NodeCIDRMaskSizeIPv6, "node-cidr-mask-size-ipv6", c.NodeIPAM.NodeCIDRMaskSizeIPv6,
		"Mask size of the IPv6 node subnets in a dual-stack cluster (default 64).")
	hpa := &c.PodAutoscaler
	fs.DurationVar(&hpa.SyncPeriod, "horizontal-pod-autoscaler-sync-period", hpa.SyncPeriod,
		"How often each HorizontalPodAutoscaler is evaluated.")
	fs.Float64Var(&hpa.Tolerance, "horizontal-pod-autoscaler-tolerance", hpa.Tolerance,
		"How far a metric may be from its target (a ratio) before the autoscaler rescales.")
	fs.DurationVar(&hpa.DownscaleStabilization, "horizontal-pod-autoscaler-downscale-stabilization", hpa.DownscaleStabilization,
		"How far back the autoscaler looks for a higher recommendation before scaling down.")
	fs.DurationVar(&hpa.Readiness.CPUInitializationPeriod, "horizontal-pod-autoscaler-cpu-initialization-period", hpa.Readiness.CPUInitializationPeriod,
		"How long after a pod starts its CPU samples are skipped unless taken after it became Ready.")
	fs.DurationVar(&hpa.Readiness.DelayOfInitialReadinessStatus, "horizontal-pod-autoscaler-initial-readiness-delay", hpa.Readiness.DelayOfInitialReadinessStatus,
		"How long after a pod starts a readiness change is taken as its initial readiness.")
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
			if err := c.NodeIPAM.Validate(); err != nil {
				return err
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
