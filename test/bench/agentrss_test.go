package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"

	"github.com/skiff-dev/skiff/test/poll"
)

// BenchmarkAgentRSS is issue 4's density budget: the resident memory of a standalone
// `skiff agent` process (the node agent, its pod workers, probes, node server; containerd is a
// separate process) idle and then with 20 running pods, next to the upstream kubelet's 50 MiB
// budget. The control plane and the image registry run in a separate `skiff up`.
func BenchmarkAgentRSS(b *testing.B) {
	for i := 0; i < b.N; i++ {
		runAgentRSS(b)
	}
}

func runAgentRSS(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	up := startUp(ctx, b, "rss-server", "10.244.222.0/24")
	c, bin, dir := up.client, up.bin, up.dir
	token, err := exec.Command(bin, "token", "create", "--data-dir", dir).Output()
	if err != nil {
		b.Fatalf("token create: %v", err)
	}
	agentDir := filepath.Join(b.TempDir(), "agent")
	agentLog := &bytes.Buffer{}
	agent := exec.Command(bin, "agent", "--server", up.cfg.Host, "--token", strings.TrimSpace(string(token)),
		"--node-name", "rss-node", "--data-dir", agentDir, "--registry", up.registry,
		"--pod-cidr", "10.244.223.0/24", "--node-port", "0", "--images-src", up.root)
	agent.Stdout, agent.Stderr = agentLog, agentLog
	if err := agent.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = agent.Process.Signal(os.Interrupt); _ = agent.Wait() }()
	poll.Until(b, 2*time.Minute, "the node rss-node Ready", poll.Check(func() (bool, string) {
		n, err := c.CoreV1().Nodes().Get(ctx, "rss-node", metav1.GetOptions{})
		return err == nil && nodeReady(n), ""
	}))
	image := up.registry + "/skiff/busybox:latest"
	settle := func() (anon, total int64) {
		// Let the pod workers, probes and status loop reach their steady state.
		time.Sleep(15 * time.Second) // settling time before a memory reading, not a test wait
		return processAnonRSS(agent.Process.Pid), processRSS(agent.Process.Pid)
	}
	idle, idleTotal := settle()

	rs := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: "rss", Namespace: "default"},
		Spec: appsv1.ReplicaSetSpec{
			Replicas: ptr.To(int32(startPods)),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "rss"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "rss"}},
				Spec: corev1.PodSpec{TerminationGracePeriodSeconds: ptr.To[int64](1),
					NodeSelector: map[string]string{"kubernetes.io/hostname": "rss-node"},
					Containers: []corev1.Container{{Name: "c", Image: image, Command: []string{"sleep", "3600"},
						ReadinessProbe: &corev1.Probe{PeriodSeconds: 5,
							ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}}}}}},
			},
		},
	}
	if _, err := c.AppsV1().ReplicaSets("default").Create(ctx, rs, metav1.CreateOptions{}); err != nil {
		b.Fatal(err)
	}
	if err := poll.Wait(ctx, 3*time.Minute, func() error {
		if n := countRunning(ctx, c, "rss"); n != startPods {
			return fmt.Errorf("%d of %d pods running", n, startPods)
		}
		return nil
	}); err != nil {
		pods, _ := c.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=rss"})
		var states []string
		for _, p := range pods.Items {
			st := string(p.Status.Phase) + "@" + p.Spec.NodeName
			for _, cs := range p.Status.ContainerStatuses {
				if cs.State.Waiting != nil {
					st += " " + cs.State.Waiting.Reason + ": " + cs.State.Waiting.Message
				}
			}
			for _, cond := range p.Status.Conditions {
				if cond.Status != corev1.ConditionTrue {
					st += " " + string(cond.Type) + "=" + cond.Reason + ": " + cond.Message
				}
			}
			states = append(states, p.Name+" "+st)
		}
		b.Fatalf("20 pods not running after 3m:\n%s\nagent log tail:\n%s\nskiff up log tail:\n%s", strings.Join(states, "\n"), tail(agentLog.String(), 3000), tail(up.log.String(), 6000))
	}
	loaded, loadedTotal := settle()

	_ = c.AppsV1().ReplicaSets("default").Delete(ctx, "rss", metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationForeground)})
	poll.Until(b, 2*time.Minute, "the rss pods deleted", poll.Check(func() (bool, string) {
		pods, err := c.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=rss"})
		return err == nil && len(pods.Items) == 0, ""
	}))
	mib := func(v int64) float64 { return float64(v) / (1 << 20) }
	b.ReportMetric(mib(idle), "agent-idle-anon-rss-MiB")
	b.ReportMetric(mib(loaded), "agent-20pods-anon-rss-MiB")
	b.ReportMetric(mib(loadedTotal), "agent-20pods-vmrss-MiB")
	fmt.Printf("\nStandalone `skiff agent` resident memory (containerd is a separate process)\n")
	fmt.Printf("  anonymous RSS (heap, stacks: cgroup rss, the kubelet density tests' MemoryRSSInBytes)\n")
	fmt.Printf("    idle node              %6.1f MiB\n", mib(idle))
	fmt.Printf("    with %d running pods   %6.1f MiB   (goal: under 50 MiB, the kubelet's density budget)\n", startPods, mib(loaded))
	fmt.Printf("  VmRSS, including the pages of the %0.f MiB skiff binary mapped from the page cache\n", mib(binarySize(bin)))
	fmt.Printf("    idle node              %6.1f MiB\n", mib(idleTotal))
	fmt.Printf("    with %d running pods   %6.1f MiB\n", startPods, mib(loadedTotal))
}

