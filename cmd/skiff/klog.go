package main

import (
	goflag "flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"k8s.io/klog/v2"
)

// klogFlags are klog's flags (-v, --vmodule, ...), shared by every command.
var klogFlags = flagSetForKlog()

func flagSetForKlog() *goflag.FlagSet {
	fs := goflag.NewFlagSet("klog", goflag.ContinueOnError)
	klog.InitFlags(fs)
	return fs
}

// LogFileName is where `skiff up` writes the components' logs, under <data-dir>/logs.
const LogFileName = "skiff.log"

// logToFile sends klog's output (the API server's, etcd's bridge, controller-runtime's through
// klogr, the agent's) to <dataDir>/logs/skiff.log instead of stderr, as k3s and kind keep their
// components' logs out of the terminal. Only fatal errors still reach stderr. It returns the
// file's path.
func logToFile(dataDir string) (string, error) {
	dir := filepath.Join(dataDir, "logs")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("creating the log directory: %w", err)
	}
	path := filepath.Join(dir, LogFileName)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return "", fmt.Errorf("opening the log file: %w", err)
	}
	for name, value := range map[string]string{"logtostderr": "false", "alsologtostderr": "false",
		"one_output": "true", "stderrthreshold": "FATAL"} {
		if err := klogFlags.Set(name, value); err != nil {
			return "", fmt.Errorf("setting klog's %s: %w", name, err)
		}
	}
	klog.SetOutput(f)
	return path, nil
}

// progress prints a command's short progress lines ("etcd ready", "node vm is Ready", ...),
// each with the time since the command started. A nil progress prints nothing, so code shared
// with commands that print no progress can call it unconditionally.
type progress struct {
	mu    sync.Mutex
	w     io.Writer
	start time.Time
	now   func() time.Time
}

func newProgress(w io.Writer) *progress {
	return &progress{w: w, start: time.Now(), now: time.Now}
}

// step prints one line: the message and the seconds since the start.
func (p *progress) step(format string, args ...any) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, "%5.1fs  %s\n", p.now().Sub(p.start).Seconds(), fmt.Sprintf(format, args...))
}
