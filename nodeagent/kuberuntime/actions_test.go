package kuberuntime

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	"github.com/skiff-dev/skiff/nodeagent/status"
)

// failedProbes gives Failed's message by container ID; "started:ID" keys a container whose
// startup probe has not succeeded (value "" or "no").
type failedProbes map[string]string

func (f failedProbes) Failed(id string) string { return f[id] }
func (f failedProbes) Started(id string) bool {
	v, ok := f["started:"+id]
	return !ok || v == "yes"
}

// TestComputePodActions pins upstream computePodActions (kuberuntime_manager.go and its
// TestComputePodActions* tables).
func TestComputePodActions(t *testing.T) {
	sb := []status.Sandbox{{ID: "sb", Ready: true, IPs: []string{"10.0.0.2"}}}
	deadSb := []status.Sandbox{{ID: "sb", Attempt: 0}}
	pod := testPod(corev1.RestartPolicyAlways, nil, "a", "b")
	hashA := HashContainer(&pod.Spec.Containers[0])
	hashB := HashContainer(&pod.Spec.Containers[1])
	run := func(id, name, hash string) status.Container {
		return status.Container{ID: id, Name: name, SandboxID: "sb", State: status.ContainerStateRunning, Hash: hash}
	}
	exit := func(id, name string, code int32) status.Container {
		return status.Container{ID: id, Name: name, SandboxID: "sb", State: status.ContainerStateExited, ExitCode: code}
	}
	withPolicy := func(p corev1.RestartPolicy, inits ...string) *corev1.Pod {
		return testPod(p, inits, "a", "b")
	}
	// sidecars makes the named init containers restartable (restartPolicy Always).
	sidecars := func(p *corev1.Pod, names ...string) *corev1.Pod {
		for i := range p.Spec.InitContainers {
			for _, n := range names {
				if p.Spec.InitContainers[i].Name == n {
					p.Spec.InitContainers[i].RestartPolicy = ptr.To(corev1.ContainerRestartPolicyAlways)
				}
			}
		}
		return p
	}
	withStartup := func(p *corev1.Pod, name string) *corev1.Pod {
		for i := range p.Spec.InitContainers {
			if p.Spec.InitContainers[i].Name == name {
				p.Spec.InitContainers[i].StartupProbe = &corev1.Probe{}
				p.Spec.InitContainers[i].LivenessProbe = &corev1.Probe{}
			}
		}
		return p
	}
	unknown := func(id, name string) status.Container {
		return status.Container{ID: id, Name: name, SandboxID: "sb", State: status.ContainerStateUnknown}
	}
	// s1 (sidecar) before i2 (regular init), apps a and b.
	sc := func(p corev1.RestartPolicy) *corev1.Pod { return sidecars(withPolicy(p, "s1", "i2"), "s1") }
	// s1 and s2 sidecars around regular i2.
	sc2 := func(p corev1.RestartPolicy) *corev1.Pod { return sidecars(withPolicy(p, "s1", "i2", "s2"), "s1", "s2") }
	scHash := HashContainer(&sc(corev1.RestartPolicyAlways).Spec.InitContainers[0])
	tests := []struct {
		name      string
		pod       *corev1.Pod
		sandboxes []status.Sandbox
		cs        []status.Container
		probes    failedProbes
		kill      bool
		create    bool
		attempt   uint32
		inits     []string
		start     []int
		killIDs   []string
	}{
		{name: "new pod: sandbox and all containers", pod: pod, create: true, kill: true, start: []int{0, 1}},
		{name: "new pod with init: sandbox and first init", pod: withPolicy(corev1.RestartPolicyAlways, "i1", "i2"), create: true, kill: true, inits: []string{"i1"}},
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
		{name: "init done: next init", pod: withPolicy(corev1.RestartPolicyAlways, "i1", "i2"), sandboxes: sb, cs: []status.Container{exit("1", "i1", 0)}, inits: []string{"i2"}},
		{name: "all inits done: app containers", pod: withPolicy(corev1.RestartPolicyAlways, "i1", "i2"), sandboxes: sb, cs: []status.Container{exit("1", "i1", 0), exit("2", "i2", 0)}, start: []int{0, 1}},
		{name: "init failed, Always: retry it", pod: withPolicy(corev1.RestartPolicyAlways, "i1", "i2"), sandboxes: sb, cs: []status.Container{exit("1", "i1", 0), exit("2", "i2", 1)}, inits: []string{"i2"}},
		{name: "init failed, Never: kill pod", pod: withPolicy(corev1.RestartPolicyNever, "i1"), sandboxes: sb, cs: []status.Container{exit("1", "i1", 1)}, kill: true},
		// sidecars: upstream TestComputePodActionsWithRestartableInitContainers.
		{name: "sidecar: new pod starts the sidecar first", pod: sc(corev1.RestartPolicyAlways), create: true, kill: true, inits: []string{"s1"}},
		{name: "sidecar: running, next init starts (not waiting for it to exit)", pod: sc(corev1.RestartPolicyAlways), sandboxes: sb, cs: []status.Container{run("1", "s1", scHash)}, inits: []string{"i2"}},
		{name: "sidecar: startup probe not succeeded yet: wait", pod: withStartup(sc(corev1.RestartPolicyAlways), "s1"), sandboxes: sb, cs: []status.Container{run("1", "s1", "")}, probes: failedProbes{"started:1": "no"}},
		{name: "sidecar: startup probe succeeded: next init", pod: withStartup(sc(corev1.RestartPolicyAlways), "s1"), sandboxes: sb, cs: []status.Container{run("1", "s1", "")}, probes: failedProbes{"started:1": "yes"}, inits: []string{"i2"}},
		{name: "sidecar: startup probe failed: kill and restart", pod: withStartup(sc(corev1.RestartPolicyAlways), "s1"), sandboxes: sb, cs: []status.Container{run("1", "s1", "")}, probes: failedProbes{"started:1": "no", "1": "failed startup probe"}, inits: []string{"s1"}, killIDs: []string{"1"}},
		{name: "sidecar: running, regular init running: wait", pod: sc(corev1.RestartPolicyAlways), sandboxes: sb, cs: []status.Container{run("1", "s1", ""), run("2", "i2", "")}},
		{name: "sidecar: exited during init: restarted, init keeps running", pod: sc(corev1.RestartPolicyAlways), sandboxes: sb, cs: []status.Container{exit("1", "s1", 1), run("2", "i2", "")}, inits: []string{"s1"}},
		{name: "sidecar: inits done: apps start, sidecar kept", pod: sc(corev1.RestartPolicyAlways), sandboxes: sb, cs: []status.Container{run("1", "s1", ""), exit("2", "i2", 0)}, start: []int{0, 1}},
		{name: "sidecar: last init is a running sidecar: apps start", pod: sidecars(withPolicy(corev1.RestartPolicyAlways, "i1", "s2"), "s2"), sandboxes: sb, cs: []status.Container{exit("1", "i1", 0), run("2", "s2", "")}, start: []int{0, 1}},
		{name: "sidecar: steady state", pod: sc(corev1.RestartPolicyAlways), sandboxes: sb, cs: []status.Container{run("1", "s1", ""), exit("2", "i2", 0), run("3", "a", hashA), run("4", "b", hashB)}},
		{name: "sidecar: exited after init: restarted, apps untouched", pod: sc(corev1.RestartPolicyAlways), sandboxes: sb, cs: []status.Container{exit("1", "s1", 0), exit("2", "i2", 0), run("3", "a", hashA), run("4", "b", hashB)}, inits: []string{"s1"}},
		{name: "sidecar: exited with restartPolicy Never: restarted anyway", pod: sc(corev1.RestartPolicyNever), sandboxes: sb, cs: []status.Container{exit("1", "s1", 1), exit("2", "i2", 0), run("3", "a", hashA), run("4", "b", hashB)}, inits: []string{"s1"}},
		{name: "sidecar: removed from the runtime after init: started again", pod: sc(corev1.RestartPolicyAlways), sandboxes: sb, cs: []status.Container{run("3", "a", hashA), run("4", "b", hashB)}, inits: []string{"s1"}},
		{name: "sidecar: regular init gone after init: not rerun", pod: sc(corev1.RestartPolicyAlways), sandboxes: sb, cs: []status.Container{run("1", "s1", ""), run("3", "a", hashA), run("4", "b", hashB)}},
		{name: "sidecar: liveness failed: kill and restart", pod: withStartup(sc(corev1.RestartPolicyAlways), "s1"), sandboxes: sb, cs: []status.Container{run("1", "s1", ""), exit("2", "i2", 0), run("3", "a", hashA), run("4", "b", hashB)}, probes: failedProbes{"1": "failed liveness probe"}, inits: []string{"s1"}, killIDs: []string{"1"}},
		{name: "sidecar: liveness failed, Never: still restarted", pod: withStartup(sc(corev1.RestartPolicyNever), "s1"), sandboxes: sb, cs: []status.Container{run("1", "s1", ""), exit("2", "i2", 0), run("3", "a", hashA), run("4", "b", hashB)}, probes: failedProbes{"1": "failed liveness probe"}, inits: []string{"s1"}, killIDs: []string{"1"}},
		{name: "sidecar: definition changed: kill and restart", pod: sc(corev1.RestartPolicyAlways), sandboxes: sb, cs: []status.Container{run("1", "s1", "old"), exit("2", "i2", 0), run("3", "a", hashA), run("4", "b", hashB)}, inits: []string{"s1"}, killIDs: []string{"1"}},
		{name: "sidecar: unknown state: kill and restart", pod: sc(corev1.RestartPolicyAlways), sandboxes: sb, cs: []status.Container{unknown("1", "s1"), exit("2", "i2", 0), run("3", "a", hashA), run("4", "b", hashB)}, inits: []string{"s1"}, killIDs: []string{"1"}},
		{name: "sidecar and app exited, Always: both restarted in one sync", pod: sc(corev1.RestartPolicyAlways), sandboxes: sb, cs: []status.Container{exit("1", "s1", 1), exit("2", "i2", 0), exit("3", "a", 1), run("4", "b", hashB)}, inits: []string{"s1"}, start: []int{0}},
		{name: "sidecar: apps all done, Never: kill the pod, sidecar not restarted", pod: sc(corev1.RestartPolicyNever), sandboxes: sb, cs: []status.Container{run("1", "s1", ""), exit("2", "i2", 0), exit("3", "a", 0), exit("4", "b", 0)}, kill: true},
		{name: "sidecar: apps all done, OnFailure: kill the pod", pod: sc(corev1.RestartPolicyOnFailure), sandboxes: sb, cs: []status.Container{exit("1", "s1", 1), exit("2", "i2", 0), exit("3", "a", 0), exit("4", "b", 0)}, kill: true},
		{name: "sidecar: one app left, Never: sidecar kept", pod: sc(corev1.RestartPolicyNever), sandboxes: sb, cs: []status.Container{run("1", "s1", ""), exit("2", "i2", 0), exit("3", "a", 0), run("4", "b", hashB)}},
		{name: "sidecar: regular init failed, Never: kill the pod", pod: sc(corev1.RestartPolicyNever), sandboxes: sb, cs: []status.Container{run("1", "s1", ""), exit("2", "i2", 1)}, kill: true},
		{name: "sidecar: regular init failed, OnFailure: retried", pod: sc(corev1.RestartPolicyOnFailure), sandboxes: sb, cs: []status.Container{run("1", "s1", ""), exit("2", "i2", 1)}, inits: []string{"i2"}},
		{name: "two sidecars: i2 done, s2 next", pod: sc2(corev1.RestartPolicyAlways), sandboxes: sb, cs: []status.Container{run("1", "s1", ""), exit("2", "i2", 0)}, inits: []string{"s2"}},
		{name: "two sidecars: both exited after init: both restarted in order", pod: sc2(corev1.RestartPolicyAlways), sandboxes: sb, cs: []status.Container{exit("1", "s1", 1), exit("2", "i2", 0), exit("5", "s2", 1), run("3", "a", hashA), run("4", "b", hashB)}, inits: []string{"s1", "s2"}},
		{name: "sidecar: containers of an old sandbox do not count as initialized", pod: sc(corev1.RestartPolicyAlways), sandboxes: []status.Sandbox{{ID: "sb2", Ready: true, IPs: []string{"10.0.0.3"}, Attempt: 1}},
			cs: []status.Container{exit("3", "a", 0), {ID: "6", Name: "s1", SandboxID: "sb2", State: status.ContainerStateRunning}}, attempt: 1, inits: []string{"i2"}},
		{name: "sidecar: sandbox died, OnFailure, all apps succeeded: not recreated", pod: sc(corev1.RestartPolicyOnFailure), sandboxes: deadSb, cs: []status.Container{exit("1", "s1", 137), exit("2", "i2", 0), exit("3", "a", 0), exit("4", "b", 0)}, kill: true, attempt: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var probes ProbeResults
			if tt.probes != nil {
				probes = tt.probes
			}
			a := ComputePodActions(tt.pod, &status.Runtime{Sandboxes: tt.sandboxes, Containers: tt.cs}, probes, nil)
			if a.KillPod != tt.kill || a.CreateSandbox != tt.create || a.Attempt != tt.attempt {
				t.Errorf("kill/create/attempt = %v/%v/%d, want %v/%v/%d", a.KillPod, a.CreateSandbox, a.Attempt, tt.kill, tt.create, tt.attempt)
			}
			var inits []string
			for _, i := range a.InitContainersToStart {
				inits = append(inits, tt.pod.Spec.InitContainers[i].Name)
			}
			if !slices.Equal(inits, tt.inits) {
				t.Errorf("init containers to start = %v, want %v", inits, tt.inits)
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

// TestProbeKillGracePeriod: a container killed for a failed liveness or startup probe stops
// with that probe's terminationGracePeriodSeconds (upstream's setTerminationGracePeriod), an
// app container as a sidecar; a pod being deleted keeps its deletion grace period.
func TestProbeKillGracePeriod(t *testing.T) {
	pod := testPod(corev1.RestartPolicyAlways, []string{"s"}, "a")
	pod.Spec.TerminationGracePeriodSeconds = ptr.To[int64](30)
	pod.Spec.InitContainers[0].RestartPolicy = ptr.To(corev1.ContainerRestartPolicyAlways)
	pod.Spec.InitContainers[0].StartupProbe = &corev1.Probe{TerminationGracePeriodSeconds: ptr.To[int64](3)}
	pod.Spec.InitContainers[0].LivenessProbe = &corev1.Probe{}
	pod.Spec.Containers[0].LivenessProbe = &corev1.Probe{TerminationGracePeriodSeconds: ptr.To[int64](5)}
	rt := &status.Runtime{Sandboxes: []status.Sandbox{{ID: "sb", Ready: true, IPs: []string{"10.0.0.2"}}}, Containers: []status.Container{
		{ID: "1", Name: "s", SandboxID: "sb", State: status.ContainerStateRunning},
		{ID: "2", Name: "a", SandboxID: "sb", State: status.ContainerStateRunning}}}
	grace := func(a PodActions, id string) any {
		if g := a.ContainersToKill[id].GracePeriod; g != nil {
			return *g
		}
		return nil
	}
	a := ComputePodActions(pod, rt, failedProbes{"2": FailedLivenessProbe}, nil)
	if g := grace(a, "2"); g != int64(5) {
		t.Errorf("liveness kill grace = %v, want 5", g)
	}
	a = ComputePodActions(pod, rt, failedProbes{"1": FailedLivenessProbe}, nil)
	if g := grace(a, "1"); g != nil {
		t.Errorf("sidecar liveness kill without probe grace = %v, want the pod's", g)
	}
	a = ComputePodActions(pod, rt, failedProbes{"1": FailedStartupProbe, "started:1": "no"}, nil)
	if g := grace(a, "1"); g != int64(3) || a.ContainersToKill["1"].Message != "Init container s failed startup probe" {
		t.Errorf("sidecar startup kill = %+v", a.ContainersToKill["1"])
	}
	deleting := pod.DeepCopy()
	deleting.DeletionGracePeriodSeconds = ptr.To[int64](10)
	a = ComputePodActions(deleting, rt, failedProbes{"2": FailedLivenessProbe}, nil)
	if g := grace(a, "2"); g != nil {
		t.Errorf("deleting pod: kill grace = %v, want the deletion grace period", g)
	}
}
