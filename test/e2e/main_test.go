package e2e

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// skiffBin is the binary under test: built by TestMain unless SKIFF_BIN names one.
var skiffBin string

// operatorBuildDir holds the binaries TestMain builds besides skiff.
var operatorBuildDir string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if _, err := exec.LookPath("kubectl"); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: kubectl is not on the PATH")
		return 1
	}
	tmp, err := os.MkdirTemp("", "skiff-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(tmp)
	// Nodes record themselves (for `skiff killall`) in this run's own dir, not the machine's.
	if os.Getenv("SKIFF_RUN_DIR") == "" {
		os.Setenv("SKIFF_RUN_DIR", filepath.Join(tmp, "run"))
	}
	if skiffBin = os.Getenv("SKIFF_BIN"); skiffBin == "" {
		skiffBin = filepath.Join(tmp, "skiff")
		// Without DWARF: a third less link time, the same code.
		build := exec.Command("go", "build", "-ldflags=-w", "-o", skiffBin, "./cmd/skiff")
		build.Dir = moduleRoot()
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "e2e: building skiff:", err)
			return 1
		}
	}
	// The admission subtest's operator builds meanwhile when the run may include it.
	operatorBuildDir = tmp
	flag.Parse()
	if pattern := flag.Lookup("test.run").Value.String(); pattern == "" || strings.Contains(pattern, "TestLocalNode") {
		operatorBinary.start(tmp)
	}
	code := m.Run()
	sharedMu.Lock()
	if shared != nil {
		if err := shared.stop(); err != nil {
			fmt.Fprintln(os.Stderr, "e2e: stopping the shared cluster:", err)
			if code == 0 {
				code = 1
			}
		}
		os.RemoveAll(shared.dataDir)
	}
	sharedMu.Unlock()
	return code
}

// moduleRoot is the repository root, two levels above this package.
func moduleRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

var (
	sharedMu  sync.Mutex
	shared    *skiff
	sharedErr error
)

// sharedCluster returns the package's cluster, starting it on first use; TestMain stops it.
func sharedCluster(t *testing.T) *skiff {
	t.Helper()
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if shared == nil && sharedErr == nil {
		dir, err := os.MkdirTemp("", "skiff-e2e-shared-")
		if err != nil {
			t.Fatal(err)
		}
		shared, sharedErr = startSkiff(dir)
	}
	if sharedErr != nil {
		t.Fatalf("starting the shared cluster: %v", sharedErr)
	}
	return shared
}
