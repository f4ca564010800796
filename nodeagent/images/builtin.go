package images

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Names of Skiff's own images, as upstream names them where there is an upstream: pods name them
// so (or by their short names: busybox, skiff/skiff-http) and every node's containerd finds them
// in Skiff's registry.
const (
	PauseRef    = "registry.k8s.io/pause:3.10"
	BusyboxRef  = "docker.io/library/busybox:latest"
	HTTPRef     = "docker.io/skiff/skiff-http:latest"
	BusyboxPath = "/bin/busybox" // Debian's busybox-static
)

// builtinAliases are further names of the builtin images: those of earlier Skiff versions
// (ADDR/skiff/busybox:latest is docker.io/skiff/busybox:latest in the registry).
var builtinAliases = map[string][]string{
	PauseRef:   {"docker.io/skiff/pause:3.10"},
	BusyboxRef: {"docker.io/skiff/busybox:latest"},
}

// netApplets are the busybox applets replaced by test/images/nettool in the busybox image:
// Debian's busybox-static wget crashes on every URL, its nc has no -z and its nslookup ignores
// resolv.conf's search domains. (busybox sh still runs its own applets first: scripts name
// /bin/wget.)
var netApplets = []string{"wget", "nc", "nslookup", "curl"}

// busyboxApplets are linked when `busybox --list` cannot be run.
var busyboxApplets = []string{"sh", "ash", "echo", "sleep", "cat", "ls", "wget", "nc", "env", "true",
	"false", "test", "[", "ps", "kill", "mkdir", "rm", "cp", "mv", "touch", "grep", "sed", "awk",
	"head", "tail", "wc", "date", "hostname", "id", "ip", "ping", "nslookup", "printf", "seq", "sort",
	"uname", "vi", "watch", "whoami", "xargs", "yes", "httpd", "dd", "df", "du", "find", "mount",
	"ln", "chmod", "chown", "tee", "tr", "cut", "timeout", "which", "stat", "readlink", "sync"}

// GoBinary builds the main package in pkgDir (a directory of this module, such as
// test/images/pause) as a static linux/amd64 binary and returns it. It needs the Go toolchain.
func GoBinary(ctx context.Context, pkgDir string) ([]byte, error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return nil, fmt.Errorf("building %s: the go toolchain is not on the PATH", pkgDir)
	}
	out, err := os.MkdirTemp("", "skiff-image-build-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(out)
	bin := filepath.Join(out, "bin")
	cmd := exec.CommandContext(ctx, goBin, "build", "-trimpath", "-ldflags=-s -w", "-o", bin, ".")
	cmd.Dir = pkgDir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if b, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build in %s: %v: %s", pkgDir, err, strings.TrimSpace(string(b)))
	}
	return os.ReadFile(bin)
}

// PauseImage is the sandbox image: the static binary of test/images/pause as /pause.
func PauseImage(pauseBinary []byte) (v1.Image, error) {
	layer, err := LayerFromFiles([]File{{Path: "pause", Mode: 0o755, Contents: pauseBinary}})
	if err != nil {
		return nil, err
	}
	return NewImage(ImageConfig{Entrypoint: []string{"/pause"}}, layer)
}

// HTTPImage is skiff-http: the static binary of test/images/httpserver as /skiff-http.
func HTTPImage(httpBinary []byte) (v1.Image, error) {
	layer, err := LayerFromFiles([]File{
		{Path: "skiff-http", Mode: 0o755, Contents: httpBinary},
		{Path: "tmp", Mode: fs.ModeDir | 0o777},
	})
	if err != nil {
		return nil, err
	}
	return NewImage(ImageConfig{Entrypoint: []string{"/skiff-http"}, Env: []string{"PATH=/", "PORT=8080"}}, layer)
}

