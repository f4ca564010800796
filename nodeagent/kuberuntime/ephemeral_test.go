package kuberuntime

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/skiff-dev/skiff/nodeagent/status"
)

func withEphemeral(p *corev1.Pod, names ...string) *corev1.Pod {
	for _, n := range names {
		p.Spec.EphemeralContainers = append(p.Spec.EphemeralContainers, corev1.EphemeralContainer{
			EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: n, Image: "busybox:1", ImagePullPolicy: corev1.PullIfNotPresent},
			TargetContainerName:      "a"})
	}
	return p
}

// TestComputePodActionsEphemeral pins upstream's TestComputePodActionsWithInitAndEphemeralContainers:
// an ephemeral container starts once, in the current sandbox, even during initialization; it
// is never restarted, whatever its state; it keeps neither the pod nor a new sandbox going.
func TestComputePodActionsEphemeral(t *testing.T) {
	sb := []status.Sandbox{{ID: "sb", Ready: true, IPs: []string{"10.0.0.2"}}}
	deadSb := []status.Sandbox{{ID: "sb"}}
	pod := func(policy corev1.RestartPolicy, ephemeral ...string) *corev1.Pod {
		return withEphemeral(testPod(policy, []string{"i1"}, "a", "b"), ephemeral...)
	}
	hashA := HashContainer(&pod(corev1.RestartPolicyAlways).Spec.Containers[0])
	hashB := HashContainer(&pod(corev1.RestartPolicyAlways).Spec.Containers[1])
	ctr := func(id, name string, state status.ContainerState, code int32, hash string) status.Container {
		return status.Container{ID: id, Name: name, SandboxID: "sb", State: state, ExitCode: code, Hash: hash}
	}
	initDone := ctr("1", "i1", status.ContainerStateExited, 0, "")
	appsRunning := []status.Container{initDone, ctr("2", "a", status.ContainerStateRunning, 0, hashA), ctr("3", "b", status.ContainerStateRunning, 0, hashB)}
	with := func(cs []status.Container, more ...status.Container) []status.Container {
		return append(slices.Clone(cs), more...)
	}
	tests := []struct {
		name      string
		pod       *corev1.Pod
		sandboxes []status.Sandbox
		cs        []status.Container
		kill      bool
		create    bool
		inits     []int
		start     []int
		ephemeral []int
	}{
		{name: "steady state, ephemeral container running: nothing", pod: pod(corev1.RestartPolicyAlways, "debug"), sandboxes: sb,
			cs: with(appsRunning, ctr("4", "debug", status.ContainerStateRunning, 0, ""))},
		{name: "ephemeral container added: start it", pod: pod(corev1.RestartPolicyAlways, "debug"), sandboxes: sb, cs: appsRunning, ephemeral: []int{0}},
		{name: "second ephemeral container added: start only it", pod: pod(corev1.RestartPolicyAlways, "debug", "debug2"), sandboxes: sb,
			cs: with(appsRunning, ctr("4", "debug", status.ContainerStateRunning, 0, "")), ephemeral: []int{1}},
		{name: "ephemeral container exited, Always: never restarted", pod: pod(corev1.RestartPolicyAlways, "debug"), sandboxes: sb,
			cs: with(appsRunning, ctr("4", "debug", status.ContainerStateExited, 1, ""))},
		{name: "ephemeral container in unknown state: left alone", pod: pod(corev1.RestartPolicyNever, "debug"), sandboxes: sb,
			cs: with(appsRunning, ctr("4", "debug", status.ContainerStateUnknown, 0, ""))},
		{name: "ephemeral container created, not started: left alone", pod: pod(corev1.RestartPolicyAlways, "debug"), sandboxes: sb,
			cs: with(appsRunning, ctr("4", "debug", status.ContainerStateCreated, 0, ""))},
		{name: "initialization in progress: ephemeral container starts", pod: pod(corev1.RestartPolicyAlways, "debug"), sandboxes: sb,
			cs: []status.Container{ctr("1", "i1", status.ContainerStateRunning, 0, "")}, ephemeral: []int{0}},
		{name: "sandbox dead: new sandbox without the ephemeral container", pod: pod(corev1.RestartPolicyAlways, "debug"), sandboxes: deadSb,
			cs: with(appsRunning, ctr("4", "debug", status.ContainerStateRunning, 0, "")), kill: true, create: true, inits: []int{0}},
		{name: "sandbox dead before it ran: not started in the new sandbox's first sync", pod: pod(corev1.RestartPolicyAlways, "debug"), sandboxes: deadSb,
			cs: appsRunning, kill: true, create: true, inits: []int{0}},
		{name: "all app containers exited, Never: kill the pod, ephemeral container kept out", pod: pod(corev1.RestartPolicyNever, "debug"), sandboxes: sb,
			cs: []status.Container{initDone, ctr("2", "a", status.ContainerStateExited, 0, ""), ctr("3", "b", status.ContainerStateExited, 0, ""),
				ctr("4", "debug", status.ContainerStateRunning, 0, "")}, kill: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := ComputePodActions(tt.pod, &status.Runtime{Sandboxes: tt.sandboxes, Containers: tt.cs}, nil, nil)
			if a.KillPod != tt.kill || a.CreateSandbox != tt.create {
				t.Errorf("kill/create = %v/%v, want %v/%v", a.KillPod, a.CreateSandbox, tt.kill, tt.create)
			}
			if !slices.Equal(a.InitContainersToStart, tt.inits) || !slices.Equal(a.ContainersToStart, tt.start) {
				t.Errorf("inits/start = %v/%v, want %v/%v", a.InitContainersToStart, a.ContainersToStart, tt.inits, tt.start)
			}
			if !slices.Equal(a.EphemeralContainersToStart, tt.ephemeral) {
				t.Errorf("ephemeral containers to start = %v, want %v", a.EphemeralContainersToStart, tt.ephemeral)
			}
			if len(a.ContainersToKill) != 0 {
				t.Errorf("containers to kill = %v", a.ContainersToKill)
			}
		})
	}
}

