package images

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// File is one entry of an image layer built in memory.
type File struct {
	Path     string      // inside the image, without a leading slash: "bin/sh"
	Mode     fs.FileMode // permission bits, plus fs.ModeDir or fs.ModeSymlink for those
	Contents []byte      // for regular files
	Link     string      // symlink target
}

// epoch is the modification time of every entry, so that the same inputs give the same digest.
var epoch = time.Unix(0, 0).UTC()

// LayerFromFiles returns an uncompressed-tar layer holding files (parent directories are added).
func LayerFromFiles(files []File) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dirs := map[string]bool{}
	var addDir func(string) error
	addDir = func(d string) error {
		if d == "." || d == "" || dirs[d] {
			return nil
		}
		if err := addDir(filepath.Dir(d)); err != nil {
			return err
		}
		dirs[d] = true
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: 0o755, ModTime: epoch, Format: tar.FormatPAX})
	}
	sorted := append([]File(nil), files...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Path < sorted[j].Path })
	for _, f := range sorted {
		p := strings.TrimPrefix(filepath.Clean("/"+f.Path), "/")
		if p == "" {
			continue
		}
		if err := addDir(filepath.Dir(p)); err != nil {
			return nil, err
		}
		perm := int64(f.Mode.Perm())
		switch {
		case f.Mode&fs.ModeDir != 0:
			if dirs[p] {
				continue
			}
			dirs[p] = true
			if perm == 0 {
				perm = 0o755
			}
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: p + "/", Mode: perm, ModTime: epoch, Format: tar.FormatPAX}); err != nil {
				return nil, err
			}
		case f.Mode&fs.ModeSymlink != 0:
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: p, Linkname: f.Link, Mode: 0o777, ModTime: epoch, Format: tar.FormatPAX}); err != nil {
				return nil, err
			}
		default:
			if perm == 0 {
				perm = 0o644
			}
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: p, Mode: perm, Size: int64(len(f.Contents)), ModTime: epoch, Format: tar.FormatPAX}); err != nil {
				return nil, err
			}
			if _, err := tw.Write(f.Contents); err != nil {
				return nil, err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	b := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(b)), nil
	}, tarball.WithMediaType(types.OCILayer))
}

// ImageConfig is what Skiff sets in an image's config.
type ImageConfig struct {
	Entrypoint []string
	Cmd        []string
	Env        []string // default: PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
	WorkingDir string
	User       string
}

// NewImage returns a linux/amd64 OCI image of the given layers and config.
func NewImage(cfg ImageConfig, layers ...v1.Layer) (v1.Image, error) {
	base := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	base = mutate.ConfigMediaType(base, types.OCIConfigJSON)
	img, err := mutate.AppendLayers(base, layers...)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	cf.Created = v1.Time{Time: epoch}
	env := cfg.Env
	if len(env) == 0 {
		env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	}
	cf.Config.Entrypoint = cfg.Entrypoint
	cf.Config.Cmd = cfg.Cmd
	cf.Config.Env = env
	cf.Config.WorkingDir = cfg.WorkingDir
	cf.Config.User = cfg.User
	return mutate.ConfigFile(img, cf)
}

// ImageFromDir returns an image whose single layer is the tree under dir (regular files,
// directories and symlinks; modes kept, owners reset to root), with entrypoint.
func ImageFromDir(dir string, entrypoint []string) (v1.Image, error) {
	var files []File
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil || rel == "." {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		f := File{Path: filepath.ToSlash(rel), Mode: info.Mode()}
		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			if f.Link, err = os.Readlink(p); err != nil {
				return err
			}
		case info.IsDir():
		case info.Mode().IsRegular():
			if f.Contents, err = os.ReadFile(p); err != nil {
				return err
			}
		default:
			return nil // sockets, devices, fifos: not in images
		}
		files = append(files, f)
		return nil
	})
	if err != nil {
		return nil, err
	}
	layer, err := LayerFromFiles(files)
	if err != nil {
		return nil, err
	}
	return NewImage(ImageConfig{Entrypoint: entrypoint}, layer)
}

// BuildFromDir pushes an image of the tree under dir with entrypoint as ref, and returns the full
// reference (`skiff image build`).
func (r *Registry) BuildFromDir(ctx context.Context, dir, ref string, entrypoint []string) (string, error) {
	img, err := ImageFromDir(dir, entrypoint)
	if err != nil {
		return "", fmt.Errorf("building %s from %s: %w", ref, dir, err)
	}
	return r.Push(ctx, img, ref)
}

// ImportArchive pushes the images of a `docker save` or OCI layout archive at path under their
// recorded names, or under rename (see Import), and returns their names (`skiff image import`).
func (r *Registry) ImportArchive(ctx context.Context, path, rename string) ([]string, error) {
	return Import(ctx, r.Addr(), path, rename)
}
