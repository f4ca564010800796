package containerd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	internalapi "k8s.io/cri-api/pkg/apis"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	remote "k8s.io/cri-client/pkg"
	"k8s.io/klog/v2"
)

// InstallHint is appended to errors about a missing runtime.
const InstallHint = "run hack/install-runtime.sh"

const (
	// readyTimeout bounds how long Start waits for containerd to answer CRI.
	readyTimeout = 30 * time.Second
	// stopTimeout bounds how long containerd gets to exit after SIGTERM before SIGKILL.
	stopTimeout = 10 * time.Second
	// criTimeout is the connection (and default per-call) timeout of the CRI clients.
	criTimeout = 2 * time.Minute
	// restartBackoffMin and restartBackoffMax bound the wait before restarting a containerd that
	// exited unexpectedly; the wait is back to the minimum after restartBackoffReset of running.
	restartBackoffMin   = time.Second
	restartBackoffMax   = 30 * time.Second
	restartBackoffReset = time.Minute
)

// Containerd is one running containerd of Skiff's.
type Containerd struct {
	cfg Config

	mu      sync.Mutex
	cmd     *exec.Cmd
	runtime internalapi.RuntimeService
	images  internalapi.ImageManagerService
	done    chan struct{} // closed when the process has exited (and ctx handling finished)
	exitErr error
	// restarts counts restarts after unexpected exits.
	restarts atomic.Int64
}

// New returns a Containerd for cfg; Start launches it.
func New(cfg Config) *Containerd {
	return &Containerd{cfg: cfg, done: make(chan struct{})}
}

// Config returns the configuration.
func (c *Containerd) Config() Config { return c.cfg }

// Endpoint is the CRI endpoint, unix://<socket>.
func (c *Containerd) Endpoint() string { return c.cfg.Endpoint() }

// RuntimeService is the CRI runtime client; valid after Start returned nil.
func (c *Containerd) RuntimeService() internalapi.RuntimeService { return c.runtime }

// ImageService is the CRI image client; valid after Start returned nil.
func (c *Containerd) ImageService() internalapi.ImageManagerService { return c.images }

// Done is closed once containerd has exited after Start.
func (c *Containerd) Done() <-chan struct{} { return c.done }

// Err is how containerd exited: nil for a clean stop on ctx end; valid after Done is closed.
func (c *Containerd) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.exitErr
}

// LookupBinaries finds containerd, its runc shim and runc, with an error naming the install
// script when one is missing.
func LookupBinaries(cfg Config) (containerdBin, runcBin string, err error) {
	containerdBin = cfg.ContainerdBin
	if containerdBin == "" {
		if containerdBin, err = exec.LookPath("containerd"); err != nil {
			return "", "", fmt.Errorf("containerd not found: %s", InstallHint)
		}
	}
	if _, err := exec.LookPath("containerd-shim-runc-v2"); err != nil {
		return "", "", fmt.Errorf("containerd-shim-runc-v2 not found: %s", InstallHint)
	}
	runcBin = cfg.RuncBin
	if runcBin == "" {
		if runcBin, err = exec.LookPath("runc"); err != nil {
			return "", "", fmt.Errorf("runc not found: %s", InstallHint)
		}
	}
	binDir := cfg.cniBinDir()
	for _, p := range []string{"bridge", "host-local", "portmap", "loopback"} {
		if _, err := os.Stat(filepath.Join(binDir, p)); err != nil {
			return "", "", fmt.Errorf("CNI plugin %s not found in %s: %s", p, binDir, InstallHint)
		}
	}
	return containerdBin, runcBin, nil
}