// TestSyncPodEphemeral: SyncPod starts an added ephemeral container in the pod's sandbox, in
// its target's process namespace (CRI TARGET with the target's ID) unless the pod shares one,
// never restarts it after it exits, and reports a missing target as upstream does.
func TestSyncPodEphemeral(t *testing.T) {
	f, m, _ := setup()
	pod := testPod(corev1.RestartPolicyAlways, nil, "a")
	doSync(t, m, pod)
	f.takeCalls()
	var target string
	for id, c := range f.containers {
		if c.cfg.Metadata.Name == "a" {
			target = id
		}
	}
	withEphemeral(pod, "debug")
	_, st := doSync(t, m, pod)
	if got, want := f.takeCalls(), []string{"PullImage busybox:1", "CreateContainer debug", "StartContainer debug"}; !slices.Equal(got, want) {
		t.Fatalf("calls = %v, want %v", got, want)
	}
	var dbg *fakeContainer
	for _, c := range f.containers {
		if c.cfg.Metadata.Name == "debug" {
			dbg = c
		}
	}
	if ns := dbg.cfg.Linux.SecurityContext.NamespaceOptions; ns.Pid != runtimeapi.NamespaceMode_TARGET || ns.TargetId != target {
		t.Errorf("debug's namespaces = %+v, want TARGET %s", ns, target)
	}
	if len(st.EphemeralContainerStatuses) != 1 || st.EphemeralContainerStatuses[0].State.Running == nil {
		t.Fatalf("ephemeral statuses = %+v", st.EphemeralContainerStatuses)
	}
	f.exit("debug", 0, "")
	_, st = doSync(t, m, pod)
	if got := f.takeCalls(); len(got) != 0 {
		t.Errorf("exited ephemeral container restarted: %v", got)
	}
	if cs := st.EphemeralContainerStatuses[0]; cs.State.Terminated == nil || st.Phase != corev1.PodRunning {
		t.Errorf("phase %s, ephemeral status %+v", st.Phase, cs)
	}

	// a target that never ran: CreateContainerConfigError, retried at the next sync.
	pod.Spec.EphemeralContainers = append(pod.Spec.EphemeralContainers, corev1.EphemeralContainer{
		EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "lost", Image: "busybox:1", ImagePullPolicy: corev1.PullIfNotPresent},
		TargetContainerName:      "gone"})
	res, st := doSync(t, m, pod)
	if w := res.StartFailures["lost"]; w.Reason != "CreateContainerConfigError" || w.Message != "unable to find target container gone" {
		t.Errorf("start failure = %+v", w)
	}
	if w := st.EphemeralContainerStatuses[1].State.Waiting; w == nil || w.Reason != "CreateContainerConfigError" {
		t.Errorf("status = %+v", st.EphemeralContainerStatuses[1])
	}
}

// TestTargetPIDNamespace: only a container with a process namespace of its own joins its
// target's.
func TestTargetPIDNamespace(t *testing.T) {
	for _, tt := range []struct {
		pid    runtimeapi.NamespaceMode
		target string
		want   runtimeapi.NamespaceMode
	}{
		{runtimeapi.NamespaceMode_CONTAINER, "t1", runtimeapi.NamespaceMode_TARGET},
		{runtimeapi.NamespaceMode_CONTAINER, "", runtimeapi.NamespaceMode_CONTAINER},
		{runtimeapi.NamespaceMode_POD, "t1", runtimeapi.NamespaceMode_POD},
		{runtimeapi.NamespaceMode_NODE, "t1", runtimeapi.NamespaceMode_NODE},
	} {
		cfg := &runtimeapi.ContainerConfig{Linux: &runtimeapi.LinuxContainerConfig{SecurityContext: &runtimeapi.LinuxContainerSecurityContext{
			NamespaceOptions: &runtimeapi.NamespaceOption{Pid: tt.pid}}}}
		TargetPIDNamespace(cfg, tt.target)
		ns := cfg.Linux.SecurityContext.NamespaceOptions
		wantID := ""
		if tt.want == runtimeapi.NamespaceMode_TARGET {
			wantID = tt.target
		}
		if ns.Pid != tt.want || ns.TargetId != wantID {
			t.Errorf("pid %s with target %q: got %s %q", tt.pid, tt.target, ns.Pid, ns.TargetId)
		}
	}
	TargetPIDNamespace(&runtimeapi.ContainerConfig{}, "t1") // no Linux config: nothing to do
}
