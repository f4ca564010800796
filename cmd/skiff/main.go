package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
	"k8s.io/component-base/cli/flag"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/skiff-dev/skiff/controllers"
)

func main() {
	controllers.EnableStreamingLists()
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	if err := newRootCommand().ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
}

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "skiff",
		Short:         "A Kubernetes-compatible cluster in one binary",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetGlobalNormalizationFunc(flag.WordSepNormalizeFunc)
	root.PersistentFlags().AddGoFlagSet(klogFlags)
	ctrl.SetLogger(klog.NewKlogr())
	root.AddCommand(newUpCommand(), newServerCommand(), newAgentCommand(), newControllerManagerCommand(), newTokenCommand(), newImageCommand(), newEtcdCommand(), newKillallCommand(), newResetCommand(), newUICommand(), newHistoryCommand(), newWhyCommand(), newTraceCommand(), newVersionCommand())
	return root
}

func newVersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the Kubernetes version Skiff serves",
		RunE: func(cmd *cobra.Command, args []string) error {
			fmt.Fprintf(cmd.OutOrStdout(), "skiff (Kubernetes v%s)\n", kubernetesVersion())
			return nil
		},
	}
}
