package e2e

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/skiff-dev/skiff/test/poll"
)

const (
	readyPrefix  = "Skiff is ready. Kubeconfig: "
	startTimeout = 90 * time.Second
	stopTimeout  = 30 * time.Second
	kubectlLimit = 60 * time.Second
)

// skiff is one `skiff up` process.
type skiff struct {
	dataDir    string
	kubeconfig string
	cacheDir   string
	logPath    string
	cmd        *exec.Cmd
	// exited is closed when the process has exited; exitErr is its Wait error.
	exited  chan struct{}
	exitErr error
}

// longScenario skips t under go test -short: `make test` runs the e2e suite short (its budget
// on a 2-core machine), `make e2e` runs every scenario. The long ones repeat, with more nodes,
// failures or time, paths a shorter test or an integration test already crosses.
func longScenario(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("long e2e scenario: run by make e2e, not make test")
	}
}

// startSkiff runs `skiff up` on dataDir with every port 0 (and any extra flags) and waits for
// its ready line.
func startSkiff(dataDir string, extra ...string) (*skiff, error) {
	logPath := filepath.Join(dataDir, "skiff-up.log")
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, err
	}
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	args := append([]string{"up", "--agent=false", "--data-dir", dataDir,
		"--secure-port", "0", "--etcd-client-port", "0", "--etcd-peer-port", "0", "--bind-address", "127.0.0.1",
		"--cluster-dns-port", "0", "--ingress-http-port=0", "--ingress-https-port=0"}, extra...)
	cmd := exec.Command(skiffBin, args...)
	cmd.Stderr = logFile
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		logFile.Close()
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("starting %s: %w", skiffBin, err)
	}
	s := &skiff{dataDir: dataDir, logPath: logPath, cmd: cmd, exited: make(chan struct{}),
		cacheDir: filepath.Join(dataDir, "kubectl-cache")}
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(logFile, "stdout:", line)
			if path, ok := strings.CutPrefix(line, readyPrefix); ok {
				select {
				case ready <- strings.TrimSpace(path):
				default:
				}
			}
		}
		s.exitErr = cmd.Wait()
		logFile.Close()
		close(s.exited)
	}()
	select {
	case s.kubeconfig = <-ready:
	case <-s.exited:
		return nil, fmt.Errorf("skiff up exited before ready (%v); log:\n%s", s.exitErr, s.logTail())
	case <-time.After(startTimeout):
		s.cmd.Process.Kill()
		<-s.exited
		return nil, fmt.Errorf("skiff up not ready after %v; log:\n%s", startTimeout, s.logTail())
	}
	if want := filepath.Join(dataDir, "kubeconfig"); s.kubeconfig != want {
		s.stop()
		return nil, fmt.Errorf("ready line names kubeconfig %q, want %q", s.kubeconfig, want)
	}
	return s, nil
}

// startSkiffT starts a cluster owned by the test: stopped (SIGKILL if need be) when it ends.
func startSkiffT(t *testing.T, dataDir string, extra ...string) *skiff {
	t.Helper()
	s, err := startSkiff(dataDir, extra...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		select {
		case <-s.exited:
		default:
			if err := s.stop(); err != nil {
				t.Errorf("stopping skiff: %v", err)
			}
		}
	})
	return s
}

// startNodeT starts a cluster owned by the test with this machine's node (real containers)
// named node on podCIDR, and waits for the node to be Ready.
func startNodeT(t *testing.T, dataDir, node, podCIDR string, extra ...string) *skiff {
	t.Helper()
	s := startSkiffT(t, dataDir, append([]string{"--agent=true", "--node-name=" + node, "--node-port=0",
		"--pod-cidr=" + podCIDR, "--images-src", moduleRoot()}, extra...)...)
	poll.Until(t, 90*time.Second, "node Ready", func() error {
		out := s.kubectl(t, "get", "node", node, "--no-headers")
		if out.err != nil || !strings.Contains(out.stdout, " Ready ") {
			return fmt.Errorf("node %s not Ready: %s%s", node, out.stdout, out.stderr)
		}
		return nil
	})
	return s
}

