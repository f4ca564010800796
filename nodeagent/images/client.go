package images

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// The functions here talk to a running registry at addr (host:port, as in
// <data-dir>/registry.addr) over HTTP: `skiff image` uses them.

// Push writes img to the registry at addr under image (normalized: "nginx:1.27" is stored as
// docker.io/library/nginx:1.27) and returns the normalized name.
func Push(ctx context.Context, addr string, img v1.Image, image string) (string, error) {
	ref, err := RefIn(addr, image)
	if err != nil {
		return "", err
	}
	if err := remote.Write(ref, img, remote.WithContext(ctx)); err != nil {
		return "", fmt.Errorf("pushing %s: %w", image, err)
	}
	n, _ := ParseName(image)
	return n.String(), nil
}

// PushIndex writes a multi-platform image (an index) as Push does.
func PushIndex(ctx context.Context, addr string, idx v1.ImageIndex, image string) (string, error) {
	ref, err := RefIn(addr, image)
	if err != nil {
		return "", err
	}
	if err := remote.WriteIndex(ref, idx, remote.WithContext(ctx)); err != nil {
		return "", fmt.Errorf("pushing %s: %w", image, err)
	}
	n, _ := ParseName(image)
	return n.String(), nil
}

// ImageInfo is one tagged image of the registry, as `skiff image ls` lists it.
type ImageInfo struct {
	Name   string // docker.io/library/nginx:1.27
	Digest string // of the manifest (or index)
	Size   int64  // config and layers (compressed); of every platform for an index
}

// List returns every tagged image of the registry at addr, sorted by name.
func List(ctx context.Context, addr string) ([]ImageInfo, error) {
	reg, err := name.NewRegistry(addr, name.Insecure)
	if err != nil {
		return nil, err
	}
	repos, err := remote.Catalog(ctx, reg)
	if err != nil {
		return nil, fmt.Errorf("listing the registry at %s: %w", addr, err)
	}
	var out []ImageInfo
	for _, repo := range repos {
		r, err := name.NewRepository(addr+"/"+repo, name.Insecure)
		if err != nil {
			continue
		}
		tags, err := remote.List(r, remote.WithContext(ctx))
		if err != nil {
			return nil, fmt.Errorf("listing %s: %w", repo, err)
		}
		for _, tag := range tags {
			desc, err := remote.Get(r.Tag(tag), remote.WithContext(ctx))
			if err != nil {
				if isNotFound(err) {
					continue // removed meanwhile
				}
				return nil, fmt.Errorf("reading %s:%s: %w", repo, tag, err)
			}
			out = append(out, ImageInfo{Name: repo + ":" + tag, Digest: desc.Digest.String(), Size: descriptorSize(desc)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// descriptorSize is the size of an image's blobs: its config and layers, or of each image of an
// index.
func descriptorSize(desc *remote.Descriptor) int64 {
	if desc.MediaType.IsIndex() {
		idx, err := desc.ImageIndex()
		if err != nil {
			return 0
		}
		m, err := idx.IndexManifest()
		if err != nil {
			return 0
		}
		var total int64
		for _, d := range m.Manifests {
			img, err := idx.Image(d.Digest)
			if err != nil {
				continue
			}
			total += imageSize(img)
		}
		return total
	}
	img, err := desc.Image()
	if err != nil {
		return 0
	}
	return imageSize(img)
}

func imageSize(img v1.Image) int64 {
	m, err := img.Manifest()
	if err != nil {
		return 0
	}
	total := m.Config.Size
	for _, l := range m.Layers {
		total += l.Size
	}
	return total
}

// Remove deletes image (a tag or digest) from the registry at addr. Its blobs stay on disk, and
// nodes that pulled it keep their copy.
func Remove(ctx context.Context, addr, image string) (string, error) {
	ref, err := RefIn(addr, image)
	if err != nil {
		return "", err
	}
	n, _ := ParseName(image)
	if _, err := remote.Head(ref, remote.WithContext(ctx)); err != nil {
		if isNotFound(err) {
			return "", fmt.Errorf("no image %s in the registry at %s", n, addr)
		}
		return "", fmt.Errorf("reading %s: %w", n, err)
	}
	if err := remote.Delete(ref, remote.WithContext(ctx)); err != nil {
		return "", fmt.Errorf("removing %s: %w", n, err)
	}
	return n.String(), nil
}

func isNotFound(err error) bool {
	var te *transport.Error
	return errors.As(err, &te) && te.StatusCode == http.StatusNotFound
}

// HumanSize is size in the units `docker images` uses (kB, MB, GB: powers of 1000).
func HumanSize(size int64) string {
	units := []string{"B", "kB", "MB", "GB", "TB"}
	f := float64(size)
	i := 0
	for f >= 1000 && i < len(units)-1 {
		f /= 1000
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%dB", size)
	}
	s := fmt.Sprintf("%.3g", f)
	if strings.Contains(s, "e") {
		s = fmt.Sprintf("%.0f", f)
	}
	return s + units[i]
}
