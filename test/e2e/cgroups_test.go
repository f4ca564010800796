package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/skiff-dev/skiff/nodeagent/cm"
)

// cgroupFile reads a file of a cgroup on this machine: controller is the v1 hierarchy (cpu,
// memory, pids), ignored on v2 where v1Name is replaced by v2Name.
func cgroupFile(controller, cgroup, v1Name, v2Name string) (string, error) {
	p := filepath.Join("/sys/fs/cgroup", controller, cgroup, v1Name)
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		p = filepath.Join("/sys/fs/cgroup", cgroup, v2Name)
	}
	b, err := os.ReadFile(p)
	return strings.TrimSpace(string(b)), err
}

// TestPodCgroupsOnRealNode is the node's resource enforcement (issue 15) on a real node: pods
// run in pod cgroups under /skiff/<node>/kubepods (QoS cgroups as the kubelet's) with the
// pod-level limits of upstream's ResourceConfigForPod; a container over its memory limit is
// killed by the kernel, reported OOMKilled (137) and restarted; a deleted pod's cgroup goes.
func TestPodCgroupsOnRealNode(t *testing.T) {
	longScenario(t)
	const node = "cgroups-node"
	s, ns := startCgroupNodeT(t, node, "10.244.235.0/24")
	s.okIn(t, `apiVersion: v1
kind: Pod
metadata: {name: limited}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: busybox
    command: [sleep, "3600"]
    resources: {requests: {cpu: 100m, memory: 32Mi}, limits: {cpu: 200m, memory: 64Mi}}
---
apiVersion: v1
kind: Pod
metadata: {name: oom}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: busybox
    command: [sh, -c, "head -c 100m /dev/zero | tail"]
    resources: {limits: {cpu: 100m, memory: 32Mi}}
`, "apply", "-n", ns, "-f", "-")
	uid := func(name string) string {
		return s.ok(t, "get", "pod", name, "-n", ns, "-o", "jsonpath={.metadata.uid}")
	}
	limited := "/skiff/" + node + "/kubepods/burstable/pod" + uid("limited")
	oom := "/skiff/" + node + "/kubepods/pod" + uid("oom") // Guaranteed: under kubepods

	t.Run("the pod cgroup has the pod-level limits while the pod runs", func(t *testing.T) {
		s.ok(t, "wait", "-n", ns, "--for=condition=Ready", "pod/limited", "--timeout=90s")
		for _, f := range []struct{ controller, v1, v2, want string }{
			{"memory", "memory.limit_in_bytes", "memory.max", "67108864"},
			{"cpu", "cpu.cfs_quota_us", "cpu.max", "20000"},
			{"cpu", "cpu.shares", "cpu.weight", "102"},
		} {
			got, err := cgroupFile(f.controller, limited, f.v1, f.v2)
			if err != nil {
				t.Fatalf("pod cgroup: %v", err)
			}
			if _, v2 := os.Stat("/sys/fs/cgroup/cgroup.controllers"); v2 == nil {
				continue // the values differ on v2 (cpu.weight 4, cpu.max "20000 100000"): read, not compared
			}
			if got != f.want {
				t.Errorf("%s of %s = %s, want %s", f.v1, limited, got, f.want)
			}
		}
		// The runtime put the sandbox and the container under it (a cgroup each).
		dir := filepath.Join("/sys/fs/cgroup/memory", limited)
		if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
			dir = filepath.Join("/sys/fs/cgroup", limited)
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var children int
		for _, e := range entries {
			if e.IsDir() {
				children++
			}
		}
		if children != 2 {
			t.Errorf("%s has %d cgroups under it, want 2 (sandbox and container)", dir, children)
		}
		if got, err := cgroupFile("memory", oom, "memory.limit_in_bytes", "memory.max"); err != nil || got != "33554432" {
			t.Errorf("memory limit of the Guaranteed pod's cgroup %s = %q (%v), want 33554432", oom, got, err)
		}
	})

	t.Run("a container over its memory limit is OOMKilled and restarted", func(t *testing.T) {
		eventually(t, 120*time.Second, func() error {
			out := s.ok(t, "get", "pod", "oom", "-n", ns, "-o",
				"jsonpath={.status.containerStatuses[0].restartCount}|{.status.containerStatuses[0].lastState.terminated.reason}|{.status.containerStatuses[0].lastState.terminated.exitCode}")
			parts := strings.Split(out, "|")
			if len(parts) != 3 || parts[0] == "0" || parts[0] == "" || parts[1] != "OOMKilled" || parts[2] != "137" {
				return fmt.Errorf("restartCount|lastState reason|exit code: %q", out)
			}
			return nil
		})
	})

	t.Run("a deleted pod's cgroup is removed", func(t *testing.T) {
		s.ok(t, "delete", "pod", "limited", "oom", "-n", ns, "--timeout=60s")
		eventually(t, 30*time.Second, func() error {
			for _, c := range []string{limited, oom} {
				for _, h := range []string{"memory", "cpu", "pids", "cpuset", ""} {
					if _, err := os.Stat(filepath.Join("/sys/fs/cgroup", h, c)); err == nil {
						return fmt.Errorf("%s still in /sys/fs/cgroup/%s", c, h)
					}
				}
			}
			return nil
		})
	})
}

// startCgroupNodeT starts a real node whose cgroups the test reads (root only) and a namespace
// on it. After the node stops (cleanups run last registered first) its kubepods and QoS
// cgroups stay, as the kubelet's do, until `skiff killall`; the test removes them.
func startCgroupNodeT(t *testing.T, node, podCIDR string) (*skiff, string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (the node's cgroups)")
	}
	t.Cleanup(func() {
		if _, err := cm.RemoveNode("/sys/fs/cgroup", cm.NodeRoot(node)); err != nil {
			t.Errorf("removing the node's cgroups: %v", err)
		}
	})
	s := startNodeT(t, t.TempDir(), node, podCIDR)
	ns := s.namespace(t)
	t.Cleanup(func() { s.kubectl(t, "delete", "namespace", ns, "--timeout=60s") })
	return s, ns
}
