package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/skiff-dev/skiff/test/poll"
)

// TestPodResizeOnRealNode is in-place pod resize (pods/resize, issue 15) on a real node:
// `kubectl patch --subresource resize` changes a running pod's cpu and memory; the container
// with the default NotRequired policy keeps running (restartCount 0) with the new limits in its
// cgroup and its pod's, the one whose cpu policy is RestartContainer is restarted; the status
// shows the new resources and allocatedResources; a resize beyond the node's allocatable is
// refused by the API server (PodResizeValidator) and one that does not fit beside the node's
// other pods stays PodResizePending/Deferred.
func TestPodResizeOnRealNode(t *testing.T) {
	longScenario(t)
	const node = "resize-node"
	s, ns := startCgroupNodeT(t, node, "10.244.242.0/24")
	s.okIn(t, `apiVersion: v1
kind: Pod
metadata: {name: resizable}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: busybox
    command: [sleep, "3600"]
    resources: {requests: {cpu: 100m, memory: 32Mi}, limits: {cpu: 200m, memory: 64Mi}}
  - name: restarter
    image: busybox
    command: [sleep, "3600"]
    resizePolicy: [{resourceName: cpu, restartPolicy: RestartContainer}]
    resources: {requests: {cpu: 100m, memory: 32Mi}, limits: {cpu: 200m, memory: 64Mi}}
`, "apply", "-n", ns, "-f", "-")
	s.ok(t, "wait", "-n", ns, "--for=condition=Ready", "pod/resizable", "--timeout=90s")
	getPod := func(t *testing.T) *corev1.Pod {
		var p corev1.Pod
		if err := json.Unmarshal([]byte(s.ok(t, "get", "pod", "resizable", "-n", ns, "-o", "json")), &p); err != nil {
			t.Fatal(err)
		}
		return &p
	}
	status := func(p *corev1.Pod, name string) *corev1.ContainerStatus {
		for i := range p.Status.ContainerStatuses {
			if p.Status.ContainerStatuses[i].Name == name {
				return &p.Status.ContainerStatuses[i]
			}
		}
		t.Fatalf("no status of container %s", name)
		return nil
	}
	condition := func(p *corev1.Pod, ct corev1.PodConditionType) *corev1.PodCondition {
		for i := range p.Status.Conditions {
			if p.Status.Conditions[i].Type == ct {
				return &p.Status.Conditions[i]
			}
		}
		return nil
	}
	before := getPod(t)
	podCgroup := "/skiff/" + node + "/kubepods/burstable/pod" + string(before.UID)
	if r := status(before, "main").Resources; r == nil || r.Limits.Cpu().String() != "200m" {
		t.Fatalf("status resources before the resize: %+v", r)
	}

	t.Run("resize in place, restart for RestartContainer", func(t *testing.T) {
		s.ok(t, "patch", "pod", "resizable", "-n", ns, "--subresource", "resize", "--patch",
			`{"spec":{"containers":[{"name":"main","resources":{"requests":{"cpu":"200m"},"limits":{"cpu":"400m","memory":"96Mi"}}},`+
				`{"name":"restarter","resources":{"limits":{"cpu":"300m"}}}]}}`)
		var p *corev1.Pod
		poll.Until(t, 60*time.Second, "the resize actuated", func() error {
			p = getPod(t)
			main, restarter := status(p, "main"), status(p, "restarter")
			switch {
			case p.Generation != 2 || p.Status.ObservedGeneration != 2:
				return fmt.Errorf("generation %d observed %d", p.Generation, p.Status.ObservedGeneration)
			case condition(p, corev1.PodResizeInProgress) != nil || condition(p, corev1.PodResizePending) != nil:
				return fmt.Errorf("conditions %+v", p.Status.Conditions)
			case main.Resources == nil || main.Resources.Limits.Cpu().String() != "400m" || main.Resources.Limits.Memory().String() != "96Mi":
				return fmt.Errorf("main resources %+v", main.Resources)
			case restarter.Resources == nil || restarter.Resources.Limits.Cpu().String() != "300m" || restarter.State.Running == nil:
				return fmt.Errorf("restarter %+v", restarter)
			}
			return nil
		})
		main, restarter := status(p, "main"), status(p, "restarter")
		if main.RestartCount != 0 || main.ContainerID != status(before, "main").ContainerID {
			t.Errorf("main restarted (NotRequired): restartCount %d, %s -> %s", main.RestartCount, status(before, "main").ContainerID, main.ContainerID)
		}
		if restarter.RestartCount != 1 {
			t.Errorf("restarter restartCount %d, want 1 (RestartContainer)", restarter.RestartCount)
		}
		if q := main.AllocatedResources[corev1.ResourceCPU]; q.String() != "200m" {
			t.Errorf("main allocatedResources %v", main.AllocatedResources)
		}
		if _, v2 := os.Stat("/sys/fs/cgroup/cgroup.controllers"); v2 == nil {
			t.Log("cgroup v2: values not compared")
			return
		}
		id := strings.TrimPrefix(main.ContainerID, "containerd://")
		for _, f := range []struct{ controller, cgroup, file, want string }{
			{"cpu", podCgroup, "cpu.cfs_quota_us", "70000"},                    // 400m + 300m
			{"memory", podCgroup, "memory.limit_in_bytes", "167772160"},        // 96Mi + 64Mi
			{"cpu", podCgroup, "cpu.shares", "307"},                            // 200m + 100m
			{"cpu", filepath.Join(podCgroup, id), "cpu.cfs_quota_us", "40000"}, // main: 400m
			{"memory", filepath.Join(podCgroup, id), "memory.limit_in_bytes", "100663296"},
			{"cpu", filepath.Join(podCgroup, id), "cpu.shares", "204"},
		} {
			got, err := cgroupFile(f.controller, f.cgroup, f.file, f.file)
			if err != nil || got != f.want {
				t.Errorf("%s of %s = %q (%v), want %s", f.file, f.cgroup, got, err, f.want)
			}
		}
	})

	t.Run("RestartContainer with restartPolicy OnFailure and a sidecar", func(t *testing.T) {
		s.okIn(t, `apiVersion: v1
kind: Pod
metadata: {name: onfailure}
spec:
  terminationGracePeriodSeconds: 1
  restartPolicy: OnFailure
  initContainers:
  - name: c1-init
    image: busybox
    command: [sleep, "3600"]
    restartPolicy: Always
    resizePolicy: [{resourceName: cpu, restartPolicy: RestartContainer}, {resourceName: memory, restartPolicy: RestartContainer}]
    resources: {requests: {cpu: 20m, memory: 35Mi}, limits: {cpu: 20m, memory: 35Mi}}
  containers:
  - name: c1
    image: busybox
    command: [sleep, "3600"]
    resizePolicy: [{resourceName: cpu, restartPolicy: RestartContainer}, {resourceName: memory, restartPolicy: RestartContainer}]
    resources: {requests: {cpu: 20m, memory: 35Mi}, limits: {cpu: 20m, memory: 35Mi}}
`, "apply", "-n", ns, "-f", "-")
		s.ok(t, "wait", "-n", ns, "--for=condition=Ready", "pod/onfailure", "--timeout=90s")
		s.ok(t, "patch", "pod", "onfailure", "-n", ns, "--subresource", "resize", "--patch",
			`{"spec":{"containers":[{"name":"c1","resources":{"requests":{"memory":"40Mi"},"limits":{"memory":"40Mi"}}}]}}`)
		// As upstream's WaitForPodResizeActuation: once the new generation is observed with no
		// resize condition and the pod is Ready, the resize must be done (the agent writes the
		// status of a new generation only after allocating the resize).
		var p corev1.Pod
		poll.Until(t, 45*time.Second, "the resize observed", func() error {
			if err := json.Unmarshal([]byte(s.ok(t, "get", "pod", "onfailure", "-n", ns, "-o", "json")), &p); err != nil {
				return err
			}
			if p.Status.ObservedGeneration < p.Generation || condition(&p, corev1.PodResizeInProgress) != nil ||
				condition(&p, corev1.PodResizePending) != nil || condition(&p, corev1.PodReady) == nil ||
				condition(&p, corev1.PodReady).Status != corev1.ConditionTrue {
				return fmt.Errorf("observedGeneration %d of %d, conditions %+v", p.Status.ObservedGeneration, p.Generation, p.Status.Conditions)
			}
			return nil
		})
		if c := p.Status.ContainerStatuses[0]; c.RestartCount != 1 || c.AllocatedResources.Memory().String() != "40Mi" ||
			c.Resources == nil || c.Resources.Limits.Memory().String() != "40Mi" {
			t.Errorf("c1 after the resize: restartCount %d allocated %v resources %+v", c.RestartCount, c.AllocatedResources, c.Resources)
		}
	})

	t.Run("beyond the node's allocatable: refused", func(t *testing.T) {
		errOut := s.fails(t, "", "patch", "pod", "resizable", "-n", ns, "--subresource", "resize", "--patch",
			`{"spec":{"containers":[{"name":"main","resources":{"requests":{"cpu":"1000"},"limits":{"cpu":"1000"}}}]}}`)
		if !strings.Contains(errOut, "node didn't have enough allocatable resources: cpu, requested: ") {
			t.Errorf("kubectl: %s", errOut)
		}
	})

	t.Run("beside the other pods: deferred", func(t *testing.T) {
		alloc := resource.MustParse(s.ok(t, "get", "node", node, "-o", "jsonpath={.status.allocatable.cpu}"))
		hogCPU := alloc.MilliValue() / 2
		s.okIn(t, fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: hog}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - {name: main, image: busybox, command: [sleep, "3600"], resources: {requests: {cpu: %dm}}}
`, hogCPU), "apply", "-n", ns, "-f", "-")
		s.ok(t, "wait", "-n", ns, "--for=condition=Ready", "pod/hog", "--timeout=90s")
		// main's request up to what the node has beside the restarter: fits the node, not the hog.
		want := alloc.MilliValue() - 100 - 100
		s.ok(t, "patch", "pod", "resizable", "-n", ns, "--subresource", "resize", "--patch",
			fmt.Sprintf(`{"spec":{"containers":[{"name":"main","resources":{"requests":{"cpu":"%dm"},"limits":{"cpu":"%dm"}}}]}}`, want, want))
		poll.Until(t, 30*time.Second, "PodResizePending", func() error {
			p := getPod(t)
			c := condition(p, corev1.PodResizePending)
			if c == nil || c.Reason != corev1.PodReasonDeferred || c.ObservedGeneration != 3 ||
				!strings.HasPrefix(c.Message, "Node didn't have enough resource: cpu, requested: ") {
				return fmt.Errorf("conditions %+v", p.Status.Conditions)
			}
			if q := status(p, "main").AllocatedResources[corev1.ResourceCPU]; q.String() != "200m" {
				return fmt.Errorf("a deferred resize was allocated: %s", q.String())
			}
			return nil
		})
		// Back to what the node allocated: nothing pending.
		s.ok(t, "patch", "pod", "resizable", "-n", ns, "--subresource", "resize", "--patch",
			`{"spec":{"containers":[{"name":"main","resources":{"requests":{"cpu":"200m"},"limits":{"cpu":"400m"}}}]}}`)
		poll.Until(t, 30*time.Second, "PodResizePending cleared", func() error {
			if c := condition(getPod(t), corev1.PodResizePending); c != nil {
				return fmt.Errorf("still %+v", c)
			}
			return nil
		})
	})
}