// Start writes the config files, launches containerd and returns once it answers CRI (Version,
// and Status with the runtime and network ready). containerd is stopped (SIGTERM, then SIGKILL
// after 10 s) when ctx ends; Done is closed after it exited. A containerd that exits on its own
// later is restarted (see supervise). Containers keep running in their shims across a restart
// of containerd, as with a kubelet.
func (c *Containerd) Start(ctx context.Context) error {
	logger := klog.FromContext(ctx).WithName("containerd")
	containerdBin, runcBin, err := LookupBinaries(c.cfg)
	if err != nil {
		return err
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("containerd must run as root (uid %d)", os.Geteuid())
	}
	if err := c.cfg.WriteFiles(runcBin); err != nil {
		return fmt.Errorf("writing containerd config: %w", err)
	}
	// Another containerd on the same data dir would block on its database lock: refuse.
	if _, err := os.Stat(c.cfg.Socket()); err == nil {
		if _, err := connect(ctx, c.cfg.Endpoint(), 500*time.Millisecond); err == nil {
			return fmt.Errorf("a containerd already answers on %s", c.cfg.Socket())
		}
	}

	exited, err := c.launch(logger, containerdBin, runcBin)
	if err != nil {
		return err
	}
	ready := make(chan struct{})
	go c.supervise(ctx, logger, exited, ready, func() (<-chan error, error) { return c.launch(logger, containerdBin, runcBin) })
	if err := c.waitReady(ctx); err != nil {
		return err
	}
	close(ready)
	return nil
}

// launch starts one containerd process; the returned channel receives how it exited.
func (c *Containerd) launch(logger klog.Logger, containerdBin, runcBin string) (<-chan error, error) {
	logFile, err := os.OpenFile(c.cfg.LogPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(containerdBin, "--config", c.cfg.ConfigPath())
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Env = append(os.Environ(), "PATH="+pathWith(filepath.Dir(containerdBin), filepath.Dir(runcBin)))
	// Its own process group, so a Ctrl-C in the terminal reaches Skiff, which stops it in order;
	// and SIGTERM if Skiff dies without stopping it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("starting containerd: %w", err)
	}
	c.mu.Lock()
	c.cmd = cmd
	c.mu.Unlock()
	logger.Info("Started containerd", "pid", cmd.Process.Pid, "config", c.cfg.ConfigPath(), "log", c.cfg.LogPath())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); logFile.Close() }()
	return exited, nil
}

// supervise stops containerd when ctx ends and records how it exited. Once containerd has been
// ready (ready closed), an unexpected exit is followed by a restart with a doubling back-off
// (1 s to 30 s), as systemd's Restart=always would: the containers keep running in their shims
// and the CRI clients reconnect, so the node survives a containerd crash. An exit before ready
// ends it (Start reports the error).
func (c *Containerd) supervise(ctx context.Context, logger klog.Logger, exited <-chan error, ready <-chan struct{}, relaunch func() (<-chan error, error)) {
	finish := func(err error) {
		c.closeClients()
		c.mu.Lock()
		c.exitErr = err
		c.mu.Unlock()
		if err != nil {
			logger.Error(err, "containerd stopped")
		} else {
			logger.Info("Stopped containerd")
		}
		close(c.done)
	}
	backoff, started := restartBackoffMin, time.Now()
	for {
		select {
		case err := <-exited:
			if err == nil {
				err = errors.New("containerd exited")
			}
			err = fmt.Errorf("containerd exited unexpectedly: %w (see %s)", err, c.cfg.LogPath())
			select {
			case <-ready:
			default:
				finish(err)
				return
			}
			if time.Since(started) > restartBackoffReset {
				backoff = restartBackoffMin
			}
			logger.Error(err, "Restarting containerd", "after", backoff)
			select {
			case <-ctx.Done():
				finish(err)
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, restartBackoffMax)
			started = time.Now()
			next, lerr := relaunch()
			if lerr != nil {
				failed := make(chan error, 1)
				failed <- lerr
				next = failed
			} else {
				c.restarts.Add(1)
			}
			exited = next
		case <-ctx.Done():
			c.mu.Lock()
			cmd := c.cmd
			c.mu.Unlock()
			_ = cmd.Process.Signal(syscall.SIGTERM)
			var err error
			select {
			case err = <-exited:
				if isSignal(err, syscall.SIGTERM) {
					err = nil
				}
			case <-time.After(stopTimeout):
				_ = cmd.Process.Kill()
				err = <-exited
				err = fmt.Errorf("containerd did not stop within %s, killed: %w", stopTimeout, err)
			}
			finish(err)
			return
		}
	}
}

