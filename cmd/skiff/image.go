package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/spf13/cobra"

	"github.com/skiff-dev/skiff/apiserver"
	"github.com/skiff-dev/skiff/nodeagent/images"
)

// newImageCommand is `skiff image build|import`: images into the loopback registry that the
// local node of `skiff up` runs (its address is in <data-dir>/registry.addr).
func newImageCommand() *cobra.Command {
	dataDir := apiserver.NewOptions().DataDir
	var entrypoint []string
	cmd := &cobra.Command{Use: "image", Short: "Put images into Skiff's loopback registry, for pods to pull"}
	cmd.PersistentFlags().StringVar(&dataDir, "data-dir", dataDir, "Data dir of the running skiff up (its node writes registry.addr there).")
	build := &cobra.Command{
		Use:   "build DIR NAME:TAG",
		Short: "Build a one-layer image from a directory (the image's root file system)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			img, err := images.ImageFromDir(args[0], entrypoint)
			if err != nil {
				return fmt.Errorf("building from %s: %w", args[0], err)
			}
			return pushImage(cmd, dataDir, img, args[1])
		},
	}
	build.Flags().StringSliceVar(&entrypoint, "entrypoint", nil, "The image's entrypoint, e.g. /bin/server.")
	imp := &cobra.Command{
		Use:   "import FILE.tar NAME:TAG",
		Short: "Import an image saved with `docker save` (or any image tarball)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			img, err := tarball.ImageFromPath(args[0], nil)
			if err != nil {
				return fmt.Errorf("reading %s: %w", args[0], err)
			}
			return pushImage(cmd, dataDir, img, args[1])
		},
	}
	cmd.AddCommand(build, imp)
	return cmd
}

// pushImage pushes img as ref ("name:tag", placed under the registry's address) and prints the
// reference pods use.
func pushImage(cmd *cobra.Command, dataDir string, img v1.Image, ref string) error {
	raw, err := os.ReadFile(filepath.Join(dataDir, "registry.addr"))
	if err != nil {
		return fmt.Errorf("no running registry in %s (start `skiff up` with its local node first): %w", dataDir, err)
	}
	addr := strings.TrimSpace(string(raw))
	full := addr + "/" + strings.TrimPrefix(ref, addr+"/")
	parsed, err := name.ParseReference(full, name.Insecure)
	if err != nil {
		return fmt.Errorf("image name %q: %w", ref, err)
	}
	if err := remote.Write(parsed, img, remote.WithContext(cmd.Context())); err != nil {
		return fmt.Errorf("pushing %s: %w", full, err)
	}
	fmt.Fprintln(cmd.OutOrStdout(), full)
	return nil
}
