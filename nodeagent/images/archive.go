package images

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Annotations of an OCI image layout's index.json that name an image: containerd and BuildKit
// write the full name in the first, the OCI spec's ref.name is a full name or just a tag.
const (
	AnnotationContainerdName = "io.containerd.image.name"
	AnnotationRefName        = "org.opencontainers.image.ref.name"
)

// ArchiveImage is one image of an archive and the names the archive records for it.
type ArchiveImage struct {
	Names []string      // normalized (docker.io/library/nginx:1.27); none if the archive has none
	Image v1.Image      // a single-platform image, or
	Index v1.ImageIndex // a multi-platform one
}

// Archive is an image archive opened by OpenArchive; Close removes what it unpacked.
type Archive struct {
	Format string // "docker save" or "OCI layout"
	Images []ArchiveImage
	tmp    []string
}

// Close removes the temporary files of the archive.
func (a *Archive) Close() error {
	var errs []error
	for _, p := range a.tmp {
		errs = append(errs, os.RemoveAll(p))
	}
	return errors.Join(errs...)
}

// OpenArchive reads the images of a `docker save` tarball (manifest.json, with each image's
// RepoTags) or of an OCI image layout tarball (index.json, names in the
// io.containerd.image.name or org.opencontainers.image.ref.name annotations). Either may be
// gzip-compressed.
func OpenArchive(path string) (*Archive, error) {
	a := &Archive{}
	ok := false
	defer func() {
		if !ok {
			a.Close()
		}
	}()
	src, err := decompressed(path, a)
	if err != nil {
		return nil, err
	}
	entries, err := tarEntries(src)
	if err != nil {
		return nil, fmt.Errorf("%s is not a tar archive: %w", path, err)
	}
	switch {
	case entries["manifest.json"]:
		a.Format = "docker save"
		a.Images, err = dockerArchiveImages(src)
	case entries["index.json"]:
		a.Format = "OCI layout"
		a.Images, err = ociArchiveImages(src, a)
	default:
		return nil, fmt.Errorf("%s is neither a `docker save` archive (no manifest.json) nor an OCI image layout (no index.json)", path)
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s (%s): %w", path, a.Format, err)
	}
	if len(a.Images) == 0 {
		return nil, fmt.Errorf("%s (%s) holds no image", path, a.Format)
	}
	ok = true
	return a, nil
}

// decompressed returns path, or a temporary uncompressed copy of it when it is gzipped.
func decompressed(path string, a *Archive) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	br := bufio.NewReader(f)
	magic, err := br.Peek(2)
	if err != nil || magic[0] != 0x1f || magic[1] != 0x8b {
		return path, nil
	}
	zr, err := gzip.NewReader(br)
	if err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	tmp, err := os.CreateTemp("", "skiff-image-*.tar")
	if err != nil {
		return "", err
	}
	a.tmp = append(a.tmp, tmp.Name())
	if _, err := io.Copy(tmp, zr); err != nil {
		tmp.Close()
		return "", fmt.Errorf("decompressing %s: %w", path, err)
	}
	return tmp.Name(), tmp.Close()
}

// tarEntries lists the regular files of a tar archive.
func tarEntries(path string) (map[string]bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	out := map[string]bool{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if h.Typeflag == tar.TypeReg {
			out[strings.TrimPrefix(filepath.Clean(h.Name), "/")] = true
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no files")
	}
	return out, nil
}

func dockerArchiveImages(path string) ([]ArchiveImage, error) {
	opener := func() (io.ReadCloser, error) { return os.Open(path) }
	m, err := tarball.LoadManifest(opener)
	if err != nil {
		return nil, fmt.Errorf("manifest.json: %w", err)
	}
	var out []ArchiveImage
	for i, d := range m {
		ai := ArchiveImage{}
		for _, rt := range d.RepoTags {
			n, err := ParseName(rt)
			if err != nil {
				return nil, fmt.Errorf("manifest.json: image %d: %w", i+1, err)
			}
			ai.Names = append(ai.Names, n.String())
		}
		var tag *name.Tag
		switch {
		case len(d.RepoTags) > 0:
			t, err := name.NewTag(d.RepoTags[0])
			if err != nil {
				return nil, fmt.Errorf("manifest.json: image %d: %w", i+1, err)
			}
			tag = &t
		case len(m) > 1:
			return nil, fmt.Errorf("manifest.json: image %d of %d has no RepoTags: import an archive of that image alone, with a name", i+1, len(m))
		}
		img, err := tarball.Image(opener, tag)
		if err != nil {
			return nil, fmt.Errorf("image %d: %w", i+1, err)
		}
		ai.Image = img
		out = append(out, ai)
	}
	return out, nil
}

// extract unpacks the regular files and directories of a tar archive under dir; entries that
// would land outside it are refused.
func extract(path, dir string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		rel := filepath.Clean(strings.TrimPrefix(h.Name, "/"))
		if rel == "." {
			continue
		}
		if rel == ".." || strings.HasPrefix(rel, "../") {
			return fmt.Errorf("entry %q is outside the archive", h.Name)
		}
		p := filepath.Join(dir, rel)
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(p, 0o700); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
				return err
			}
			out, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
			if err != nil {
				return err
			}
			_, err = io.Copy(out, tr)
			if cerr := out.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
		}
	}
}

