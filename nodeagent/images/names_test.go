package images

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/skiff-dev/skiff/test/poll"
)

func TestParseName(t *testing.T) {
	for _, tc := range []struct{ in, want, repo, err string }{
		{in: "nginx", want: "docker.io/library/nginx:latest", repo: "docker.io/library/nginx"},
		{in: "nginx:1.27", want: "docker.io/library/nginx:1.27"},
		{in: "docker.io/library/nginx:1.27", want: "docker.io/library/nginx:1.27"},
		{in: "docker.io/nginx:1.27", want: "docker.io/library/nginx:1.27"},
		{in: "index.docker.io/library/nginx:1.27", want: "docker.io/library/nginx:1.27"},
		{in: "bitnami/redis:7", want: "docker.io/bitnami/redis:7", repo: "docker.io/bitnami/redis"},
		{in: "registry.k8s.io/pause:3.10", want: "registry.k8s.io/pause:3.10", repo: "registry.k8s.io/pause"},
		{in: "quay.io/prometheus/node-exporter", want: "quay.io/prometheus/node-exporter:latest"},
		{in: "localhost/app:v1", want: "localhost/app:v1"},
		{in: "127.0.0.1:5000/skiff/busybox:latest", want: "127.0.0.1:5000/skiff/busybox:latest", repo: "127.0.0.1:5000/skiff/busybox"},
		{in: "registry:5000/app", want: "registry:5000/app:latest"},
		{in: "demo2:1.0", want: "docker.io/library/demo2:1.0"},
		{in: "nginx@sha256:" + strings.Repeat("a", 64), want: "docker.io/library/nginx@sha256:" + strings.Repeat("a", 64)},
		{in: "nginx:1.27@sha256:" + strings.Repeat("b", 64), want: "docker.io/library/nginx:1.27@sha256:" + strings.Repeat("b", 64)},
		{in: "", err: "empty image name"},
		{in: "Nginx:1", err: `invalid image name "Nginx:1"`},
		{in: "nginx:bad tag", err: "invalid image name"},
		{in: "nginx@sha256:short", err: "invalid image name"},
	} {
		got, err := ParseName(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseName(%q) = %v, %v; want error %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || got.String() != tc.want {
			t.Errorf("ParseName(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
		if tc.repo != "" && got.Repo() != tc.repo {
			t.Errorf("ParseName(%q).Repo() = %q, want %q", tc.in, got.Repo(), tc.repo)
		}
	}
}

func TestStoredRepo(t *testing.T) {
	const self = "127.0.0.1:5000"
	for _, tc := range []struct{ path, ns, want string }{
		// containerd using the registry as a mirror: the repository and ?ns=<registry>.
		{"library/nginx", "docker.io", "docker.io/library/nginx"},
		{"nginx", "docker.io", "docker.io/library/nginx"},
		{"library/nginx", "index.docker.io", "docker.io/library/nginx"},
		{"pause", "registry.k8s.io", "registry.k8s.io/pause"},
		{"demo", "example.com", "example.com/demo"},
		{"x/y", "127.0.0.1:6000", "127.0.0.1:6000/x/y"},
		// Direct requests name the full repository...
		{"docker.io/library/nginx", "", "docker.io/library/nginx"},
		{"registry.k8s.io/pause", "", "registry.k8s.io/pause"},
		{"localhost/app", "", "localhost/app"},
		// ... or a Docker Hub one without its registry (the older ADDR/skiff/busybox names).
		{"skiff/busybox", "", "docker.io/skiff/busybox"},
		{"busybox", "", "docker.io/library/busybox"},
		// The registry itself as ns is a direct request.
		{"skiff/busybox", self, "docker.io/skiff/busybox"},
	} {
		if got := StoredRepo(tc.path, tc.ns, self); got != tc.want {
			t.Errorf("StoredRepo(%q, %q) = %q, want %q", tc.path, tc.ns, got, tc.want)
		}
	}
}

func TestListenCandidates(t *testing.T) {
	for _, tc := range []struct {
		recorded string
		want     []string
	}{
		{"", []string{DefaultAddr, "127.0.0.1:0"}},
		{"127.0.0.1:5000\n", []string{DefaultAddr, "127.0.0.1:0"}},
		{"127.0.0.1:40123\n", []string{"127.0.0.1:40123", DefaultAddr, "127.0.0.1:0"}},
		{"127.0.0.1:0", []string{DefaultAddr, "127.0.0.1:0"}},
		{"10.0.0.5:5000", []string{DefaultAddr, "127.0.0.1:0"}}, // not loopback: not ours
		{"garbage", []string{DefaultAddr, "127.0.0.1:0"}},
	} {
		if got := ListenCandidates(tc.recorded); !slices.Equal(got, tc.want) {
			t.Errorf("ListenCandidates(%q) = %v, want %v", tc.recorded, got, tc.want)
		}
	}
}

// TestRegistryNamespaces: images pushed under their names are served to containerd's mirror
// requests (?ns=) and to direct ones, and not to another registry's name.
func TestRegistryNamespaces(t *testing.T) {
	ctx := context.Background()
	r, _ := startRegistry(t, t.TempDir())
	img := tinyImage(t, "one")
	for _, n := range []string{"nginx:1.27", "registry.k8s.io/x:y", "example.com/demo:1.0"} {
		if _, err := r.Push(ctx, img, n); err != nil {
			t.Fatal(err)
		}
	}
	digest, _ := img.Digest()
	for _, tc := range []struct {
		path string
		want int
	}{
		{"/v2/library/nginx/manifests/1.27?ns=docker.io", 200},
		{"/v2/docker.io/library/nginx/manifests/1.27", 200},
		{"/v2/library/nginx/manifests/1.27", 200}, // no ns: Docker Hub's
		{"/v2/library/nginx/manifests/" + digest.String() + "?ns=docker.io", 200},
		{"/v2/library/nginx/manifests/1.27?ns=quay.io", 404},
		{"/v2/x/manifests/y?ns=registry.k8s.io", 200},
		{"/v2/x/manifests/y?ns=docker.io", 404},
		{"/v2/demo/manifests/1.0?ns=example.com", 200},
		{"/v2/demo/manifests/1.0?ns=example.org", 404},
		{"/v2/library/nginx/tags/list?ns=docker.io", 200},
	} {
		req, _ := http.NewRequest(http.MethodGet, "http://"+r.Addr()+tc.path, nil)
		req.Header.Set("Accept", "application/vnd.oci.image.manifest.v1+json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("GET %s: %d, want %d", tc.path, resp.StatusCode, tc.want)
		}
	}
	// A layer through the mirror path.
	m, _ := img.Manifest()
	resp, err := http.Get("http://" + r.Addr() + "/v2/demo/blobs/" + m.Layers[0].Digest.String() + "?ns=example.com")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("blob through ns: %d", resp.StatusCode)
	}
}

func tinyImage(t *testing.T, content string) v1.Image {
	t.Helper()
	layer, err := LayerFromFiles([]File{{Path: "hello", Mode: 0o755, Contents: []byte(content)}})
	if err != nil {
		t.Fatal(err)
	}
	img, err := NewImage(ImageConfig{Entrypoint: []string{"/hello"}}, layer)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// tarDir writes the tree under dir as a tar archive at path.
func tarDir(t *testing.T, dir, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	must(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		info, _ := d.Info()
		h, _ := tar.FileInfoHeader(info, "")
		h.Name = filepath.ToSlash(rel)
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		_, err = tw.Write(b)
		return err
	}))
	must(t, tw.Close())
}

func TestImportArchives(t *testing.T) {
	ctx := context.Background()
	r, _ := startRegistry(t, t.TempDir())
	tmp := t.TempDir()
	img1, img2 := tinyImage(t, "one"), tinyImage(t, "two")
	tag := func(s string) name.Reference {
		tg, err := name.NewTag(s)
		if err != nil {
			t.Fatal(err)
		}
		return tg
	}

	// docker save of two images, the first with two tags.
	saved := filepath.Join(tmp, "saved.tar")
	must(t, tarball.MultiRefWriteToFile(saved, map[name.Reference]v1.Image{
		tag("example.com/demo:1.0"): img1, tag("demo2:1.0"): img1, tag("quay.io/team/two:2"): img2}))
	names, err := r.ImportArchive(ctx, saved, "")
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(names)
	if want := []string{"docker.io/library/demo2:1.0", "example.com/demo:1.0", "quay.io/team/two:2"}; !slices.Equal(names, want) {
		t.Errorf("imported %v, want %v", names, want)
	}
	for _, n := range []string{"demo2:1.0", "docker.io/library/demo2:1.0", "example.com/demo:1.0", "quay.io/team/two:2"} {
		if !r.Has(ctx, n) {
			t.Errorf("%s not in the registry", n)
		}
	}
	// The config and layers are kept (a docker save tarball has a Docker manifest).
	got, err := r.Image(ctx, "quay.io/team/two:2")
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := got.ConfigName(); c != must1(t, img2.ConfigName) {
		t.Errorf("config %s, want img2's", c)
	}
	// Renaming is for archives of one image.
	if _, err := r.ImportArchive(ctx, saved, "mine:1"); err == nil || !strings.Contains(err.Error(), "holds 2 images") {
		t.Errorf("rename of a 2-image archive: %v", err)
	}
	one := filepath.Join(tmp, "one.tar.gz")
	oneTar := filepath.Join(tmp, "one.tar")
	must(t, tarball.WriteToFile(oneTar, tag("example.com/orig:1"), img1))
	gz, _ := os.Create(one)
	zw := gzip.NewWriter(gz)
	src, _ := os.Open(oneTar)
	_, _ = io.Copy(zw, src)
	src.Close()
	must(t, zw.Close())
	must(t, gz.Close())
	if names, err := r.ImportArchive(ctx, one, "renamed/app:dev"); err != nil || !slices.Equal(names, []string{"docker.io/renamed/app:dev"}) {
		t.Errorf("gzipped import with a rename: %v, %v", names, err)
	}
	if r.Has(ctx, "example.com/orig:1") {
		t.Error("a renamed import also kept its recorded name")
	}

	// An OCI layout: names in annotations, the same manifest under two names, a tag-only
	// ref.name with a containerd name beside it.
	lp, err := layout.Write(filepath.Join(tmp, "oci"), empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	must(t, lp.AppendImage(img1, layout.WithAnnotations(map[string]string{AnnotationContainerdName: "ghcr.io/o/a:1", AnnotationRefName: "1"})))
	must(t, lp.AppendImage(img1, layout.WithAnnotations(map[string]string{AnnotationRefName: "ghcr.io/o/a:latest"})))
	must(t, lp.AppendImage(img2, layout.WithAnnotations(map[string]string{AnnotationRefName: "nginx:1.27"})))
	ociTar := filepath.Join(tmp, "oci.tar")
	tarDir(t, filepath.Join(tmp, "oci"), ociTar)
	a, err := OpenArchive(ociTar)
	if err != nil {
		t.Fatal(err)
	}
	if a.Format != "OCI layout" || len(a.Images) != 2 || !slices.Equal(a.Images[0].Names, []string{"ghcr.io/o/a:1", "ghcr.io/o/a:latest"}) ||
		!slices.Equal(a.Images[1].Names, []string{"docker.io/library/nginx:1.27"}) {
		t.Errorf("OCI archive: %s, %+v", a.Format, a.Images)
	}
	a.Close()
	if names, err := r.ImportArchive(ctx, ociTar, ""); err != nil || len(names) != 3 {
		t.Errorf("OCI import: %v, %v", names, err)
	}
	if !r.Has(ctx, "nginx:1.27") || !r.Has(ctx, "ghcr.io/o/a:latest") {
		t.Error("OCI images missing")
	}

	// An OCI layout whose only name is a tag needs a NAME.
	lp2, err := layout.Write(filepath.Join(tmp, "oci2"), empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	must(t, lp2.AppendImage(img2, layout.WithAnnotations(map[string]string{AnnotationRefName: "3"})))
	oci2 := filepath.Join(tmp, "oci2.tar")
	tarDir(t, filepath.Join(tmp, "oci2"), oci2)
	if _, err := r.ImportArchive(ctx, oci2, ""); err == nil || !strings.Contains(err.Error(), "records no name") || !strings.Contains(err.Error(), "NAME:TAG") {
		t.Errorf("unnamed OCI import: %v", err)
	}
	if names, err := r.ImportArchive(ctx, oci2, "three:3"); err != nil || !slices.Equal(names, []string{"docker.io/library/three:3"}) {
		t.Errorf("named OCI import: %v, %v", names, err)
	}

	// Bad archives get clear errors.
	notTar := filepath.Join(tmp, "not.tar")
	must(t, os.WriteFile(notTar, []byte("this is not an archive at all, just some text that is long enough"), 0o644))
	emptyDir := filepath.Join(tmp, "other")
	must(t, os.MkdirAll(emptyDir, 0o755))
	must(t, os.WriteFile(filepath.Join(emptyDir, "readme.txt"), []byte("hi"), 0o644))
	other := filepath.Join(tmp, "other.tar")
	tarDir(t, emptyDir, other)
	badManifest := filepath.Join(tmp, "badmanifest")
	must(t, os.MkdirAll(badManifest, 0o755))
	must(t, os.WriteFile(filepath.Join(badManifest, "manifest.json"), []byte("{not json"), 0o644))
	badTar := filepath.Join(tmp, "bad.tar")
	tarDir(t, badManifest, badTar)
	for _, tc := range []struct{ path, rename, want string }{
		{filepath.Join(tmp, "missing.tar"), "", "no such file"},
		{notTar, "", "is not a tar archive"},
		{other, "", "neither a `docker save` archive"},
		{badTar, "", "manifest.json"},
		{oneTar, "Bad:Name", "invalid image name"},
	} {
		if _, err := r.ImportArchive(ctx, tc.path, tc.rename); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("import %s %s: %v, want an error with %q", filepath.Base(tc.path), tc.rename, err, tc.want)
		}
	}

	// ls and rm.
	list, err := List(ctx, r.Addr())
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, i := range list {
		listed = append(listed, i.Name)
		if i.Size <= 0 || !strings.HasPrefix(i.Digest, "sha256:") {
			t.Errorf("listed %+v", i)
		}
	}
	for _, want := range []string{"docker.io/library/demo2:1.0", "example.com/demo:1.0", "ghcr.io/o/a:1", "docker.io/library/three:3"} {
		if !slices.Contains(listed, want) {
			t.Errorf("ls lacks %s: %v", want, listed)
		}
	}
	if n, err := Remove(ctx, r.Addr(), "demo2:1.0"); err != nil || n != "docker.io/library/demo2:1.0" {
		t.Errorf("rm: %q, %v", n, err)
	}
	if r.Has(ctx, "demo2:1.0") || !r.Has(ctx, "example.com/demo:1.0") {
		t.Error("rm removed the wrong image")
	}
	if _, err := Remove(ctx, r.Addr(), "demo2:1.0"); err == nil || !strings.Contains(err.Error(), "no image docker.io/library/demo2:1.0") {
		t.Errorf("rm of a missing image: %v", err)
	}
}

func must1[T any](t *testing.T, f func() (T, error)) T {
	t.Helper()
	v, err := f()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestHumanSize(t *testing.T) {
	for in, want := range map[int64]string{0: "0B", 999: "999B", 1000: "1kB", 4_400_000: "4.4MB", 123_456_789: "123MB", 2_000_000_000: "2GB"} {
		if got := HumanSize(in); got != want {
			t.Errorf("HumanSize(%d) = %q, want %q", in, got, want)
		}
	}
}

// TestRegistryKeepsItsAddress: a restart listens where the registry was (registry.addr), so
// references to it stay valid.
func TestRegistryKeepsItsAddress(t *testing.T) {
	dir := t.TempDir()
	r, stop := startRegistry(t, dir)
	first := r.Addr()
	stop()
	// The first server lets go of the port once its shutdown ran.
	poll.Until(t, 10*time.Second, "the restarted registry back on "+first, func() error {
		ctx, cancel := context.WithCancel(context.Background())
		r2 := NewRegistry(dir, ListenCandidates(first)...)
		if err := r2.Start(ctx); err != nil {
			cancel()
			return err
		}
		if r2.Addr() != first {
			cancel()
			return fmt.Errorf("listening on %s", r2.Addr())
		}
		t.Cleanup(cancel)
		return nil
	})
}
