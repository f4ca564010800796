package e2e

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// TestLocalNode runs real containers: `skiff up` with its local node (a private containerd, the
// loopback registry with the builtin images), driven by kubectl.
func TestLocalNode(t *testing.T) {
	dir := t.TempDir()
	s := startSkiffT(t, dir, "--agent=true", "--node-name=e2e-node", "--node-port=0",
		"--pod-cidr=10.244.210.0/24", "--images-src", moduleRoot(),
		// Its pods reach the API server (the operator of the admission subtest) through the
		// kubernetes Service, on a service range of its own.
		"--bind-address", "0.0.0.0", "--service-cluster-ip-range", "10.120.210.0/24")
	eventually(t, 90*time.Second, func() error {
		out := s.kubectl(t, "get", "node", "e2e-node", "--no-headers")
		if out.err != nil || !strings.Contains(out.stdout, " Ready ") {
			return fmt.Errorf("node e2e-node not Ready: %s%s", out.stdout, out.stderr)
		}
		return nil
	})
	addr, err := os.ReadFile(filepath.Join(dir, "registry.addr"))
	if err != nil {
		t.Fatal(err)
	}
	// The builtin busybox by its usual name (docker.io/library/busybox:latest).
	busybox := "busybox"
	ns := s.namespace(t)
	// The pods go before the cluster stops: containers outlive containerd, as with a kubelet.
	t.Cleanup(func() { s.kubectl(t, "delete", "pods", "--all", "-n", ns, "--timeout=60s") })

	s.ok(t, "run", "bb", "-n", ns, "--image="+busybox, "--restart=Never", "--", "sh", "-c", "echo hello from skiff; sleep 3600")
	s.ok(t, "wait", "-n", ns, "--for=condition=Ready", "pod/bb", "--timeout=90s")
	ip := s.ok(t, "get", "pod", "bb", "-n", ns, "-o", "jsonpath={.status.podIP}")
	if !strings.HasPrefix(ip, "10.244.210.") {
		t.Errorf("pod IP %q is not in the node's pod CIDR 10.244.210.0/24", ip)
	}
	if out := s.ok(t, "logs", "bb", "-n", ns); !strings.Contains(out, "hello from skiff") {
		t.Errorf("kubectl logs: %q", out)
	}
	if out := s.ok(t, "exec", "bb", "-n", ns, "--", "sh", "-c", "echo exec $((6*7))"); strings.TrimSpace(out) != "exec 42" {
		t.Errorf("kubectl exec: %q", out)
	}
	t.Run("agent port authorization", func(t *testing.T) {
		// The node's own HTTPS server, called directly: the admin gets through, the node's own
		// credential is refused (no nodes/proxy), a caller without a certificate gets 401.
		port := s.ok(t, "get", "node", "e2e-node", "-o", "jsonpath={.status.daemonEndpoints.kubeletEndpoint.Port}")
		logsURL := "https://127.0.0.1:" + port + "/containerLogs/" + ns + "/bb/bb"
		get := func(cfg *rest.Config) (int, string) {
			t.Helper()
			c, err := rest.HTTPClientFor(cfg)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := c.Get(logsURL)
			if err != nil {
				t.Fatalf("GET %s: %v", logsURL, err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(b)
		}
		admin := s.restConfig(t)
		if code, body := get(admin); code != http.StatusOK || !strings.Contains(body, "hello from skiff") {
			t.Errorf("admin: %d %q", code, body)
		}
		nodeCfg, err := clientcmd.BuildConfigFromFlags("", filepath.Join(dir, "node.kubeconfig"))
		if err != nil {
			t.Fatal(err)
		}
		if code, body := get(nodeCfg); code != http.StatusForbidden || body != "Forbidden (user=system:node:e2e-node, verb=get, resource=nodes, subresource=proxy)" {
			t.Errorf("the node's credential: %d %q", code, body)
		}
		anon := rest.AnonymousClientConfig(admin)
		if code, body := get(anon); code != http.StatusUnauthorized || body != "Unauthorized" {
			t.Errorf("no credential: %d %q", code, body)
		}
	})

	s.ok(t, "run", "crash", "-n", ns, "--image="+busybox, "--restart=Always", "--", "sh", "-c", "echo dying; exit 1")
	eventually(t, 90*time.Second, func() error {
		out := s.ok(t, "get", "pod", "crash", "-n", ns, "-o",
			`jsonpath={.status.containerStatuses[0].restartCount} {.status.containerStatuses[0].state.waiting.reason}`)
		f := strings.Fields(out)
		if len(f) != 2 || f[0] == "0" || f[1] != "CrashLoopBackOff" {
			return fmt.Errorf("crash pod: %q, want restarts > 0 and CrashLoopBackOff", out)
		}
		return nil
	})
	if out := s.ok(t, "get", "pod", "crash", "-n", ns); !strings.Contains(out, "CrashLoopBackOff") {
		t.Errorf("kubectl get pod crash: %s", out)
	}

	s.ok(t, "run", "nosuch", "-n", ns, "--image="+strings.TrimSpace(string(addr))+"/skiff/nosuch:1", "--restart=Never")
	eventually(t, 60*time.Second, func() error {
		out := s.ok(t, "get", "pod", "nosuch", "-n", ns, "-o", "jsonpath={.status.containerStatuses[0].state.waiting.reason}")
		if out != "ErrImagePull" && out != "ImagePullBackOff" {
			return fmt.Errorf("bad image: waiting reason %q", out)
		}
		return nil
	})

	// An image built from a directory with `skiff image build` runs as a pod.
	root := filepath.Join(t.TempDir(), "rootfs")
	if err := os.MkdirAll(filepath.Join(root, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	bin, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Fatalf("busybox-static is installed by hack/install-runtime.sh: %v", err)
	}
	if err := os.WriteFile(filepath.Join(root, "bin", "busybox"), bin, 0o755); err != nil {
		t.Fatal(err)
	}
	ref := runSkiff(t, "image", "build", "--data-dir", dir, "--entrypoint=/bin/busybox,echo,built by skiff image", root, "e2e/echo:v1")
	s.ok(t, "run", "built", "-n", ns, "--image="+strings.TrimSpace(ref), "--restart=Never")
	eventually(t, 60*time.Second, func() error {
		if phase := s.ok(t, "get", "pod", "built", "-n", ns, "-o", "jsonpath={.status.phase}"); phase != "Succeeded" {
			return fmt.Errorf("pod built: phase %q", phase)
		}
		return nil
	})
	if out := s.ok(t, "logs", "built", "-n", ns); strings.TrimSpace(out) != "built by skiff image" {
		t.Errorf("logs of the built image: %q", out)
	}

	t.Run("jobs and cronjobs", func(t *testing.T) { testBatch(t, s, ns, busybox) })
	t.Run("statefulset", func(t *testing.T) { testStatefulSet(t, s, ns, busybox, "bb") })
	t.Run("storage", func(t *testing.T) { testStorage(t, s, ns, busybox) })
	t.Run("admission", func(t *testing.T) { testAdmission(t, s, dir) })
	t.Run("network policy", func(t *testing.T) { testNetworkPolicy(t, s, "e2e-node", busybox) })
	t.Run("ingress", func(t *testing.T) { testIngress(t, s, ns, "e2e-node") })

	// Its pods' service-account tokens were fetched without a FailedMount warning, and `skiff
	// up` said what the node was doing until it was Ready.
	expectNoEvent(t, s, ns, "FailedMount")
	expectNodeProgress(t, s, "e2e-node")

	s.ok(t, "delete", "pod", "bb", "-n", ns, "--grace-period=1", "--timeout=60s")
	if out := s.kubectl(t, "get", "pod", "bb", "-n", ns); out.err == nil {
		t.Errorf("pod bb still exists after delete:\n%s", out)
	}
}

// runSkiff runs the skiff binary and returns its stdout.
func runSkiff(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command(skiffBin, args...).Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("skiff %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	return string(out)
}

// TestSecondNodeJoins joins a second real node with a token (`skiff agent`) and runs a pod on it:
// its logs and exec go through the API server to that node's own server.
func TestSecondNodeJoins(t *testing.T) {
	longScenario(t)
	dir := t.TempDir()
	// Node leases are renewed every 10 s: a 15 s grace period notices a dead node quickly.
	s := startSkiffT(t, dir, "--agent=true", "--node-name=join-n1", "--node-port=0",
		"--pod-cidr=10.244.213.0/24", "--images-src", moduleRoot(),
		"--node-monitor-grace-period=15s", "--node-monitor-period=1s")
	eventually(t, 90*time.Second, func() error {
		if _, err := os.Stat(filepath.Join(dir, "registry.addr")); err != nil {
			return err
		}
		return nil
	})
	addr, err := os.ReadFile(filepath.Join(dir, "registry.addr"))
	if err != nil {
		t.Fatal(err)
	}
	registry := strings.TrimSpace(string(addr))
	token := strings.TrimSpace(runSkiff(t, "token", "create", "--data-dir", dir))
	server := s.ok(t, "config", "view", "--minify", "-o", "jsonpath={.clusters[0].cluster.server}")

	agentDir := t.TempDir()
	logFile, err := os.Create(filepath.Join(agentDir, "agent.log"))
	if err != nil {
		t.Fatal(err)
	}
	var agent *exec.Cmd
	var exited chan error
	startAgent := func() {
		agent = exec.Command(skiffBin, "agent", "--server", server, "--token", token, "--node-name=join-n2",
			"--data-dir", agentDir, "--node-port=0", "--pod-cidr=10.244.214.0/24", "--registry", registry)
		agent.Stdout, agent.Stderr = logFile, logFile
		if err := agent.Start(); err != nil {
			t.Fatal(err)
		}
		exited = make(chan error, 1)
		go func() { exited <- agent.Wait() }()
	}
	startAgent()
	ns := s.namespace(t)
	t.Cleanup(func() {
		// The namespace first: its controllers' pods must not be recreated, and containers outlive
		// containerd. Then the agent, cleanly.
		s.kubectl(t, "delete", "namespace", ns, "--timeout=120s")
		_ = agent.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = agent.Process.Kill()
			<-exited
		}
		logFile.Close()
	})
	nodeReady := func(name string) func() error {
		return func() error {
			out := s.kubectl(t, "get", "node", name, "--no-headers")
			if out.err != nil || !strings.Contains(out.stdout, " Ready ") {
				log, _ := os.ReadFile(filepath.Join(agentDir, "agent.log"))
				return fmt.Errorf("node %s not Ready: %s%s\nagent log tail: %s", name, out.stdout, out.stderr, tailOf(string(log), 1500))
			}
			return nil
		}
	}
	eventually(t, 120*time.Second, nodeReady("join-n2"))
	if who := s.ok(t, "--kubeconfig", filepath.Join(agentDir, "agent.kubeconfig"), "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"); who != "system:node:join-n2" {
		t.Errorf("the agent's credential is %q, want system:node:join-n2", who)
	}
	s.okIn(t, fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: on-n2}
spec:
  nodeSelector: {kubernetes.io/hostname: join-n2}
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: %s/skiff/busybox:latest
    command: [sh, -c, "echo hello from the second node; sleep 3600"]
`, registry), "apply", "-n", ns, "-f", "-")
	s.ok(t, "wait", "-n", ns, "--for=condition=Ready", "pod/on-n2", "--timeout=90s")
	if ip := s.ok(t, "get", "pod", "on-n2", "-n", ns, "-o", "jsonpath={.spec.nodeName} {.status.podIP}"); !strings.HasPrefix(ip, "join-n2 10.244.214.") {
		t.Errorf("pod on the second node: %q", ip)
	}
	if out := s.ok(t, "logs", "on-n2", "-n", ns); !strings.Contains(out, "hello from the second node") {
		t.Errorf("kubectl logs through the second node: %q", out)
	}
	if out := s.ok(t, "exec", "on-n2", "-n", ns, "--", "hostname"); strings.TrimSpace(out) != "on-n2" {
		t.Errorf("kubectl exec through the second node: %q", out)
	}

	// kill -9 the second agent: its node goes NotReady, its ReplicaSet pod comes back on the first
	// node with real containers; the agent, restarted, takes its node back.
	s.okIn(t, fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: mobile}
spec:
  replicas: 2
  selector: {matchLabels: {app: mobile}}
  template:
    metadata: {labels: {app: mobile}}
    spec:
      terminationGracePeriodSeconds: 1
      tolerations:
      - {key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute, tolerationSeconds: 2}
      - {key: node.kubernetes.io/not-ready, operator: Exists, effect: NoExecute, tolerationSeconds: 2}
      containers:
      - {name: main, image: %s/skiff/busybox:latest, command: [sleep, "3600"]}
`, registry), "apply", "-n", ns, "-f", "-")
	s.ok(t, "rollout", "status", "-n", ns, "deploy/mobile", "--timeout=90s")
	onN2 := false
	for _, node := range podNodes(t, s, ns, "app=mobile") {
		onN2 = onN2 || node == "join-n2"
	}
	if !onN2 {
		t.Fatalf("the Deployment's pods were not spread onto join-n2: %v", podNodes(t, s, ns, "app=mobile"))
	}
	_ = agent.Process.Kill()
	<-exited
	eventually(t, 60*time.Second, func() error {
		if out := s.ok(t, "get", "node", "join-n2", "--no-headers"); !strings.Contains(out, "NotReady") {
			return fmt.Errorf("join-n2 after kill -9 of its agent: %s", out)
		}
		return nil
	})
	eventually(t, 90*time.Second, func() error {
		running := 0
		for pod, node := range podNodes(t, s, ns, "app=mobile") {
			if node == "join-n2" {
				return fmt.Errorf("pod %s still on the dead node", pod)
			}
			if phase := s.ok(t, "get", "pod", pod, "-n", ns, "-o", "jsonpath={.status.phase}"); phase == "Running" {
				running++
			}
		}
		if running != 2 {
			return fmt.Errorf("%d of 2 pods running on join-n1", running)
		}
		return nil
	})
	startAgent() // no token needed any more: the agent reuses its own credential
	eventually(t, 120*time.Second, nodeReady("join-n2"))
}

func tailOf(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
