package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"

	"github.com/spf13/cobra"
	"k8s.io/component-base/cli/flag"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/skiff-dev/skiff/streaminglists"
)

func main() {
	streaminglists.Enable()
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	if err := newRootCommand().ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
}

// startProfileEnv names a file for a CPU profile of the process's start, from the control plane's
// start until it is ready (stopStartProfile) or fails: what a restart of a large
// cluster spends its time on (test/scale). Unset, nothing is profiled.
const startProfileEnv = "SKIFF_START_CPU_PROFILE"

var startProfileFile *os.File

func startProfile() {
	path := os.Getenv(startProfileEnv)
	if path == "" {
		return
	}
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", startProfileEnv, err)
		return
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", startProfileEnv, err)
		f.Close()
		return
	}
	startProfileFile = f
}

// stopStartProfile ends the profile startProfile began, if any.
func stopStartProfile() {
	if startProfileFile == nil {
		return
	}
	pprof.StopCPUProfile()
	startProfileFile.Close()
	startProfileFile = nil
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
