package kuberuntime

import (
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/skiff-dev/skiff/nodeagent/status"
)

type failedProbes map[string]string

func (f failedProbes) Failed(id string) string { return f[id] }

// TestComputePodActions pins upstream computePodActions (kuberuntime_manager.go and its
// TestComputePodActions* tables).
func TestComputePodActions(t *testing.T) {
	sb := []status.Sandbox{{ID: "sb", Ready: true, IPs: []string{"10.0.0.2"}}}
	deadSb := []status.Sandbox{{ID: "sb", Attempt: 0}}
	pod := testPod(corev1.RestartPolicyAlways, nil, "a", "b")
	hashA := HashContainer(&pod.Spec.Containers[0])
	hashB := HashContainer(&pod.Spec.Containers[1])
	run := func(id, name, hash string) status.Container {
		return status.Container{ID: id, Name: name, State: status.ContainerStateRunning, Hash: hash}
	}
	exit := func(id, name string, code int32) status.Container {
		return status.Container{ID: id, Name: name, State: status.ContainerStateExited, ExitCode: code}
	}
	withPolicy := func(p corev1.RestartPolicy, inits ...string) *corev1.Pod {
		return testPod(p, inits, "a", "b")
	}
	tests := []struct {
		name      string
		pod       *corev1.Pod
		sandboxes []status.Sandbox
		cs        []status.Container
		probes    failedProbes
		kill      bool
		create    bool
		attempt   uint32
		nextInit  string
		start     []int
		killIDs   []string
	}{
		{name: "new pod: sandbox and all containers", pod: pod, create: true, kill: true, start: []int{0, 1}},
		{name: "new pod with init: sandbox and first init", pod: withPolicy(corev1.RestartPolicyAlways, "i1", "i2"), create: true, kill: true, nextInit: "i1"},
		{name: "steady state", pod: pod, sandboxes: sb, cs: []status.Container{run("1", "a", hashA), run("2", "b", hashB)}},
		{name: "dead container restarted (Always)", pod: pod, sandboxes: sb, cs: []status.Container{run("1", "a", hashA), exit("2", "b", 0)}, start: []int{1}},
		{name: "OnFailure: succeeded container not restarted", pod: withPolicy(corev1.RestartPolicyOnFailure), sandboxes: sb, cs: []status.Container{run("1", "a", hashA), exit("2", "b", 0)}},
		{name: "OnFailure: failed container restarted", pod: withPolicy(corev1.RestartPolicyOnFailure), sandboxes: sb, cs: []status.Container{run("1", "a", hashA), exit("2", "b", 1)}, start: []int{1}},
		{name: "Never: all exited kills the pod", pod: withPolicy(corev1.RestartPolicyNever), sandboxes: sb, cs: []status.Container{exit("1", "a", 0), exit("2", "b", 1)}, kill: true},
		{name: "spec changed: kill and restart even with Never", pod: withPolicy(corev1.RestartPolicyNever), sandboxes: sb, cs: []status.Container{run("1", "a", "old"), run("2", "b", hashB)}, start: []int{0}, killIDs: []string{"1"}},
		{name: "liveness failed: kill and restart", pod: pod, sandboxes: sb, cs: []status.Container{run("1", "a", hashA), run("2", "b", hashB)}, probes: failedProbes{"2": "failed liveness probe"}, start: []int{1}, killIDs: []string{"2"}},
		{name: "liveness failed with Never: kill, no restart", pod: withPolicy(corev1.RestartPolicyNever), sandboxes: sb, cs: []status.Container{run("1", "a", hashA), run("2", "b", hashB)}, probes: failedProbes{"2": "failed liveness probe"}, killIDs: []string{"2"}},
		{name: "sandbox died: kill and recreate with next attempt", pod: pod, sandboxes: deadSb, cs: []status.Container{exit("1", "a", 0), exit("2", "b", 0)}, kill: true, create: true, attempt: 1, start: []int{0, 1}},
		{name: "sandbox died, Never, containers ran: not recreated", pod: withPolicy(corev1.RestartPolicyNever), sandboxes: deadSb, cs: []status.Container{exit("1", "a", 0)}, kill: true, attempt: 1},
		{name: "sandbox died, OnFailure, all succeeded: not recreated", pod: withPolicy(corev1.RestartPolicyOnFailure), sandboxes: deadSb, cs: []status.Container{exit("1", "a", 0), exit("2", "b", 0)}, kill: true, attempt: 1},
		{name: "sandbox died, OnFailure: only failed ones", pod: withPolicy(corev1.RestartPolicyOnFailure), sandboxes: deadSb, cs: []status.Container{exit("1", "a", 0), exit("2", "b", 3)}, kill: true, create: true, attempt: 1, start: []int{1}},
		{name: "init running: wait", pod: withPolicy(corev1.RestartPolicyAlways, "i1", "i2"), sandboxes: sb, cs: []status.Container{run("1", "i1", "")}},
		{name: "init done: next init", pod: withPolicy(corev1.RestartPolicyAlways, "i1", "i2"), sandboxes: sb, cs: []status.Container{exit("1", "i1", 0)}, nextInit: "i2"},
		{name: "all inits done: app containers", pod: withPolicy(corev1.RestartPolicyAlways, "i1", "i2"), sandboxes: sb, cs: []status.Container{exit("1", "i1", 0), exit("2", "i2", 0)}, start: []int{0, 1}},
		{name: "init failed, Always: retry it", pod: withPolicy(corev1.RestartPolicyAlways, "i1", "i2"), sandboxes: sb, cs: []status.Container{exit("1", "i1", 0), exit("2", "i2", 1)}, nextInit: "i2"},
		{name: "init failed, Never: kill pod", pod: withPolicy(corev1.RestartPolicyNever, "i1"), sandboxes: sb, cs: []status.Container{exit("1", "i1", 1)}, kill: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var probes ProbeResults
			if tt.probes != nil {
				probes = tt.probes
			}
			a := ComputePodActions(tt.pod, &status.Runtime{Sandboxes: tt.sandboxes, Containers: tt.cs}, probes)
			if a.KillPod != tt.kill || a.CreateSandbox != tt.create || a.Attempt != tt.attempt {
				t.Errorf("kill/create/attempt = %v/%v/%d, want %v/%v/%d", a.KillPod, a.CreateSandbox, a.Attempt, tt.kill, tt.create, tt.attempt)
			}
			next := ""
			if a.NextInitContainerToStart != nil {
				next = a.NextInitContainerToStart.Name
			}
			if next != tt.nextInit {
				t.Errorf("next init = %q, want %q", next, tt.nextInit)
			}
			if len(a.ContainersToStart) != len(tt.start) {
				t.Errorf("start = %v, want %v", a.ContainersToStart, tt.start)
			} else {
				for i := range tt.start {
					if a.ContainersToStart[i] != tt.start[i] {
						t.Errorf("start = %v, want %v", a.ContainersToStart, tt.start)
					}
				}
			}
			if len(a.ContainersToKill) != len(tt.killIDs) {
				t.Errorf("kill = %v, want %v", a.ContainersToKill, tt.killIDs)
			}
			for _, id := range tt.killIDs {
				if _, ok := a.ContainersToKill[id]; !ok {
					t.Errorf("kill = %v, want %v", a.ContainersToKill, tt.killIDs)
				}
			}
		})
	}
}