// OCIRefName returns the image name an index.json entry's annotations record, normalized, or ""
// when they record none (or only a tag: org.opencontainers.image.ref.name may be just "1.27").
func OCIRefName(annotations map[string]string) (string, error) {
	ref := annotations[AnnotationContainerdName]
	if ref == "" {
		ref = annotations[AnnotationRefName]
		if !strings.ContainsAny(ref, "/:@") {
			return "", nil
		}
	}
	if ref == "" {
		return "", nil
	}
	n, err := ParseName(ref)
	if err != nil {
		return "", err
	}
	return n.String(), nil
}

func ociArchiveImages(path string, a *Archive) ([]ArchiveImage, error) {
	dir, err := os.MkdirTemp("", "skiff-image-oci-")
	if err != nil {
		return nil, err
	}
	a.tmp = append(a.tmp, dir)
	if err := extract(path, dir); err != nil {
		return nil, err
	}
	lp := layout.Path(dir)
	idx, err := lp.ImageIndex()
	if err != nil {
		return nil, fmt.Errorf("index.json: %w", err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("index.json: %w", err)
	}
	// The same manifest may be listed once per name.
	byDigest := map[v1.Hash]*ArchiveImage{}
	var order []v1.Hash
	for i, d := range im.Manifests {
		n, err := OCIRefName(d.Annotations)
		if err != nil {
			return nil, fmt.Errorf("index.json: manifest %d: %w", i+1, err)
		}
		ai := byDigest[d.Digest]
		if ai == nil {
			ai = &ArchiveImage{}
			switch {
			case d.MediaType.IsIndex():
				child, err := idx.ImageIndex(d.Digest)
				if err != nil {
					return nil, fmt.Errorf("index.json: manifest %d: %w", i+1, err)
				}
				ai.Index, ai.Image, err = completeIndex(lp, child)
				if err != nil {
					return nil, fmt.Errorf("index.json: manifest %d: %w", i+1, err)
				}
			case d.MediaType.IsImage():
				img, err := idx.Image(d.Digest)
				if err != nil {
					return nil, fmt.Errorf("index.json: manifest %d: %w", i+1, err)
				}
				ai.Image = img
			default:
				continue // attestations and other artifacts
			}
			byDigest[d.Digest] = ai
			order = append(order, d.Digest)
		}
		if n != "" && !slices.Contains(ai.Names, n) {
			ai.Names = append(ai.Names, n)
		}
	}
	out := make([]ArchiveImage, 0, len(order))
	for _, h := range order {
		sort.Strings(byDigest[h].Names)
		out = append(out, *byDigest[h])
	}
	return out, nil
}

// completeIndex returns idx when the layout holds every image it lists; else (an export of one
// platform of a multi-platform image) the image of this machine's platform that it holds.
func completeIndex(lp layout.Path, idx v1.ImageIndex) (v1.ImageIndex, v1.Image, error) {
	m, err := idx.IndexManifest()
	if err != nil {
		return nil, nil, err
	}
	var present []v1.Descriptor
	for _, d := range m.Manifests {
		if _, err := os.Stat(filepath.Join(string(lp), "blobs", d.Digest.Algorithm, d.Digest.Hex)); err == nil {
			present = append(present, d)
		}
	}
	if len(present) == len(m.Manifests) {
		return idx, nil, nil
	}
	for _, d := range present {
		if d.MediaType.IsImage() && (d.Platform == nil || (d.Platform.OS == "linux" && d.Platform.Architecture == runtime.GOARCH)) {
			img, err := idx.Image(d.Digest)
			return nil, img, err
		}
	}
	return nil, nil, fmt.Errorf("the archive lacks the %s/%s image of this multi-platform image", "linux", runtime.GOARCH)
}

// ImportNames decides the names each image of an archive is imported under: the names it
// records, or rename (`skiff image import FILE NAME:TAG`), which is only valid for an archive of
// one image.
func ImportNames(images []ArchiveImage, rename string) ([][]string, error) {
	out := make([][]string, len(images))
	if rename != "" {
		if len(images) != 1 {
			return nil, fmt.Errorf("the archive holds %d images: a NAME:TAG can only rename an archive of one image", len(images))
		}
		n, err := ParseName(rename)
		if err != nil {
			return nil, err
		}
		out[0] = []string{n.String()}
		return out, nil
	}
	for i, ai := range images {
		if len(ai.Names) == 0 {
			if len(images) == 1 {
				return nil, errors.New("the archive records no name for its image: give one, skiff image import FILE.tar NAME:TAG")
			}
			return nil, fmt.Errorf("the archive records no name for its image %d of %d", i+1, len(images))
		}
		out[i] = ai.Names
	}
	return out, nil
}

// Import pushes the images of the archive at path into the registry at addr under their
// recorded names (or rename; see ImportNames) and returns the names.
func Import(ctx context.Context, addr, path, rename string) ([]string, error) {
	a, err := OpenArchive(path)
	if err != nil {
		return nil, err
	}
	defer a.Close()
	names, err := ImportNames(a.Images, rename)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var done []string
	for i, ai := range a.Images {
		for _, n := range names[i] {
			var full string
			if ai.Index != nil {
				full, err = PushIndex(ctx, addr, ai.Index, n)
			} else {
				full, err = Push(ctx, addr, ai.Image, n)
			}
			if err != nil {
				return done, err
			}
			done = append(done, full)
		}
	}
	return done, nil
}
