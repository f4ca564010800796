package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/klog/v2"

	"github.com/skiff-dev/skiff/apiserver"
)

func kubernetesVersion() string { return apiserver.KubernetesVersion }

// controlPlaneFlags binds the API server's options to flags.
func controlPlaneFlags(fs *pflag.FlagSet, o *apiserver.Options) {
	fs.StringVar(&o.DataDir, "data-dir", o.DataDir, "Directory for etcd data, certificates and the admin kubeconfig.")
	fs.IPVar(&o.BindAddress, "bind-address", o.BindAddress, "Address the API server listens on.")
	fs.IntVar(&o.SecurePort, "secure-port", o.SecurePort, "Port of the HTTPS API (0: any free port).")
	fs.StringVar(&o.AdvertiseAddress, "advertise-address", o.AdvertiseAddress, "Address written into kubeconfigs for reaching the API server.")
	fs.StringSliceVar(&o.EtcdServers, "etcd-servers", o.EtcdServers, "External etcd client URLs; when empty an embedded etcd runs under the data dir.")
	fs.IntVar(&o.EtcdClientPort, "etcd-client-port", o.EtcdClientPort, "Loopback client port of the embedded etcd (0: any free port).")
	fs.IntVar(&o.EtcdPeerPort, "etcd-peer-port", o.EtcdPeerPort, "Loopback peer port of the embedded etcd (0: any free port).")
}

func newServerCommand() *cobra.Command {
	o := apiserver.NewOptions()
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the control plane: embedded etcd and the API server",
		RunE: func(cmd *cobra.Command, args []string) error {
			return runControlPlane(cmd.Context(), cmd, o)
		},
	}
	controlPlaneFlags(cmd.Flags(), o)
	return cmd
}

// runControlPlane starts the API server and blocks until the context ends.
func runControlPlane(ctx context.Context, cmd *cobra.Command, o *apiserver.Options) error {
	cfg, err := o.Config(ctx)
	if err != nil {
		return err
	}
	srv, err := cfg.Complete().New()
	if err != nil {
		cfg.Close()
		return err
	}
	errCh := make(chan error, 1)
	go func() { errCh <- srv.Start(ctx) }()
	select {
	case <-srv.Ready():
		fmt.Fprintf(cmd.OutOrStdout(), "Skiff is ready. Kubeconfig: %s\n  export KUBECONFIG=%s\n", cfg.AdminKubeconfig, cfg.AdminKubeconfig)
	case err := <-errCh:
		return err
	}
	err = <-errCh
	klog.FromContext(ctx).Info("Stopped")
	if ctx.Err() != nil {
		return nil
	}
	return err
}
