package kuberuntime

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"

	"github.com/skiff-dev/skiff/nodeagent/status"
)

// TestComputePodResizeAction: running containers whose allocated resources differ from the
// actuated ones are updated in place (memory limit decreases first), or restarted when the
// changed resource's policy is RestartContainer (app containers and sidecars); unchanged,
// stopped containers and a nil Actuated are left alone.
func TestComputePodResizeAction(t *testing.T) {
	res := func(cpuReq, cpuLim, memLim string) corev1.ResourceRequirements {
		r := corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpuReq)},
			Limits: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpuLim)}}
		if memLim != "" {
			r.Limits[corev1.ResourceMemory] = resource.MustParse(memLim)
		}
		return r
	}
	pod := testPod(corev1.RestartPolicyAlways, []string{"s"}, "a", "b")
	pod.Spec.InitContainers[0].RestartPolicy = ptr.To(corev1.ContainerRestartPolicyAlways)
	for i := range pod.Spec.Containers {
		pod.Spec.Containers[i].Resources = res("100m", "200m", "64Mi")
	}
	pod.Spec.InitContainers[0].Resources = res("100m", "200m", "64Mi")
	running := &status.Runtime{Sandboxes: []status.Sandbox{{ID: "sb", Ready: true, IPs: []string{"10.0.0.2"}}}, Containers: []status.Container{
		{ID: "1", Name: "s", SandboxID: "sb", State: status.ContainerStateRunning},
		{ID: "2", Name: "a", SandboxID: "sb", State: status.ContainerStateRunning},
		{ID: "3", Name: "b", SandboxID: "sb", State: status.ContainerStateRunning}}}
	same := Actuated{"s": res("100m", "200m", "64Mi"), "a": res("100m", "200m", "64Mi"), "b": res("100m", "200m", "64Mi")}
	restartCPU := []corev1.ContainerResizePolicy{{ResourceName: corev1.ResourceCPU, RestartPolicy: corev1.RestartContainer}}

	for _, tc := range []struct {
		name       string
		mutate     func(*corev1.Pod)
		actuated   Actuated
		rt         *status.Runtime
		update     []string // ContainersToUpdate names, in order
		kill       []string // killed IDs
		start      []int
		initStart  []int
		wantKilled bool
	}{
		{name: "no resize", actuated: same, rt: running},
		{name: "resize off", mutate: func(p *corev1.Pod) { p.Spec.Containers[0].Resources = res("300m", "400m", "64Mi") }, rt: running},
		{name: "cpu up in place", mutate: func(p *corev1.Pod) { p.Spec.Containers[0].Resources = res("300m", "400m", "64Mi") },
			actuated: same, rt: running, update: []string{"a"}},
		{name: "memory down first", mutate: func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources = res("300m", "400m", "64Mi")
			p.Spec.Containers[1].Resources = res("100m", "200m", "32Mi")
		}, actuated: same, rt: running, update: []string{"b", "a"}},
		{name: "memory policy RestartContainer, cpu changes: in place", mutate: func(p *corev1.Pod) {
			p.Spec.Containers[0].ResizePolicy = []corev1.ContainerResizePolicy{{ResourceName: corev1.ResourceMemory, RestartPolicy: corev1.RestartContainer}}
			p.Spec.Containers[0].Resources = res("300m", "400m", "64Mi")
		}, actuated: same, rt: running, update: []string{"a"}},
		{name: "cpu policy RestartContainer", mutate: func(p *corev1.Pod) {
			p.Spec.Containers[0].ResizePolicy = restartCPU
			p.Spec.Containers[0].Resources = res("300m", "400m", "64Mi")
		}, actuated: same, rt: running, kill: []string{"2"}, start: []int{0}},
		{name: "sidecar in place", mutate: func(p *corev1.Pod) { p.Spec.InitContainers[0].Resources = res("50m", "200m", "64Mi") },
			actuated: same, rt: running, update: []string{"s"}},
		{name: "sidecar RestartContainer", mutate: func(p *corev1.Pod) {
			p.Spec.InitContainers[0].ResizePolicy = restartCPU
			p.Spec.InitContainers[0].Resources = res("50m", "200m", "64Mi")
		}, actuated: same, rt: running, kill: []string{"1"}, initStart: []int{0}},
		{name: "missing actuated record: an idempotent update", actuated: Actuated{"s": same["s"], "b": same["b"]}, rt: running, update: []string{"a"}},
		{name: "stopped container starts with its allocation", mutate: func(p *corev1.Pod) { p.Spec.Containers[0].Resources = res("300m", "400m", "64Mi") },
			actuated: same, rt: &status.Runtime{Sandboxes: running.Sandboxes, Containers: []status.Container{running.Containers[0],
				{ID: "2", Name: "a", SandboxID: "sb", State: status.ContainerStateExited, ExitCode: 1}, running.Containers[2]}},
			start: []int{0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := pod.DeepCopy()
			if tc.mutate != nil {
				tc.mutate(p)
			}
			a := ComputePodActions(p, tc.rt, nil, tc.actuated)
			var names []string
			for _, u := range a.ContainersToUpdate {
				names = append(names, u.Name)
			}
			if !slices.Equal(names, tc.update) {
				t.Errorf("update = %v, want %v", names, tc.update)
			}
			var killed []string
			for id := range a.ContainersToKill {
				killed = append(killed, id)
			}
			slices.Sort(killed)
			if !slices.Equal(killed, tc.kill) {
				t.Errorf("kill = %v, want %v", a.ContainersToKill, tc.kill)
			}
			if !slices.Equal(a.ContainersToStart, tc.start) || !slices.Equal(a.InitContainersToStart, tc.initStart) || a.KillPod {
				t.Errorf("start = %v init %v killPod %v, want %v %v", a.ContainersToStart, a.InitContainersToStart, a.KillPod, tc.start, tc.initStart)
			}
			for id, k := range a.ContainersToKill {
				if want := "Container " + k.Name + " resize requires restart"; k.Message != want {
					t.Errorf("kill %s message %q, want %q", id, k.Message, want)
				}
			}
		})
	}
}