// Pid is the process ID of the running containerd (0 before Start).
func (c *Containerd) Pid() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cmd == nil || c.cmd.Process == nil {
		return 0
	}
	return c.cmd.Process.Pid
}

// Restarts counts the restarts after unexpected exits.
func (c *Containerd) Restarts() int64 { return c.restarts.Load() }

// waitReady polls until containerd answers CRI Version and reports runtime and network ready.
func (c *Containerd) waitReady(ctx context.Context) error {
	deadline := time.Now().Add(readyTimeout)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var lastErr error
	for {
		select {
		case <-c.done:
			return c.Err()
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("containerd did not answer CRI on %s within %s: %v (see %s)", c.cfg.Socket(), readyTimeout, lastErr, c.cfg.LogPath())
		}
		if _, err := os.Stat(c.cfg.Socket()); err != nil {
			lastErr = err
			continue
		}
		if c.runtime == nil {
			rs, err := connect(ctx, c.cfg.Endpoint(), 2*time.Second)
			if err != nil {
				lastErr = err
				continue
			}
			c.mu.Lock()
			c.runtime = rs
			c.mu.Unlock()
		}
		st, err := c.runtime.Status(ctx, false)
		if err != nil {
			lastErr = err
			continue
		}
		if notReady := notReadyConditions(st); notReady != "" {
			lastErr = errors.New(notReady)
			continue
		}
		is, err := remote.NewRemoteImageServiceBuilder().WithEndpoint(c.cfg.Endpoint()).
			WithConnectionTimeout(criTimeout).WithTracerProvider(nil).Build(ctx)
		if err != nil {
			return fmt.Errorf("connecting to containerd's image service: %w", err)
		}
		c.mu.Lock()
		c.images = is
		c.mu.Unlock()
		return nil
	}
}

func connect(ctx context.Context, endpoint string, timeout time.Duration) (internalapi.RuntimeService, error) {
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	rs, err := remote.NewRemoteRuntimeServiceBuilder().WithEndpoint(endpoint).
		WithConnectionTimeout(criTimeout).WithTracerProvider(nil).Build(cctx)
	if err != nil {
		return nil, err
	}
	return rs, nil
}

func notReadyConditions(st *runtimeapi.StatusResponse) string {
	var out []string
	for _, want := range []string{runtimeapi.RuntimeReady, runtimeapi.NetworkReady} {
		ok := false
		for _, cond := range st.GetStatus().GetConditions() {
			if cond.Type == want {
				ok = cond.Status
				if !ok {
					out = append(out, fmt.Sprintf("%s=false (%s: %s)", want, cond.Reason, cond.Message))
				}
			}
		}
		if !ok && len(out) == 0 {
			out = append(out, want+" missing")
		}
	}
	return strings.Join(out, "; ")
}

func (c *Containerd) closeClients() {
	c.mu.Lock()
	defer c.mu.Unlock()
	type closer interface{ Close(context.Context) error }
	for _, s := range []any{c.runtime, c.images} {
		if cl, ok := s.(closer); ok && s != nil {
			_ = cl.Close(context.Background())
		}
	}
}

func isSignal(err error, sig syscall.Signal) bool {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok {
			return ws.Signaled() && ws.Signal() == sig
		}
	}
	return false
}

// pathWith returns $PATH with dirs in front (where they are missing).
func pathWith(dirs ...string) string {
	path := os.Getenv("PATH")
	if path == "" {
		path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	}
	have := map[string]bool{}
	for _, p := range filepath.SplitList(path) {
		have[p] = true
	}
	var pre []string
	for _, d := range dirs {
		if !have[d] {
			pre = append(pre, d)
			have[d] = true
		}
	}
	return strings.Join(append(pre, path), string(os.PathListSeparator))
}
