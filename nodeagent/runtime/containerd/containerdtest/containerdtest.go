// Package containerdtest runs a real, private containerd and the loopback registry with the
// builtin images inside a test, and removes everything it made when the test ends.
package containerdtest

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/skiff-dev/skiff/nodeagent/images"
	"github.com/skiff-dev/skiff/nodeagent/runtime/containerd"
)

// Require fails the test unless containerd can run here: root and the runtime packages.
func Require(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatalf("this test runs containerd and needs root (uid %d): %s", os.Geteuid(), containerd.InstallHint)
	}
	if _, _, err := containerd.LookupBinaries(containerd.Config{}); err != nil {
		t.Fatal(err)
	}
}

// BuildTimeout bounds building the builtin images: on a fresh machine (cold Go build cache, the
// test packages building in parallel) it takes minutes, which must not eat a test's own deadline.
const BuildTimeout = 10 * time.Minute

// Registry starts a loopback registry under dir with the builtin images built from the source
// tree at srcRoot (within BuildTimeout); it stops when the test ends. It returns the images'
// references. Tests start their own timed context after it.
func Registry(t testing.TB, dir, srcRoot string) (*images.Registry, map[string]string) {
	t.Helper()
	regCtx, stop := context.WithCancel(context.Background())
	t.Cleanup(stop)
	reg := images.NewRegistry(filepath.Join(dir, "registry"), "")
	if err := reg.Start(regCtx); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), BuildTimeout)
	defer cancel()
	refs, err := images.EnsureBuiltin(ctx, reg, srcRoot)
	if err != nil {
		t.Fatal(err)
	}
	return reg, refs
}

// Start starts containerd with cfg. When the test ends every pod sandbox is removed (containers
// outlive containerd), containerd stops and must exit cleanly, and its bridge is deleted.
func Start(t testing.TB, cfg containerd.Config) *containerd.Containerd {
	t.Helper()
	ctx, stop := context.WithCancel(context.Background())
	c := containerd.New(cfg)
	if err := c.Start(ctx); err != nil {
		stop()
		<-c.Done()
		_ = cfg.DeleteBridge()
		t.Fatalf("starting containerd: %v\n%s", err, Tail(cfg.LogPath()))
	}
	t.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := containerd.RemoveAllPodSandboxes(cctx, c.RuntimeService()); err != nil {
			t.Errorf("cleanup: %v", err)
		}
		stop()
		select {
		case <-c.Done():
		case <-time.After(20 * time.Second):
			t.Errorf("containerd did not stop")
		}
		if err := c.Err(); err != nil {
			t.Errorf("containerd stopped with: %v\n%s", err, Tail(cfg.LogPath()))
		}
		if err := cfg.DeleteBridge(); err != nil {
			t.Errorf("cleanup: %v", err)
		}
		if _, err := net.InterfaceByName(cfg.Bridge()); err == nil {
			t.Errorf("bridge %s left behind", cfg.Bridge())
		}
	})
	return c
}

// Tail is the end of a log file, for failure messages.
func Tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return "--- " + path + " ---\n" + string(b)
}
