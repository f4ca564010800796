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
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/skiff-dev/skiff/test/poll"
)

// startServerT runs `skiff server` on loopback with free ports (plus extra flags), waits for its
// ready line and kills it (SIGKILL) when the test ends, if the test has not stopped it.
func startServerT(t *testing.T, dataDir string, extra ...string) *skiff {
	t.Helper()
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dataDir, "skiff-server.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{"server", "--data-dir", dataDir, "--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1",
		"--secure-port", "0", "--etcd-client-port", "0", "--etcd-peer-port", "0", "--cluster-dns-port", "0"}, extra...)
	cmd := exec.Command(skiffBin, args...)
	cmd.Stderr = logFile
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &skiff{dataDir: dataDir, logPath: logPath, cmd: cmd, exited: make(chan struct{}), cacheDir: filepath.Join(dataDir, "kubectl-cache")}
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			fmt.Fprintln(logFile, "stdout:", sc.Text())
			if path, ok := strings.CutPrefix(sc.Text(), readyPrefix); ok {
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
	t.Cleanup(func() {
		select {
		case <-s.exited:
		default:
			s.kill()
		}
	})
	select {
	case s.kubeconfig = <-ready:
	case <-s.exited:
		t.Fatalf("skiff server exited before ready (%v); log:\n%s", s.exitErr, s.logTail())
	case <-time.After(startTimeout):
		t.Fatalf("skiff server not ready after %v; log:\n%s", startTimeout, s.logTail())
	}
	return s
}

// etcdLeader returns the name of the etcd leader as `skiff etcd member list` reports it
// through the member on dataDir, and the member count.
func etcdLeader(t *testing.T, dataDir string) (leader string, members int) {
	t.Helper()
	out := runSkiff(t, "etcd", "member", "list", "--data-dir", dataDir)
	for _, l := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
		f := strings.Fields(l)
		members++
		if len(f) > 2 && f[2] == "leader" {
			leader = f[1]
		}
	}
	return leader, members
}

