package scale

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// clusterCIDR is the pods' range of the scale runs (outside the services' 10.96.0.0/12).
const clusterCIDR = "10.128.0.0/10"

// cluster is a `skiff up --agent=false [--simulated-nodes N]` subprocess on its own data dir.
type cluster struct {
	bin, dir string
	nodes    int
	cmd      *exec.Cmd
	exited   chan struct{}
	log      *lockedBuffer
	cfg      *rest.Config
	client   kubernetes.Interface
	// dumpDir receives the log of a shutdown that hung (stop).
	dumpDir string
}

// agents is a `skiff agent --simulated --count N` subprocess: the simulated nodes apart from
// the control plane, each joined with a credential of its own, as kubelets.
type agents struct {
	cmd    *exec.Cmd
	exited chan struct{}
	log    *lockedBuffer
}

// freePort is a loopback port free now: the API server's across a restart, so that the agents
// (whose kubeconfigs name it) find the restarted control plane.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// startAgents joins n simulated nodes to c with a join token, in one `skiff agent --simulated
// --count n` process with its data under dir/agents.
func startAgents(t *testing.T, bin, dir string, c *cluster, n int) (*agents, error) {
	t.Helper()
	out, err := exec.Command(bin, "token", "create", "--data-dir", dir).Output()
	if err != nil {
		return nil, fmt.Errorf("skiff token create: %w", err)
	}
	token, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	a := &agents{log: &lockedBuffer{}, exited: make(chan struct{})}
	a.cmd = exec.Command(bin, "agent", "--simulated", "--count", strconv.Itoa(n), "--node-name", "sim",
		"--server", c.cfg.Host, "--token", token, "--data-dir", filepath.Join(dir, "agents"))
	a.cmd.Stdout, a.cmd.Stderr = a.log, a.log
	if err := a.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting skiff agent: %w", err)
	}
	go func() { _ = a.cmd.Wait(); close(a.exited) }()
	return a, nil
}

// stop interrupts the agents and waits for them to exit (killing them after a minute).
func (a *agents) stop() {
	select {
	case <-a.exited:
		return
	default:
	}
	_ = a.cmd.Process.Signal(os.Interrupt)
	select {
	case <-a.exited:
	case <-time.After(time.Minute):
		_ = a.cmd.Process.Kill()
		<-a.exited
	}
}

// alive is an error once the agents exited.
func (a *agents) alive() error {
	select {
	case <-a.exited:
		return fmt.Errorf("skiff agent exited (%v): %s", a.cmd.ProcessState, a.log.tail(2000))
	default:
		return nil
	}
}

// lockedBuffer is the process's output, written by exec's copier and read by the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *lockedBuffer) tail(n int) string {
	s := l.String()
	if len(s) > n {
		s = s[len(s)-n:]
	}
	return s
}

// skiffBinary is $SKIFF_BIN, or this tree's skiff built into a temporary directory.
func skiffBinary(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv("SKIFF_BIN"); bin != "" {
		return bin
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "skiff")
	out, err := exec.Command("go", "build", "-ldflags=-w", "-o", bin, filepath.Join(root, "cmd", "skiff")).CombinedOutput()
	if err != nil {
		t.Fatalf("building skiff: %v\n%s", err, out)
	}
	return bin
}