// stop sends SIGTERM and waits for a clean exit.
func (s *skiff) stop() error {
	select {
	case <-s.exited:
		return s.exitErr
	default:
	}
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	select {
	case <-s.exited:
		if s.exitErr != nil {
			return fmt.Errorf("skiff up exited with %v after SIGTERM; log:\n%s", s.exitErr, s.logTail())
		}
		return nil
	case <-time.After(stopTimeout):
		s.cmd.Process.Kill()
		<-s.exited
		return fmt.Errorf("skiff up did not stop within %v of SIGTERM; log:\n%s", stopTimeout, s.logTail())
	}
}

// kill sends SIGKILL and waits for the process to be gone.
func (s *skiff) kill() {
	s.cmd.Process.Kill()
	<-s.exited
}

// logTail is the end of the process's output and of the components' log file, which `skiff
// up` keeps in <data-dir>/logs.
func (s *skiff) logTail() string {
	var out []byte
	for _, p := range []string{s.logPath, filepath.Join(s.dataDir, "logs", "skiff.log")} {
		b, _ := os.ReadFile(p)
		if len(b) > 4000 {
			b = b[len(b)-4000:]
		}
		out = append(out, fmt.Sprintf("--- %s\n%s", p, b)...)
	}
	return string(out)
}

// restConfig is the admin kubeconfig as a client config.
func (s *skiff) restConfig(t *testing.T) *rest.Config {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", s.kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// result is one kubectl run.
type result struct {
	args           []string
	stdout, stderr string
	err            error
}

func (r result) String() string {
	return fmt.Sprintf("kubectl %s: err=%v\nstdout:\n%s\nstderr:\n%s", strings.Join(r.args, " "), r.err, r.stdout, r.stderr)
}

// kubectlIn runs kubectl with the cluster's kubeconfig and stdin (may be empty).
func (s *skiff) kubectlIn(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	return s.kubectlBin(t, "kubectl", s.cacheDir, stdin, args...)
}

// kubectlBin runs a given kubectl binary (another version) with its own discovery cache.
func (s *skiff) kubectlBin(t *testing.T, bin, cacheDir, stdin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), kubectlLimit)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"--kubeconfig", s.kubeconfig, "--cache-dir", cacheDir}, args...)...)
	cmd.Env = kubectlEnv()
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("kubectl %s: timed out after %v", strings.Join(args, " "), kubectlLimit)
	}
	return result{args: args, stdout: out.String(), stderr: errOut.String(), err: err}
}

func (s *skiff) kubectlArgs(args []string) []string {
	return append([]string{"--kubeconfig", s.kubeconfig, "--cache-dir", s.cacheDir}, args...)
}

func kubectlEnv() []string {
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "KUBECONFIG=") {
			env = append(env, e)
		}
	}
	return env
}

// kubectl runs kubectl and returns its result, whether or not it failed.
func (s *skiff) kubectl(t *testing.T, args ...string) result {
	t.Helper()
	return s.kubectlIn(t, "", args...)
}

// ok runs kubectl, fails the test if it fails, and returns its stdout.
func (s *skiff) ok(t *testing.T, args ...string) string {
	t.Helper()
	r := s.kubectlIn(t, "", args...)
	if r.err != nil {
		t.Fatalf("%v", r)
	}
	return r.stdout
}

// okIn is ok with a manifest on stdin (use "-f -").
func (s *skiff) okIn(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	r := s.kubectlIn(t, stdin, args...)
	if r.err != nil {
		t.Fatalf("%v", r)
	}
	return r.stdout
}

// fails runs kubectl, expects it to fail, and returns its stderr.
func (s *skiff) fails(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	r := s.kubectlIn(t, stdin, args...)
	if r.err == nil {
		t.Fatalf("expected failure, got success: %v", r)
	}
	return r.stderr
}

