package e2e

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// controllerGen is the guide's controller-gen command (docs/extending.md).
var controllerGen = []string{"go", "run", "sigs.k8s.io/controller-tools/cmd/controller-gen@v0.23.0"}

// TestGuideExtending follows docs/extending.md on its sample (docs/guide-sample): controller-gen
// generates the CRD from the markers (identical to the committed one), kubectl applies it to
// `skiff up`, the sample controller runs with the admin kubeconfig, and a Greeting gets its
// ConfigMap, its status and its printer columns, and takes the ConfigMap along when deleted.
func TestGuideExtending(t *testing.T) {
	sample := filepath.Join(moduleRoot(), "docs", "guide-sample")
	tmp := t.TempDir()

	// Step 2: generate the CRD from the *_types.go markers with the guide's command.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	crdDir := filepath.Join(tmp, "crd")
	gen := exec.CommandContext(ctx, controllerGen[0], append(controllerGen[1:], "crd", "paths=./api/...",
		"output:crd:artifacts:config="+crdDir)...)
	gen.Dir = sample
	if out, err := gen.CombinedOutput(); err != nil {
		t.Fatalf("controller-gen: %v\n%s", err, out)
	}
	const crdFile = "guide.example.com_greetings.yaml"
	generated, err := os.ReadFile(filepath.Join(crdDir, crdFile))
	if err != nil {
		t.Fatal(err)
	}
	committed, err := os.ReadFile(filepath.Join(sample, "config", "crd", crdFile))
	if err != nil {
		t.Fatal(err)
	}
	if string(generated) != string(committed) {
		t.Errorf("docs/guide-sample/config/crd/%s is stale: rerun the guide's controller-gen command", crdFile)
	}

	// Step 3: build the controller (the guide runs `go run .`; a built binary can be stopped cleanly).
	bin := filepath.Join(tmp, "guide-sample")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
	build.Dir = sample
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the sample: %v\n%s", err, out)
	}

	// Step 4: apply the CRD to a cluster and run the controller against it.
	s := sharedCluster(t)
	s.ok(t, "apply", "-f", filepath.Join(crdDir, crdFile))
	t.Cleanup(func() { s.kubectl(t, "delete", "crd", "greetings.guide.example.com", "--wait=false") })
	s.ok(t, "wait", "--for", "condition=Established", "--timeout=30s", "crd/greetings.guide.example.com")
	eventually(t, 30*time.Second, func() error {
		r := s.kubectl(t, "explain", "greeting.spec.salutation")
		if r.err != nil || !strings.Contains(r.stdout, "Salutation starts the message") {
			return fmt.Errorf("kubectl explain: %v", r)
		}
		return nil
	})
	ctl := startController(t, bin, s.kubeconfig)
	ctl.waitLine(t, "Greeting controller running", 30*time.Second)

	// Step 5: create a Greeting and see the controller act.
	ns := s.namespace(t)
	t.Cleanup(func() { s.kubectl(t, "delete", "namespace", ns, "--wait=false") })
	s.ok(t, "apply", "-n", ns, "-f", filepath.Join(sample, "config", "samples", "greeting.yaml"))
	eventually(t, 30*time.Second, func() error {
		r := s.kubectl(t, "get", "configmap", "world-greeting", "-n", ns, "-o", "jsonpath={.data.message}")
		if r.err != nil || r.stdout != "Hello, World!" {
			return fmt.Errorf("configmap message: %v", r)
		}
		return nil
	})
	eventually(t, 30*time.Second, func() error {
		out := s.ok(t, "get", "greetings", "-n", ns)
		header, rows := tableRows(t, out)
		if strings.Join(header, ",") != "NAME,WHO,MESSAGE,AGE" || len(rows) != 1 || len(rows[0]) < 3 ||
			rows[0][0] != "world" || rows[0][1] != "World" || rows[0][2] != "Hello, World!" {
			return fmt.Errorf("kubectl get greetings:\n%s", out)
		}
		return nil
	})
	// The schema from the markers: an unknown salutation is refused with its field path.
	stderr := s.fails(t, "apiVersion: guide.example.com/v1\nkind: Greeting\nmetadata:\n  name: bad\nspec:\n  who: x\n  salutation: Howdy\n",
		"apply", "-n", ns, "-f", "-")
	if !strings.Contains(stderr, "spec.salutation") {
		t.Errorf("invalid salutation: stderr %q does not name spec.salutation", stderr)
	}
	// An update is reconciled.
	s.ok(t, "patch", "greeting", "world", "-n", ns, "--type=merge", "-p", `{"spec":{"salutation":"Goodbye"}}`)
	eventually(t, 30*time.Second, func() error {
		r := s.kubectl(t, "get", "configmap", "world-greeting", "-n", ns, "-o", "jsonpath={.data.message}")
		if r.err != nil || r.stdout != "Goodbye, World!" {
			return fmt.Errorf("configmap message: %v", r)
		}
		return nil
	})
	// Deleting the Greeting garbage-collects its ConfigMap.
	s.ok(t, "delete", "greeting", "world", "-n", ns)
	eventually(t, 30*time.Second, func() error {
		r := s.kubectl(t, "get", "configmap", "world-greeting", "-n", ns)
		if r.err != nil && strings.Contains(r.stderr, "NotFound") {
			return nil
		}
		return fmt.Errorf("configmap still there: %v", r)
	})
}

// controller is a running sample controller whose output is collected.
type controller struct {
	cmd   *exec.Cmd
	mu    sync.Mutex
	lines []string
	done  chan struct{}
}

// startController runs bin with KUBECONFIG=kubeconfig until the test ends (SIGTERM, then kill).
func startController(t *testing.T, bin, kubeconfig string) *controller {
	t.Helper()
	cmd := exec.Command(bin)
	cmd.Env = append(kubectlEnv(), "KUBECONFIG="+kubeconfig)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &controller{cmd: cmd, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			c.mu.Lock()
			c.lines = append(c.lines, sc.Text())
			c.mu.Unlock()
		}
		cmd.Wait()
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-c.done:
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			<-c.done
			t.Errorf("sample controller did not stop within 15s of SIGTERM")
		}
		if t.Failed() {
			c.mu.Lock()
			t.Logf("sample controller output:\n%s", strings.Join(c.lines, "\n"))
			c.mu.Unlock()
		}
	})
	return c
}

// waitLine waits for a line of output containing s.
func (c *controller) waitLine(t *testing.T, s string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		c.mu.Lock()
		for _, l := range c.lines {
			if strings.Contains(l, s) {
				c.mu.Unlock()
				return
			}
		}
		out := strings.Join(c.lines, "\n")
		c.mu.Unlock()
		select {
		case <-c.done:
			t.Fatalf("sample controller exited; output:\n%s", out)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %q from the sample controller within %v; output:\n%s", s, timeout, out)
		}
		time.Sleep(50 * time.Millisecond) // polling interval
	}
}
