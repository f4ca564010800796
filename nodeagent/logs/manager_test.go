package logs

import (
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	cri "k8s.io/cri-api/pkg/apis"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/skiff-dev/skiff/test/poll"
)

// fakeRuntime runs containers whose log files are real: write appends to the open file, and
// ReopenContainerLog opens the path afresh as the runtime's log writer does.
type fakeRuntime struct {
	cri.RuntimeService
	mu        sync.Mutex
	logs      map[string]*os.File // running container id -> its open log file
	paths     map[string]string
	reopenErr error
	reopens   int
}

func newFakeRuntime() *fakeRuntime {
	return &fakeRuntime{logs: map[string]*os.File{}, paths: map[string]string{}}
}

func (f *fakeRuntime) run(t *testing.T, id, path string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f.paths[id] = path
	if err := f.ReopenContainerLog(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	f.reopens = 0
	t.Cleanup(func() { f.logs[id].Close() })
}

func (f *fakeRuntime) write(t *testing.T, id, s string) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, err := f.logs[id].WriteString(s); err != nil {
		t.Fatal(err)
	}
}

func (f *fakeRuntime) ListContainers(_ context.Context, _ *runtimeapi.ContainerFilter) ([]*runtimeapi.Container, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*runtimeapi.Container
	for id := range f.paths {
		out = append(out, &runtimeapi.Container{Id: id, State: runtimeapi.ContainerState_CONTAINER_RUNNING})
	}
	out = append(out, &runtimeapi.Container{Id: "exited", State: runtimeapi.ContainerState_CONTAINER_EXITED})
	return out, nil
}

func (f *fakeRuntime) ContainerStatus(_ context.Context, id string, _ bool) (*runtimeapi.ContainerStatusResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if id == "exited" {
		return nil, fmt.Errorf("exited containers are not looked at")
	}
	return &runtimeapi.ContainerStatusResponse{Status: &runtimeapi.ContainerStatus{Id: id, LogPath: f.paths[id]}}, nil
}

func (f *fakeRuntime) ReopenContainerLog(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.reopenErr != nil {
		return f.reopenErr
	}
	nf, err := os.OpenFile(f.paths[id], os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return err
	}
	if old := f.logs[id]; old != nil {
		old.Close()
	}
	f.logs[id] = nf
	f.reopens++
	return nil
}

// readAll returns the lines of every file of the log, oldest first, decompressing .gz files.
func readAll(t *testing.T, path string) (lines []string, files []string) {
	t.Helper()
	rotated, _ := filepath.Glob(path + ".*")
	sort.Strings(rotated)
	for _, p := range append(rotated, path) {
		files = append(files, filepath.Base(p))
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		var r io.Reader = f
		if strings.HasSuffix(p, CompressSuffix) {
			if r, err = gzip.NewReader(f); err != nil {
				t.Fatalf("%s: %v", p, err)
			}
		}
		b, err := io.ReadAll(r)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		lines = append(lines, strings.Fields(string(b))...)
	}
	return lines, files
}

