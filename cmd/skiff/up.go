package main

import (
	"github.com/spf13/cobra"

	"github.com/skiff-dev/skiff/apiserver"
)

func newUpCommand() *cobra.Command {
	o := apiserver.NewOptions()
	var agent bool
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Run a whole cluster on this machine",
		Long:  "Run the control plane (embedded etcd, API server) and, later, the controllers and a local node agent, in one process.",
		RunE: func(cmd *cobra.Command, args []string) error {
			return runControlPlane(cmd.Context(), cmd, o)
		},
	}
	controlPlaneFlags(cmd.Flags(), o)
	cmd.Flags().BoolVar(&agent, "agent", true, "Run a node agent for this machine (not yet available).")
	return cmd
}