// BusyboxImage is a busybox image from a static busybox binary (Debian's busybox-static at
// BusyboxPath), with a symlink in /bin for each applet, /etc/passwd and /etc/group, and sh as
// its command. nettool, when given, is the static binary of test/images/nettool: it goes in as
// /bin/nettool, and /bin/wget, /bin/nc and /bin/nslookup are links to it.
func BusyboxImage(ctx context.Context, busyboxPath string, nettool []byte) (v1.Image, error) {
	bb, err := os.ReadFile(busyboxPath)
	if err != nil {
		return nil, fmt.Errorf("busybox image: %w (install busybox-static: run hack/install-runtime.sh)", err)
	}
	applets := busyboxApplets
	if out, err := exec.CommandContext(ctx, busyboxPath, "--list").Output(); err == nil && len(out) > 0 {
		applets = strings.Fields(string(out))
	}
	files := []File{
		{Path: "bin/busybox", Mode: 0o755, Contents: bb},
		{Path: "etc/passwd", Mode: 0o644, Contents: []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n")},
		{Path: "etc/group", Mode: 0o644, Contents: []byte("root:x:0:\nnogroup:x:65534:\n")},
		{Path: "tmp", Mode: fs.ModeDir | 0o777},
		{Path: "root", Mode: fs.ModeDir | 0o700},
		{Path: "home", Mode: fs.ModeDir | 0o755},
		{Path: "var/log", Mode: fs.ModeDir | 0o755},
	}
	if nettool != nil {
		files = append(files, File{Path: "bin/nettool", Mode: 0o755, Contents: nettool})
		for _, a := range netApplets {
			files = append(files, File{Path: "bin/" + a, Mode: fs.ModeSymlink | 0o777, Link: "nettool"})
		}
	}
	for _, a := range applets {
		if a == "busybox" || strings.Contains(a, "/") || (nettool != nil && slices.Contains(netApplets, a)) {
			continue
		}
		files = append(files, File{Path: "bin/" + a, Mode: fs.ModeSymlink | 0o777, Link: "busybox"})
	}
	layer, err := LayerFromFiles(files)
	if err != nil {
		return nil, err
	}
	return NewImage(ImageConfig{Cmd: []string{"sh"}}, layer)
}

// EnsureBuiltin pushes Skiff's own images into r unless they are there already: the pause image
// (needed by every pod), busybox and skiff-http, each under its name and its aliases. srcRoot is
// this module's source tree (for test/images/*; the Go toolchain is needed to build them the
// first time). It returns the names pods use, by constant (PauseRef, BusyboxRef, HTTPRef): the
// names themselves, which every node's containerd finds through its registry mirror.
func EnsureBuiltin(ctx context.Context, r *Registry, srcRoot string) (map[string]string, error) {
	refs := map[string]string{}
	build := map[string]func() (v1.Image, error){
		PauseRef: func() (v1.Image, error) {
			b, err := GoBinary(ctx, filepath.Join(srcRoot, "test", "images", "pause"))
			if err != nil {
				return nil, err
			}
			return PauseImage(b)
		},
		HTTPRef: func() (v1.Image, error) {
			b, err := GoBinary(ctx, filepath.Join(srcRoot, "test", "images", "httpserver"))
			if err != nil {
				return nil, err
			}
			return HTTPImage(b)
		},
		BusyboxRef: func() (v1.Image, error) {
			b, err := GoBinary(ctx, filepath.Join(srcRoot, "test", "images", "nettool"))
			if err != nil {
				return nil, err
			}
			return BusyboxImage(ctx, BusyboxPath, b)
		},
	}
	for _, ref := range []string{PauseRef, BusyboxRef, HTTPRef} {
		var img v1.Image
		for _, n := range append([]string{ref}, builtinAliases[ref]...) {
			if r.Has(ctx, n) {
				continue
			}
			if img == nil {
				var err error
				if r.Has(ctx, ref) {
					img, err = r.Image(ctx, ref)
				} else {
					img, err = build[ref]()
				}
				if err != nil {
					return nil, fmt.Errorf("image %s: %w", ref, err)
				}
			}
			if _, err := r.Push(ctx, img, n); err != nil {
				return nil, err
			}
		}
		refs[ref] = ref
	}
	return refs, nil
}

// IsBuiltin reports whether name (as a runtime lists it, registry and tag in full) is one of
// Skiff's own images or their aliases, which a node never garbage-collects.
func IsBuiltin(name string) bool {
	for ref, aliases := range builtinAliases {
		if name == ref || slices.Contains(aliases, name) {
			return true
		}
	}
	return name == HTTPRef
}