var nsCounter struct {
	sync.Mutex
	n int
}

// namespace creates a fresh namespace on s for the test.
func (s *skiff) namespace(t *testing.T) string {
	t.Helper()
	nsCounter.Lock()
	nsCounter.n++
	n := nsCounter.n
	nsCounter.Unlock()
	name := strings.ToLower(regexp.MustCompile(`[^a-zA-Z0-9]+`).ReplaceAllString(t.Name(), "-"))
	name = strings.Trim(name, "-")
	if len(name) > 50 {
		name = name[:50]
	}
	name = fmt.Sprintf("%s-%d", strings.Trim(name, "-"), n)
	s.ok(t, "create", "namespace", name)
	return name
}

// background is a long-running kubectl (a watch) whose stdout lines are collected.
type background struct {
	cmd    *exec.Cmd
	cancel context.CancelFunc
	mu     sync.Mutex
	lines  []string
	stderr bytes.Buffer
	done   chan struct{}
}

// kubectlBackground starts kubectl and collects its output until it exits or the test ends.
func (s *skiff) kubectlBackground(t *testing.T, timeout time.Duration, args ...string) *background {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	cmd := exec.CommandContext(ctx, "kubectl", s.kubectlArgs(args)...)
	cmd.Env = kubectlEnv()
	b := &background{cmd: cmd, cancel: cancel, done: make(chan struct{})}
	cmd.Stderr = &b.stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	go func() {
		defer close(b.done)
		r := bufio.NewReader(out)
		for {
			line, err := r.ReadString('\n')
			if line != "" {
				b.mu.Lock()
				b.lines = append(b.lines, strings.TrimRight(line, "\n"))
				b.mu.Unlock()
			}
			if err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, os.ErrClosed) {
					b.mu.Lock()
					b.lines = append(b.lines, "read error: "+err.Error())
					b.mu.Unlock()
				}
				break
			}
		}
		cmd.Wait()
	}()
	t.Cleanup(func() {
		cancel()
		<-b.done
	})
	return b
}

// waitLine polls the collected output until a line matches re, failing after timeout.
func (b *background) waitLine(t *testing.T, re string, timeout time.Duration) string {
	t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.Now().Add(timeout)
	for {
		b.mu.Lock()
		lines := append([]string(nil), b.lines...)
		b.mu.Unlock()
		for _, l := range lines {
			if rx.MatchString(l) {
				return l
			}
		}
		select {
		case <-b.done:
			t.Fatalf("kubectl %v exited without a line matching %q; output:\n%s\nstderr:\n%s",
				b.cmd.Args, re, strings.Join(lines, "\n"), b.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no line matching %q within %v; output so far:\n%s", re, timeout, strings.Join(lines, "\n"))
		}
		time.Sleep(20 * time.Millisecond) // polling interval, not synchronization
	}
}

// eventually polls f until it returns nil or the timeout passes.
func eventually(t *testing.T, timeout time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("still failing after %v: %v", timeout, err)
		}
		time.Sleep(50 * time.Millisecond) // polling interval
	}
}

// appManifest is test/e2e/testdata/app.yaml.
func appManifest(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "app.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// fields splits a table line into its whitespace-separated columns.
func fields(line string) []string { return strings.Fields(line) }

// tableRows parses `kubectl get` table output into header and rows.
func tableRows(t *testing.T, out string) (header []string, rows [][]string) {
	t.Helper()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) == 0 || lines[0] == "" {
		t.Fatalf("no table in output %q", out)
	}
	// Headers may contain single spaces ("NOMINATED NODE"): split on 2+ spaces.
	split := regexp.MustCompile(`\s{2,}`)
	header = split.Split(strings.TrimSpace(lines[0]), -1)
	for _, l := range lines[1:] {
		rows = append(rows, split.Split(strings.TrimSpace(l), -1))
	}
	return header, rows
}
