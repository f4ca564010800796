package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/skiff-dev/skiff/apiserver"
	"github.com/skiff-dev/skiff/nodeagent/images"
)

// newImageCommand is `skiff image build|import|ls|rm`: the images of the node's registry, which
// every node's containerd tries first for any image name (its address is in
// <data-dir>/registry.addr). Names are normalized as Docker does: nginx:1.27 is
// docker.io/library/nginx:1.27.
func newImageCommand() *cobra.Command {
	dataDir := apiserver.NewOptions().DataDir
	var entrypoint []string
	cmd := &cobra.Command{Use: "image", Short: "Manage the images of Skiff's registry, which pods pull by their usual names"}
	cmd.PersistentFlags().StringVar(&dataDir, "data-dir", dataDir, "Data dir of the running skiff up (its node writes registry.addr there).")
	build := &cobra.Command{
		Use:   "build DIR NAME:TAG",
		Short: "Build a one-layer image from a directory (the image's root file system)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			addr, err := registryAddr(cmd.Context(), dataDir)
			if err != nil {
				return err
			}
			img, err := images.ImageFromDir(args[0], entrypoint)
			if err != nil {
				return fmt.Errorf("building from %s: %w", args[0], err)
			}
			name, err := images.Push(cmd.Context(), addr, img, args[1])
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), name)
			return nil
		},
	}
	build.Flags().StringSliceVar(&entrypoint, "entrypoint", nil, "The image's entrypoint, e.g. /bin/server.")
	imp := &cobra.Command{
		Use:   "import FILE.tar [NAME:TAG]",
		Short: "Import the images of a `docker save` or OCI layout archive under the names it records",
		Long: "Import every image of FILE.tar (made by `docker save`, `podman save`, `ctr images export`,\n" +
			"`crane pull`, ...; gzip-compressed or not) under the names the archive records, or, for an\n" +
			"archive of one image, under NAME:TAG. Pods then run it by that name on every node:\n" +
			"nginx:1.27 is docker.io/library/nginx:1.27. It prints the names, one a line.",
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			addr, err := registryAddr(cmd.Context(), dataDir)
			if err != nil {
				return err
			}
			rename := ""
			if len(args) == 2 {
				rename = args[1]
			}
			names, err := images.Import(cmd.Context(), addr, args[0], rename)
			for _, n := range names {
				fmt.Fprintln(cmd.OutOrStdout(), n)
			}
			return err
		},
	}
	ls := &cobra.Command{
		Use:     "ls",
		Aliases: []string{"list"},
		Short:   "List the images of the registry: name, digest, size",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			addr, err := registryAddr(cmd.Context(), dataDir)
			if err != nil {
				return err
			}
			list, err := images.List(cmd.Context(), addr)
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 8, 3, ' ', 0)
			fmt.Fprintln(w, "NAME\tDIGEST\tSIZE")
			for _, i := range list {
				fmt.Fprintf(w, "%s\t%s\t%s\n", i.Name, i.Digest, images.HumanSize(i.Size))
			}
			return w.Flush()
		},
	}
	rm := &cobra.Command{
		Use:     "rm NAME...",
		Aliases: []string{"remove"},
		Short:   "Remove images from the registry (nodes that pulled them keep their copy)",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			addr, err := registryAddr(cmd.Context(), dataDir)
			if err != nil {
				return err
			}
			for _, a := range args {
				name, err := images.Remove(cmd.Context(), addr, a)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "Removed %s\n", name)
			}
			return nil
		},
	}
	cmd.AddCommand(build, imp, ls, rm)
	return cmd
}

// registryAddr is the address of the registry of the node running with dataDir.
func registryAddr(ctx context.Context, dataDir string) (string, error) {
	raw, err := os.ReadFile(filepath.Join(dataDir, "registry.addr"))
	if err != nil {
		return "", fmt.Errorf("no registry in %s (start `skiff up` with its local node first): %w", dataDir, err)
	}
	addr := strings.TrimSpace(string(raw))
	if err := images.Reachable(ctx, addr); err != nil {
		return "", fmt.Errorf("the registry of %s (%s) does not answer; is skiff up running? %w", dataDir, addr, err)
	}
	return addr, nil
}