// startCluster runs skiff up on dir (created when empty) with nodes simulated nodes in it (none:
// startAgents runs them) and its API server on port, and returns once it printed that it is
// ready, with clients of its admin kubeconfig.
func startCluster(t *testing.T, bin, dir string, nodes, port int) (*cluster, error) {
	t.Helper()
	c := &cluster{bin: bin, dir: dir, nodes: nodes, log: &lockedBuffer{}, exited: make(chan struct{})}
	c.cmd = exec.Command(bin, "up", "--agent=false", "--simulated-nodes", strconv.Itoa(nodes), "--data-dir", dir,
		"--secure-port="+strconv.Itoa(port), "--etcd-client-port=0", "--etcd-peer-port=0", "--bind-address=127.0.0.1", "--cluster-dns-port=0",
		// Room for 16,384 node subnets of /24: the default 10.244.0.0/16 holds 256 nodes, and a
		// simulated node without a podCIDR waits for one before it runs pods.
		"--cluster-cidr="+clusterCIDR)
	// SCALE_UP_ARGS: more flags of skiff up (e.g. --kube-api-qps=200).
	c.cmd.Args = append(c.cmd.Args, strings.Fields(os.Getenv("SCALE_UP_ARGS"))...)
	c.cmd.Stderr = c.log
	stdout, err := c.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := c.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting skiff up: %w", err)
	}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		once := sync.Once{}
		for sc.Scan() {
			_, _ = c.log.Write(append(sc.Bytes(), '\n'))
			if strings.HasPrefix(sc.Text(), "Skiff is ready.") {
				once.Do(func() { close(ready) })
			}
		}
	}()
	go func() { _ = c.cmd.Wait(); close(c.exited) }()
	select {
	case <-ready:
	case <-c.exited:
		return nil, fmt.Errorf("skiff up exited before it was ready:\n%s", c.log.tail(4000))
	case <-time.After(5 * time.Minute):
		c.stop()
		return nil, fmt.Errorf("skiff up not ready after 5m:\n%s", c.log.tail(4000))
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", filepath.Join(dir, "kubeconfig"))
	if err != nil {
		c.stop()
		return nil, err
	}
	cfg.QPS, cfg.Burst = -1, 0
	cfg.Timeout = 2 * time.Minute
	c.cfg = cfg
	if c.client, err = kubernetes.NewForConfig(protobuf(cfg)); err != nil {
		c.stop()
		return nil, err
	}
	return c, nil
}

// protobuf is a copy of cfg asking for protobuf, as Skiff's own clients do.
func protobuf(cfg *rest.Config) *rest.Config {
	c := rest.CopyConfig(cfg)
	c.ContentType = "application/vnd.kubernetes.protobuf"
	c.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	return c
}

// stop interrupts skiff up and waits for it to exit. After two minutes it sends SIGQUIT (the
// Go runtime prints every goroutine's stack to stderr: the log, saved in dumpDir as
// skiff-up-stop.log, shows what the shutdown waited for) and kills it.
func (c *cluster) stop() {
	select {
	case <-c.exited:
		return
	default:
	}
	_ = c.cmd.Process.Signal(os.Interrupt)
	select {
	case <-c.exited:
	case <-time.After(2 * time.Minute):
		_ = c.cmd.Process.Signal(syscall.SIGQUIT)
		select {
		case <-c.exited:
		case <-time.After(10 * time.Second):
			_ = c.cmd.Process.Kill()
			<-c.exited
		}
		if c.dumpDir != "" {
			c.log.mu.Lock()
			_ = os.WriteFile(filepath.Join(c.dumpDir, "skiff-up-stop.log"), c.log.b.Bytes(), 0o644)
			c.log.mu.Unlock()
		}
	}
}

func (c *cluster) pid() int { return c.cmd.Process.Pid }

// alive is an error once skiff up exited.
func (c *cluster) alive() error {
	select {
	case <-c.exited:
		return fmt.Errorf("skiff up exited (%v)", c.cmd.ProcessState)
	default:
		return nil
	}
}

// rss is the resident memory of the skiff up process (VmRSS), 0 once it exited.
func (c *cluster) rss() int64 {
	return statusField(c.pid(), "VmRSS:")
}

// rss is the resident memory of the agents' process, 0 without one.
func (a *agents) rss() int64 {
	if a == nil {
		return 0
	}
	return statusField(a.cmd.Process.Pid, "VmRSS:")
}

// statusField reads a kB field of /proc/<pid>/status in bytes.
func statusField(pid int, field string) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, field) {
			f := strings.Fields(line)
			if len(f) >= 2 {
				v, _ := strconv.ParseInt(f[1], 10, 64)
				return v << 10
			}
		}
	}
	return 0
}

// cpuSeconds is the user and system CPU time the process used so far.
func cpuSeconds(pid int) float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(data)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	return (utime + stime) / 100 // USER_HZ
}

// watchdog kills skiff up when its resident memory passes limit, so that a run too large for
// the machine fails instead of taking the machine (shared with other work) down.
func (c *cluster) watchdog(ctx context.Context, limit int64, exceeded func(int64)) {
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.exited:
			return
		case <-tick.C:
			if rss := c.rss(); rss > limit {
				exceeded(rss)
				_ = c.cmd.Process.Signal(syscall.SIGKILL)
				return
			}
		}
	}
}