func binarySize(path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return st.Size()
}

// upCluster is a `skiff up` subprocess (control plane and its local node) for a benchmark.
type upCluster struct {
	root, bin, dir string
	cfg            *rest.Config
	client         kubernetes.Interface
	// registry is the address of the node's loopback image registry.
	registry string
	// log is skiff up's standard error.
	log *bytes.Buffer
	// pid is the skiff up process.
	pid int
}

// startUp builds skiff, runs `skiff up` with its local node nodeName on podCIDR and waits for
// that node to be Ready; the process is interrupted when the benchmark ends.
func startUp(ctx context.Context, b *testing.B, nodeName, podCIDR string) *upCluster {
	b.Helper()
	u := &upCluster{dir: b.TempDir(), log: &bytes.Buffer{}}
	u.root, u.bin = buildSkiff(b)
	cmd := exec.Command(u.bin, "up", "--data-dir", u.dir, "--secure-port=0", "--etcd-client-port=0", "--etcd-peer-port=0",
		"--bind-address=127.0.0.1", "--node-name="+nodeName, "--node-port=0", "--pod-cidr="+podCIDR, "--images-src", u.root)
	cmd.Stderr = u.log
	waitReadyLine(b, cmd, "Skiff is ready.")
	u.pid = cmd.Process.Pid
	b.Cleanup(func() { _ = cmd.Process.Signal(os.Interrupt); _ = cmd.Wait() })
	cfg, err := clientcmd.BuildConfigFromFlags("", filepath.Join(u.dir, "kubeconfig"))
	if err != nil {
		b.Fatal(err)
	}
	cfg.QPS, cfg.Burst = -1, 0
	u.cfg, u.client = cfg, kubernetes.NewForConfigOrDie(cfg)
	poll.Until(b, 2*time.Minute, "the node "+nodeName+" Ready", poll.Check(func() (bool, string) {
		n, err := u.client.CoreV1().Nodes().Get(ctx, nodeName, metav1.GetOptions{})
		return err == nil && nodeReady(n), ""
	}))
	addr, err := os.ReadFile(filepath.Join(u.dir, "registry.addr"))
	if err != nil {
		b.Fatal(err)
	}
	u.registry = strings.TrimSpace(string(addr))
	return u
}

// buildSkiff builds the skiff binary of this tree into a temporary directory and returns the
// tree's root and the binary.
func buildSkiff(b *testing.B) (root, bin string) {
	b.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		b.Fatal(err)
	}
	bin = filepath.Join(b.TempDir(), "skiff")
	if out, err := exec.Command("go", "build", "-o", bin, filepath.Join(root, "cmd", "skiff")).CombinedOutput(); err != nil {
		b.Fatalf("building skiff: %v\n%s", err, out)
	}
	return root, bin
}

// waitReadyLine starts cmd and waits for a line of its standard output starting with prefix.
func waitReadyLine(b *testing.B, cmd *exec.Cmd, prefix string) {
	b.Helper()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), prefix) {
				close(ready)
			}
		}
	}()
	select {
	case <-ready:
	case <-time.After(2 * time.Minute):
		_ = cmd.Process.Kill()
		b.Fatalf("%s not ready after 2m", cmd.Path)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
