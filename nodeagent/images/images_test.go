package images

import (
	"archive/tar"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func startRegistry(t *testing.T, dir string) (*Registry, context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	r := NewRegistry(dir, "")
	if err := r.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(r.Addr(), "127.0.0.1:") {
		t.Fatalf("registry on %q, want loopback", r.Addr())
	}
	return r, cancel
}

// layerFiles lists a single-layer image's entries as "path mode [-> link]" and regular files'
// contents by path.
func layerFiles(t *testing.T, img v1.Image) ([]string, map[string]string) {
	t.Helper()
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("layers %d, %v", len(layers), err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	var entries []string
	contents := map[string]string{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		e := h.Name + " " + h.FileInfo().Mode().String()
		if h.Typeflag == tar.TypeSymlink {
			e += " -> " + h.Linkname
		}
		entries = append(entries, e)
		if h.Typeflag == tar.TypeReg {
			b, _ := io.ReadAll(tr)
			contents[h.Name] = string(b)
		}
	}
	sort.Strings(entries)
	return entries, contents
}

func TestBuildFromDirPushAndPersist(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(src, "app", "data"), 0o755))
	must(t, os.WriteFile(filepath.Join(src, "app", "run"), []byte("#!/bin/sh\necho hi\n"), 0o755))
	must(t, os.WriteFile(filepath.Join(src, "app", "data", "x.txt"), []byte("x"), 0o644))
	must(t, os.Symlink("run", filepath.Join(src, "app", "start")))

	dir := t.TempDir()
	r, stop := startRegistry(t, dir)
	full, err := r.BuildFromDir(ctx, src, "demo/app:v1", []string{"/app/run"})
	if err != nil {
		t.Fatal(err)
	}
	if full != "docker.io/demo/app:v1" {
		t.Errorf("reference %q", full)
	}
	img, err := r.Image(ctx, "demo/app:v1")
	if err != nil {
		t.Fatal(err)
	}
	digest, _ := img.Digest()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.OS != "linux" || cf.Architecture != "amd64" || strings.Join(cf.Config.Entrypoint, " ") != "/app/run" {
		t.Errorf("config %s/%s entrypoint %v", cf.OS, cf.Architecture, cf.Config.Entrypoint)
	}
	entries, contents := layerFiles(t, img)
	want := []string{"app/ drwxr-xr-x", "app/data/ drwxr-xr-x", "app/data/x.txt -rw-r--r--", "app/run -rwxr-xr-x", "app/start Lrwxrwxrwx -> run"}
	if strings.Join(entries, "\n") != strings.Join(want, "\n") {
		t.Errorf("layer entries:\n%s\nwant:\n%s", strings.Join(entries, "\n"), strings.Join(want, "\n"))
	}
	if contents["app/run"] != "#!/bin/sh\necho hi\n" {
		t.Errorf("app/run %q", contents["app/run"])
	}

	// The same inputs give the same digest.
	again, err := ImageFromDir(src, []string{"/app/run"})
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := again.Digest(); d != digest {
		t.Errorf("rebuild digest %s, want %s", d, digest)
	}

	// A restart on the same dir still serves the image (under its tag and its digest).
	stop()
	r2, _ := startRegistry(t, dir)
	img2, err := r2.Image(ctx, "demo/app:v1")
	if err != nil {
		t.Fatalf("after restart: %v", err)
	}
	if d, _ := img2.Digest(); d != digest {
		t.Errorf("after restart digest %s, want %s", d, digest)
	}
	if _, err := r2.Image(ctx, "demo/app@"+digest.String()); err != nil {
		t.Errorf("by digest after restart: %v", err)
	}
	if r2.Has(ctx, "demo/app:v2") {
		t.Error("Has reports a tag never pushed")
	}
}

func TestPushManifestListPersists(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	r, stop := startRegistry(t, dir)
	img, err := BusyboxImage(ctx, BusyboxPath, []byte("nettool"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Push(ctx, img, BusyboxRef); err != nil {
		t.Fatal(err)
	}
	entries, _ := layerFiles(t, img)
	for _, want := range []string{"bin/busybox -rwxr-xr-x", "bin/sh Lrwxrwxrwx -> busybox", "bin/nettool -rwxr-xr-x",
		"bin/wget Lrwxrwxrwx -> nettool", "bin/nc Lrwxrwxrwx -> nettool", "bin/nslookup Lrwxrwxrwx -> nettool", "tmp/ drwxrwxrwx"} {
		if !contains(entries, want) {
			t.Errorf("busybox image lacks %q", want)
		}
	}
	// An index over the image, pushed by tag: replay must put the image before the index.
	idx := mutate.AppendManifests(empty.Index, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}})
	ref, err := r.reference("skiff/busybox-index:latest")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(ref, idx, remote.WithContext(ctx)); err != nil {
		t.Fatal(err)
	}
	stop()
	r2, _ := startRegistry(t, dir)
	if !r2.Has(ctx, BusyboxRef) || !r2.Has(ctx, "busybox") || !r2.Has(ctx, "skiff/busybox-index:latest") {
		t.Error("images lost across restart")
	}
}

func contains(list []string, s string) bool {
	for _, l := range list {
		if l == s {
			return true
		}
	}
	return false
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
