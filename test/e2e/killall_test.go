package e2e

import (
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/skiff-dev/skiff/nodeagent/podnet"
	"github.com/skiff-dev/skiff/nodeagent/runtime/containerd"
)

// cleanDeployment is a Deployment of skiff-http (each pod answers its name) with a readiness
// probe, and its ClusterIP Service.
func cleanDeployment(name string, replicas int, image string) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: %[1]s}
spec:
  replicas: %[2]d
  selector: {matchLabels: {app: %[1]s}}
  template:
    metadata: {labels: {app: %[1]s}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: web
        image: %[3]s
        ports: [{containerPort: 8080}]
        readinessProbe:
          httpGet: {path: /healthz, port: 8080}
          periodSeconds: 1
---
apiVersion: v1
kind: Service
metadata: {name: %[1]s}
spec:
  selector: {app: %[1]s}
  ports: [{port: 80, targetPort: 8080}]
`, name, replicas, image)
}

// shimsUnder returns the containerd shims whose containerd lives under one of dirs.
func shimsUnder(t *testing.T, dirs ...string) []string {
	t.Helper()
	procs, err := podnet.ListProcs()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range procs {
		for _, d := range dirs {
			if a := p.ShimAddress(); a != "" && strings.HasPrefix(a, d+"/") {
				out = append(out, fmt.Sprintf("%d %s", p.Pid, strings.Join(p.Args, " ")))
			}
		}
	}
	return out
}

// TestLeftoverPodsAndKillall: pods outlive their cluster; a new cluster on another data dir with
// the same node name and pod CIDR (the same bridge and subnet, a fresh IPAM store) removes them
// at start, so its Service and probes reach only its own pods. Then `skiff killall --run-dir`
// removes every shim, namespace, the bridge and the proxy table of the run dir's nodes, and
// `skiff reset` wipes a data dir.
func TestLeftoverPodsAndKillall(t *testing.T) {
	longScenario(t)
	const node, podCIDR = "clean-a", "10.244.180.0/24"
	runDir, dir1, dir2, dir3 := t.TempDir(), t.TempDir(), t.TempDir(), t.TempDir()
	// Whatever the test leaves behind goes before its dirs do (cleanups run last-in first-out:
	// after the clusters stop, before the temporary dirs are removed).
	t.Cleanup(func() {
		if out, err := exec.Command(skiffBin, "killall", "--run-dir", runDir).CombinedOutput(); err != nil {
			t.Errorf("cleanup: skiff killall: %v\n%s", err, out)
		}
	})
	up := func(dir string, nodeName ...string) (*skiff, string) {
		node := node
		if len(nodeName) > 0 {
			node = nodeName[0]
		}
		s := startSkiffT(t, dir, "--agent=true", "--node-name="+node, "--node-port=0", "--pod-cidr="+podCIDR,
			"--images-src", moduleRoot(), "--run-dir", runDir, "--service-cluster-ip-range=10.181.0.0/16")
		eventually(t, 90*time.Second, func() error {
			out := s.kubectl(t, "get", "node", node, "--no-headers")
			if out.err != nil || !strings.Contains(out.stdout, " Ready ") {
				return fmt.Errorf("node %s not Ready: %s%s", node, out.stdout, out.stderr)
			}
			return nil
		})
		addr, err := os.ReadFile(filepath.Join(dir, "registry.addr"))
		if err != nil {
			t.Fatal(err)
		}
		return s, strings.TrimSpace(string(addr)) + "/skiff/skiff-http:latest"
	}
	podIPs := func(s *skiff, app string) map[string]string {
		out := s.ok(t, "get", "pods", "-l", "app="+app, "-o", `jsonpath={range .items[*]}{.metadata.name} {.status.podIP}{"\n"}{end}`)
		ips := map[string]string{}
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			if f := strings.Fields(l); len(f) == 2 {
				ips[f[0]] = f[1]
			}
		}
		return ips
	}

	// The first cluster: two pods and a Service, then it stops; its pods keep running.
	s1, image := up(dir1)
	s1.okIn(t, cleanDeployment("old", 2, image), "apply", "-f", "-")
	s1.ok(t, "rollout", "status", "deploy/old", "--timeout=90s")
	oldIPs := podIPs(s1, "old")
	if err := s1.stop(); err != nil {
		t.Fatal(err)
	}
	for name, ip := range oldIPs {
		if got, err := svcGet("http://"+ip+":8080/", 2*time.Second); err != nil || got != name {
			t.Fatalf("the first cluster's pod %s (%s) after its cluster stopped: %q, %v; want it still answering", name, ip, got, err)
		}
	}

	// The second cluster: same node name and pod CIDR, new data dir.
	s2, image := up(dir2)
	s2.okIn(t, cleanDeployment("new", 2, image), "apply", "-f", "-")
	s2.ok(t, "rollout", "status", "deploy/new", "--timeout=90s")
	newIPs := podIPs(s2, "new")
	if len(newIPs) != 2 {
		t.Fatalf("new pods: %v", newIPs)
	}
	for name, ip := range newIPs {
		for i := 0; i < 3; i++ {
			if got, err := svcGet("http://"+ip+":8080/", 2*time.Second); err != nil || got != name {
				t.Errorf("GET pod %s at %s: %q, %v; want the pod's own name", name, ip, got, err)
			}
		}
	}
	clusterIP := s2.ok(t, "get", "svc", "new", "-o", "jsonpath={.spec.clusterIP}")
	// Endpoints are programmed within a second of readiness: wait for the Service to answer once.
	eventually(t, 20*time.Second, func() error {
		_, err := svcGet("http://"+clusterIP+"/", time.Second)
		return err
	})
	hits := svcHits("http://"+clusterIP+"/", 20)
	for name, n := range hits {
		if _, ok := newIPs[name]; !ok {
			t.Errorf("the Service %s answered %q %d times: only the new pods %v may answer (all answers: %v)", clusterIP, name, n, slices.Sorted(maps.Keys(newIPs)), hits)
		}
	}
	// One line on skiff up's output; the details in its log file.
	log, _ := os.ReadFile(s2.logPath)
	if i := strings.Index(string(log), "leftover pod sandboxes of another cluster"); i < 0 {
		t.Errorf("the second cluster did not report the leftover sandboxes; log:\n%s", s2.logTail())
	} else {
		start := strings.LastIndex(string(log[:i]), "\n") + 1
		line, _, _ := strings.Cut(string(log[start:]), "\n")
		t.Logf("the second cluster's node: %s", line)
		if !strings.Contains(line, "removed 2 leftover") {
			t.Errorf("want 2 leftover sandboxes reported: %s", line)
		}
	}
	bridge := containerd.BridgeNameFor(node)
	procs, err := podnet.ListProcs()
	if err != nil {
		t.Fatal(err)
	}
	attached, err := podnet.Attached(bridge, procs)
	if err != nil {
		t.Fatal(err)
	}
	if len(attached) != 2 {
		t.Errorf("namespaces on bridge %s: %v, want the 2 new pods'", bridge, attached)
	}
	var netnsPaths []string
	for _, n := range attached {
		netnsPaths = append(netnsPaths, n.Path)
	}
	// reset refuses a data dir that a skiff still serves.
	if out, err := exec.Command(skiffBin, "reset", "--data-dir", dir2, "--run-dir", runDir).CombinedOutput(); err == nil ||
		!strings.Contains(string(out), "still serves") {
		t.Errorf("skiff reset of a served data dir: %v\n%s", err, out)
	}
	if err := s2.stop(); err != nil {
		t.Fatal(err)
	}

	// A restart on the same data dir adopts its pods: they are the node's own, not swept.
	s2, _ = up(dir2)
	s2.ok(t, "rollout", "status", "deploy/new", "--timeout=60s")
	if got := podIPs(s2, "new"); !maps.Equal(got, newIPs) {
		t.Errorf("pods after the restart: %v, want the same %v", got, newIPs)
	}
	for name, ip := range newIPs {
		if got, err := svcGet("http://"+ip+":8080/", 2*time.Second); err != nil || got != name {
			t.Errorf("GET pod %s at %s after the restart: %q, %v", name, ip, got, err)
		}
	}
	log, _ = os.ReadFile(s2.logPath)
	if n := strings.Count(string(log), "leftover pod sandboxes of another cluster"); n != 1 {
		t.Errorf("the restarted node reported leftovers: %d reports in its log, want only the first start's", n)
	}
	if err := s2.stop(); err != nil {
		t.Fatal(err)
	}

	// A node of another name with the same pod CIDR: the first bridge, with the second
	// cluster's pods, would take the host's traffic to the subnet; it goes with them.
	s3, image := up(dir3, "clean-b")
	s3.okIn(t, cleanDeployment("third", 1, image), "apply", "-f", "-")
	s3.ok(t, "rollout", "status", "deploy/third", "--timeout=90s")
	for name, ip := range podIPs(s3, "third") {
		if got, err := svcGet("http://"+ip+":8080/", 2*time.Second); err != nil || got != name {
			t.Errorf("GET pod %s at %s: %q, %v; want the pod's own name", name, ip, got, err)
		}
	}
	if podnet.LinkExists(bridge) {
		t.Errorf("the first node's bridge %s, on the same pod subnet, is still there", bridge)
	}
	if procs, err = podnet.ListProcs(); err != nil {
		t.Fatal(err)
	}
	if attached, err = podnet.Attached(containerd.BridgeNameFor("clean-b"), procs); err != nil || len(attached) != 1 {
		t.Errorf("namespaces on clean-b's bridge: %v, %v; want its pod's", attached, err)
	}
	for _, n := range attached {
		netnsPaths = append(netnsPaths, n.Path)
	}
	if err := s3.stop(); err != nil {
		t.Fatal(err)
	}

	// killall: nothing of the run dir's nodes remains.
	start := time.Now()
	out, err := exec.Command(skiffBin, "killall", "--run-dir", runDir).CombinedOutput()
	if err != nil {
		t.Fatalf("skiff killall: %v\n%s", err, out)
	}
	t.Logf("skiff killall (%v):\n%s", time.Since(start).Round(time.Millisecond), out)
	if left := shimsUnder(t, dir1, dir2, dir3); len(left) > 0 {
		t.Errorf("shims left after killall: %v", left)
	}
	for _, b := range []string{bridge, containerd.BridgeNameFor("clean-b")} {
		if podnet.LinkExists(b) {
			t.Errorf("bridge %s left after killall", b)
		}
	}
	for _, p := range netnsPaths {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("network namespace %s left after killall", p)
		}
	}
	for _, n := range []string{node, "clean-b"} {
		for _, table := range []string{"skiff-proxy-" + n, "skiff-netpol-" + n} {
			if _, err := exec.Command("nft", "list", "table", "ip", table).CombinedOutput(); err == nil {
				t.Errorf("nftables table %s left after killall", table)
			}
		}
	}
	if entries, _ := os.ReadDir(runDir); len(entries) != 0 {
		t.Errorf("node records left in the run dir: %v", entries)
	}
	for _, ip := range []string{"10.244.180.2", "10.244.180.3"} {
		if got, err := svcGet("http://"+ip+":8080/", 500*time.Millisecond); err == nil {
			t.Errorf("%s still answers after killall: %q", ip, got)
		}
	}

	// reset wipes a data dir; a dir that is not Skiff's is refused.
	out, err = exec.Command(skiffBin, "reset", "--data-dir", dir2, "--run-dir", runDir).CombinedOutput()
	if err != nil {
		t.Fatalf("skiff reset: %v\n%s", err, out)
	}
	if _, err := os.Stat(dir2); !os.IsNotExist(err) {
		t.Errorf("data dir %s after skiff reset: %v", dir2, err)
	}
	if out, err := exec.Command(skiffBin, "reset", "--data-dir", t.TempDir(), "--run-dir", runDir).CombinedOutput(); err == nil ||
		!strings.Contains(string(out), "does not look like a Skiff data dir") {
		t.Errorf("skiff reset of an empty dir: %v\n%s", err, out)
	}
}