func TestRotateLogs(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "ns_p_uid", "c", "0.log")
	rt := newFakeRuntime()
	rt.run(t, "c1", path)
	clk := clocktesting.NewFakeClock(time.Date(2026, 12, 6, 2, 0, 0, 0, time.UTC))
	m, err := NewManager(Config{Runtime: rt, MaxSize: 100, MaxFiles: 4, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	line := 0
	writeLines := func(n int) {
		for range n {
			line++
			rt.write(t, "c1", fmt.Sprintf("line-%04d\n", line)) // 10 bytes
		}
	}

	t.Run("under the max size nothing happens", func(t *testing.T) {
		writeLines(9)
		if err := m.RotateLogs(ctx); err != nil {
			t.Fatal(err)
		}
		if _, files := readAll(t, path); len(files) != 1 || rt.reopens != 0 {
			t.Fatalf("files %v, reopens %d", files, rt.reopens)
		}
	})
	t.Run("at the max size the file is rotated and reopened", func(t *testing.T) {
		writeLines(1)
		if err := m.RotateLogs(ctx); err != nil {
			t.Fatal(err)
		}
		lines, files := readAll(t, path)
		if want := []string{"0.log.20261206-020000", "0.log"}; !slices.Equal(files, want) || rt.reopens != 1 {
			t.Fatalf("files %v (want %v), reopens %d", files, want, rt.reopens)
		}
		if len(lines) != 10 {
			t.Fatalf("lines %v", lines)
		}
		writeLines(1)
		if lines, _ := readAll(t, path); lines[len(lines)-1] != "line-0011" {
			t.Fatalf("the container does not write to the new file: %v", lines)
		}
	})
	t.Run("older rotations are compressed and the oldest removed", func(t *testing.T) {
		for range 5 {
			clk.Step(10 * time.Second)
			writeLines(10)
			if err := m.RotateLogs(ctx); err != nil {
				t.Fatal(err)
			}
		}
		lines, files := readAll(t, path)
		want := []string{"0.log.20261206-020030.gz", "0.log.20261206-020040.gz", "0.log.20261206-020050", "0.log"}
		if !slices.Equal(files, want) {
			t.Fatalf("files %v, want %v", files, want)
		}
		// The newest lines are all there, in order; the oldest went with the removed files.
		if lines[len(lines)-1] != fmt.Sprintf("line-%04d", line) || len(lines) != 30 {
			t.Fatalf("lines %v", lines)
		}
		for i := 1; i < len(lines); i++ {
			if lines[i] <= lines[i-1] {
				t.Fatalf("lines out of order: %v", lines)
			}
		}
	})
	t.Run("a failed reopen renames the file back", func(t *testing.T) {
		clk.Step(10 * time.Second)
		writeLines(10)
		rt.reopenErr = fmt.Errorf("runtime down")
		_ = m.RotateLogs(ctx)
		rt.reopenErr = nil
		if _, err := os.Stat(path); err != nil {
			t.Fatalf("the current log is gone: %v", err)
		}
		// Its older files were compressed and removed already; the current one stays whole.
		lines, files := readAll(t, path)
		if want := []string{"0.log.20261206-020040.gz", "0.log.20261206-020050.gz", "0.log"}; !slices.Equal(files, want) {
			t.Fatalf("files %v, want %v", files, want)
		}
		if lines[len(lines)-1] != fmt.Sprintf("line-%04d", line) || len(lines) != 30 {
			t.Fatalf("lines %v", lines)
		}
	})
	t.Run("a removed log is reopened", func(t *testing.T) {
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
		before := rt.reopens
		if err := m.RotateLogs(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(path); err != nil || rt.reopens != before+1 {
			t.Fatalf("log %v, reopens %d", err, rt.reopens-before)
		}
	})
}

func TestStartRotatesEveryMonitorPeriod(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	path := filepath.Join(t.TempDir(), "0.log")
	rt := newFakeRuntime()
	rt.run(t, "c1", path)
	rt.write(t, "c1", strings.Repeat("x", 200)+"\n")
	clk := clocktesting.NewFakeClock(time.Date(2026, 12, 6, 2, 0, 0, 0, time.UTC))
	m, err := NewManager(Config{Runtime: rt, MaxSize: 100, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); m.Start(ctx) }()
	poll.Eventually(t, "the log rotated after the monitor period", poll.Check(func() (bool, string) {
		if !clk.HasWaiters() {
			return false, "no ticker yet"
		}
		clk.Step(DefaultMonitorPeriod)
		rotated, _ := filepath.Glob(path + ".*")
		return len(rotated) == 1, fmt.Sprintf("rotated files %v", rotated)
	}))
	cancel()
	<-done
}

func TestNewManagerRefusesMaxFiles(t *testing.T) {
	if _, err := NewManager(Config{Runtime: newFakeRuntime(), MaxFiles: 1}); err == nil ||
		!strings.Contains(err.Error(), "containerLogMaxFiles must be greater than 1") {
		t.Fatalf("MaxFiles 1: %v", err)
	}
}