// TestHAKillEtcdLeader runs three control-plane members on loopback (`skiff server
// --cluster-init`, then two `skiff server --join --token` with a control-plane token), writes
// ConfigMaps continuously through any live member (switching on error), kills the process of
// the etcd leader (SIGKILL), and checks that writes resume within seconds and that every
// acknowledged ConfigMap is on each remaining member (counted). The killed member restarts on
// its data dir, rejoins and has them all too.
func TestHAKillEtcdLeader(t *testing.T) {
	base := t.TempDir()
	names := []string{"m1", "m2", "m3"}
	dirs := map[string]string{}
	for _, n := range names {
		dirs[n] = filepath.Join(base, n)
	}
	members := map[string]*skiff{}
	members["m1"] = startServerT(t, dirs["m1"], "--cluster-init", "--member-name", "m1")
	// A node join token cannot join a control-plane member.
	nodeTok := strings.TrimSpace(runSkiff(t, "token", "create", "--data-dir", dirs["m1"]))
	url := members["m1"].restConfig(t).Host
	if out, err := execSkiff("server", "--data-dir", filepath.Join(base, "bad"), "--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1",
		"--secure-port", "0", "--etcd-client-port", "0", "--etcd-peer-port", "0", "--join", url, "--token", nodeTok, "--member-name", "bad"); err == nil ||
		!strings.Contains(out, "skiff token create --control-plane") {
		t.Fatalf("joining with a node token: err=%v, output:\n%s", err, tailOf(out, 20))
	}
	tok := strings.TrimSpace(runSkiff(t, "token", "create", "--control-plane", "--data-dir", dirs["m1"]))
	// A pinned CA that is not the cluster's is refused before anything is downloaded.
	if out, err := execSkiff("server", "--data-dir", filepath.Join(base, "bad2"), "--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1",
		"--secure-port", "0", "--etcd-client-port", "0", "--etcd-peer-port", "0", "--join", url, "--token", tok, "--member-name", "bad2",
		"--ca-cert-hash", "sha256:"+strings.Repeat("0", 64)); err == nil || !strings.Contains(out, "does not match --ca-cert-hash") {
		t.Fatalf("joining with a wrong --ca-cert-hash: err=%v, output:\n%s", err, tailOf(out, 20))
	}
	for _, n := range names[1:] {
		members[n] = startServerT(t, dirs[n], "--join", url, "--token", tok, "--member-name", n)
	}
	if _, count := etcdLeader(t, dirs["m3"]); count != 3 {
		t.Fatalf("%d etcd members, want 3", count)
	}
	// Every member serves the same cluster with the same CA: m1's kubeconfig works on m3.
	ns := members["m1"].namespace(t)
	members["m3"].ok(t, "get", "namespace", ns)
	// skiff trace through one member shows a write another member served: the API servers find
	// each other by their identity Leases and ask each other for their spans.
	members["m1"].ok(t, "create", "configmap", "traced", "-n", ns)
	poll.Until(t, 30*time.Second, "m1's write in skiff trace through m3", func() error {
		out, err := exec.Command(skiffBin, "trace", "--kubeconfig", members["m3"].kubeconfig, "-n", ns, "configmap/traced", "-o", "json").CombinedOutput()
		if err != nil || !strings.Contains(string(out), `"component": "apiserver"`) || !strings.Contains(string(out), `"k8s.object.name": "traced"`) {
			return fmt.Errorf("skiff trace: %v\n%s", err, tailOf(string(out), 10))
		}
		return nil
	})

	clients := map[string]*kubernetes.Clientset{}
	for _, n := range names {
		cfg := members[n].restConfig(t)
		cfg.QPS, cfg.Burst = -1, 0
		cfg.Timeout = 2 * time.Second // a write stuck on a dead leader is abandoned and retried elsewhere
		clients[n] = kubernetes.NewForConfigOrDie(cfg)
	}

	// Writers: each creates ConfigMaps with unique names through its current member, moving to
	// the next member on any error. Only acknowledged creates are recorded.
	var mu sync.Mutex
	acked := map[string]bool{}
	var ackTimes []time.Time
	var switches atomic.Int64
	const writers, maxCreates = 4, 4000
	ctx, cancel := context.WithTimeout(context.Background(), 80*time.Second)
	defer cancel()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var seq atomic.Int64
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cur := w % len(names)
			for {
				select {
				case <-stop:
					return
				default:
				}
				i := seq.Add(1)
				if i > maxCreates {
					return
				}
				name := fmt.Sprintf("w%d-%d", w, i)
				_, err := clients[names[cur]].CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
				if err != nil {
					cur = (cur + 1) % len(names)
					switches.Add(1)
					continue
				}
				mu.Lock()
				acked[name] = true
				ackTimes = append(ackTimes, time.Now())
				mu.Unlock()
			}
		}()
	}
	ackCount := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(acked)
	}
	eventually(t, 30*time.Second, func() error {
		if n := ackCount(); n < 200 {
			return fmt.Errorf("%d creates acknowledged so far", n)
		}
		return nil
	})
	leader, _ := etcdLeader(t, dirs["m1"])
	if members[leader] == nil {
		t.Fatalf("no etcd leader among %v", names)
	}
	// A (simulated) node that knows every API server, the leader's first: it keeps renewing its
	// Lease through another member once the leader's process is gone.
	serverArgs := []string{"--server", members[leader].restConfig(t).Host}
	for _, n := range names {
		if n != leader {
			serverArgs = append(serverArgs, "--server", members[n].restConfig(t).Host)
		}
	}
	agent := startAgent(t, append(serverArgs, "--token", nodeTok, "--node-name", "ha-node", "--data-dir", filepath.Join(base, "node"), "--simulated")...)
	leaseRenewed := func(c *kubernetes.Clientset, after time.Time) error {
		l, err := c.CoordinationV1().Leases("kube-node-lease").Get(ctx, "ha-node", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if l.Spec.RenewTime == nil || !l.Spec.RenewTime.After(after) {
			return fmt.Errorf("node lease last renewed %v, not after %v", l.Spec.RenewTime, after)
		}
		return nil
	}
	eventually(t, 40*time.Second, func() error { return leaseRenewed(clients[leader], time.Time{}) })
	if now, _ := etcdLeader(t, dirs["m1"]); now != leader {
		t.Fatalf("etcd leadership moved from %s to %s without a fault; log of the agent:\n%s", leader, now, agent.log)
	}
	killedAt := time.Now()
	members[leader].kill()
	before := ackCount()
	t.Logf("killed the etcd leader %s after %d acknowledged creates", leader, before)
	// Wait for writes to go on well after the kill.
	eventually(t, 40*time.Second, func() error {
		if n := ackCount(); n < before+300 {
			return fmt.Errorf("%d creates acknowledged since the kill", n-before)
		}
		return nil
	})
	close(stop)
	wg.Wait()

	// Resumption: the longest pause between acknowledged writes after the kill (writes the
	// dying leader had committed may still be acknowledged just after it).
	mu.Lock()
	var maxGap time.Duration
	for i, at := range ackTimes {
		if i > 0 && at.After(killedAt) {
			if g := at.Sub(ackTimes[i-1]); g > maxGap {
				maxGap = g
			}
		}
	}
	total := len(acked)
	mu.Unlock()
	t.Logf("HA: writes resumed; longest pause between acknowledged writes after the leader's kill: %v; %d acknowledged in all (%d after the kill), %d client switches",
		maxGap.Round(time.Millisecond), total, total-before, switches.Load())
	fmt.Printf("HA fault figure: longest write pause after killing the etcd leader: %v\n", maxGap.Round(time.Millisecond))
	if maxGap > 10*time.Second {
		t.Errorf("writes paused for %v after the leader's kill, want a few seconds", maxGap)
	}

	survivors := []string{}
	for _, n := range names {
		if n != leader {
			survivors = append(survivors, n)
		}
	}
	newLeader, _ := etcdLeader(t, dirs[survivors[0]])
	if newLeader == "" || newLeader == leader {
		t.Errorf("etcd leader after the kill: %q", newLeader)
	}
	checkAll := func(n string) {
		t.Helper()
		var list *corev1.ConfigMapList
		eventually(t, 30*time.Second, func() error {
			var err error
			list, err = clients[n].CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{})
			return err
		})
		present := map[string]bool{}
		for _, cm := range list.Items {
			present[cm.Name] = true
		}
		missing := 0
		for name := range acked {
			if !present[name] {
				missing++
				if missing <= 5 {
					t.Errorf("member %s: acknowledged ConfigMap %s missing", n, name)
				}
			}
		}
		t.Logf("member %s: %d of %d acknowledged ConfigMaps present (%d listed)", n, total-missing, total, len(list.Items))
		if missing > 0 {
			t.Errorf("member %s lost %d acknowledged ConfigMaps", n, missing)
		}
	}
	for _, n := range survivors {
		checkAll(n)
	}
	// The node failed over: its Lease was renewed after the kill, through a surviving member.
	eventually(t, 30*time.Second, func() error { return leaseRenewed(clients[survivors[0]], killedAt.Add(time.Second)) })
	t.Logf("the node renewed its Lease through another API server after the kill")
	members[survivors[0]].ok(t, "delete", "node", "ha-node")
	// The killed member restarts on its data dir (no join flags), rejoins and catches up.
	members[leader] = startServerT(t, dirs[leader], "--leave")
	cfg := members[leader].restConfig(t)
	clients[leader] = kubernetes.NewForConfigOrDie(cfg)
	checkAll(leader)
	if _, count := etcdLeader(t, dirs[leader]); count != 3 {
		t.Errorf("%d etcd members after the restart, want 3", count)
	}
	members[survivors[0]].ok(t, "delete", "namespace", ns, "--wait=false")
	// Started with --leave, it removes itself from etcd when stopped, and its data dir forgets
	// the membership.
	if err := members[leader].stop(); err != nil {
		t.Fatal(err)
	}
	if _, count := etcdLeader(t, dirs[survivors[0]]); count != 2 {
		t.Errorf("%d etcd members after %s left, want 2; its log:\n%s", count, leader, members[leader].logTail())
	}
	for _, f := range []string{"etcd-member.json", "etcd/member"} {
		if _, err := os.Stat(filepath.Join(dirs[leader], f)); !os.IsNotExist(err) {
			t.Errorf("%s still has %s after leaving (%v); its log:\n%s", leader, f, err, members[leader].logTail())
		}
	}
}
