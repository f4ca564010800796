package status

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func mkPod(policy corev1.RestartPolicy, inits []string, apps ...string) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", UID: "u1"}}
	p.Spec.RestartPolicy = policy
	for _, n := range inits {
		p.Spec.InitContainers = append(p.Spec.InitContainers, corev1.Container{Name: n, Image: "busybox"})
	}
	for _, n := range apps {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: n, Image: "nginx"})
	}
	return p
}

func running(name string) corev1.ContainerStatus {
	return corev1.ContainerStatus{Name: name, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}, Started: ptr.To(true)}
}
func exited(name string, code int32) corev1.ContainerStatus {
	return corev1.ContainerStatus{Name: name, State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code}}}
}
func waiting(name string) corev1.ContainerStatus {
	return corev1.ContainerStatus{Name: name, State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{}}}
}
func waitingAfter(name string, code int32) corev1.ContainerStatus {
	s := waiting(name)
	s.LastTerminationState.Terminated = &corev1.ContainerStateTerminated{ExitCode: code}
	return s
}

// TestGetPhase pins upstream getPhase (pkg/kubelet/kubelet_pods.go and its TestPodPhase*
// tables).
func TestGetPhase(t *testing.T) {
	sidecar := func(p *corev1.Pod) *corev1.Pod {
		p.Spec.InitContainers = append(p.Spec.InitContainers, corev1.Container{Name: "side", RestartPolicy: ptr.To(corev1.ContainerRestartPolicyAlways)})
		return p
	}
	tests := []struct {
		name        string
		pod         *corev1.Pod
		info        []corev1.ContainerStatus
		terminal    bool
		initialized bool
		want        corev1.PodPhase
	}{
		{"all running", mkPod(corev1.RestartPolicyAlways, nil, "a", "b"), []corev1.ContainerStatus{running("a"), running("b")}, false, true, corev1.PodRunning},
		{"one unknown is pending", mkPod(corev1.RestartPolicyAlways, nil, "a", "b"), []corev1.ContainerStatus{running("a")}, false, true, corev1.PodPending},
		{"one waiting is pending", mkPod(corev1.RestartPolicyAlways, nil, "a", "b"), []corev1.ContainerStatus{running("a"), waiting("b")}, false, true, corev1.PodPending},
		{"restarting (waiting after exit) counts as stopped, Always: Running", mkPod(corev1.RestartPolicyAlways, nil, "a", "b"), []corev1.ContainerStatus{running("a"), waitingAfter("b", 1)}, false, true, corev1.PodRunning},
		{"all exited, Always: Running (restarting)", mkPod(corev1.RestartPolicyAlways, nil, "a"), []corev1.ContainerStatus{exited("a", 0)}, false, true, corev1.PodRunning},
		{"all exited 0, Never: Succeeded", mkPod(corev1.RestartPolicyNever, nil, "a", "b"), []corev1.ContainerStatus{exited("a", 0), exited("b", 0)}, false, true, corev1.PodSucceeded},
		{"one failed, Never: Failed", mkPod(corev1.RestartPolicyNever, nil, "a", "b"), []corev1.ContainerStatus{exited("a", 0), exited("b", 2)}, false, true, corev1.PodFailed},
		{"one failed, OnFailure: Running (restarting)", mkPod(corev1.RestartPolicyOnFailure, nil, "a"), []corev1.ContainerStatus{exited("a", 2)}, false, true, corev1.PodRunning},
		{"all exited 0, OnFailure: Succeeded", mkPod(corev1.RestartPolicyOnFailure, nil, "a"), []corev1.ContainerStatus{exited("a", 0)}, false, true, corev1.PodSucceeded},
		{"terminal, Always, all 0: Succeeded", mkPod(corev1.RestartPolicyAlways, nil, "a"), []corev1.ContainerStatus{exited("a", 0)}, true, true, corev1.PodSucceeded},
		{"terminal, Always, killed: Failed", mkPod(corev1.RestartPolicyAlways, nil, "a"), []corev1.ContainerStatus{exited("a", 137)}, true, true, corev1.PodFailed},
		{"init running: Pending", mkPod(corev1.RestartPolicyAlways, []string{"i"}, "a"), []corev1.ContainerStatus{running("i"), waiting("a")}, false, false, corev1.PodPending},
		{"init without status: Pending", mkPod(corev1.RestartPolicyAlways, []string{"i"}, "a"), nil, false, false, corev1.PodPending},
		{"init failed, Never: Failed", mkPod(corev1.RestartPolicyNever, []string{"i"}, "a"), []corev1.ContainerStatus{exited("i", 1), waiting("a")}, false, false, corev1.PodFailed},
		{"init failed and restarting, Never: Failed", mkPod(corev1.RestartPolicyNever, []string{"i"}, "a"), []corev1.ContainerStatus{waitingAfter("i", 1), waiting("a")}, false, false, corev1.PodFailed},
		{"init failed, OnFailure: Pending (retrying)", mkPod(corev1.RestartPolicyOnFailure, []string{"i"}, "a"), []corev1.ContainerStatus{waitingAfter("i", 1), waiting("a")}, false, false, corev1.PodPending},
		{"init done, app running", mkPod(corev1.RestartPolicyAlways, []string{"i"}, "a"), []corev1.ContainerStatus{exited("i", 0), running("a")}, false, true, corev1.PodRunning},
		{"sidecar not started, not initialized: Pending", sidecar(mkPod(corev1.RestartPolicyAlways, nil, "a")), []corev1.ContainerStatus{{Name: "side", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}, Started: ptr.To(false)}, waiting("a")}, false, false, corev1.PodPending},
		{"sidecar restarting after init: Running", sidecar(mkPod(corev1.RestartPolicyAlways, nil, "a")), []corev1.ContainerStatus{{Name: "side", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}, Started: ptr.To(false)}, running("a")}, false, true, corev1.PodRunning},
		{"sidecar exited, app succeeded, Never: Succeeded", sidecar(mkPod(corev1.RestartPolicyNever, nil, "a")), []corev1.ContainerStatus{exited("side", 137), exited("a", 0)}, false, true, corev1.PodSucceeded},
		{"no status at all: Pending", mkPod(corev1.RestartPolicyAlways, nil, "a"), nil, false, false, corev1.PodPending},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := GetPhase(tt.pod, tt.info, tt.terminal, tt.initialized); got != tt.want {
				t.Errorf("phase = %s, want %s", got, tt.want)
			}
		})
	}
}

// TestConditions pins upstream's generate.go reasons and messages.
func TestConditions(t *testing.T) {
	pod := mkPod(corev1.RestartPolicyAlways, nil, "a", "b")
	notReady := []corev1.ContainerStatus{{Name: "a"}, {Name: "b"}}
	c := GenerateContainersReadyCondition(pod, notReady, corev1.PodRunning)
	if c.Status != corev1.ConditionFalse || c.Reason != ContainersNotReady || c.Message != "containers with unready status: [a b]" {
		t.Errorf("ContainersReady = %+v", c)
	}
	c = GeneratePodReadyCondition(pod, nil, notReady[:1], corev1.PodPending)
	if c.Type != corev1.PodReady || c.Message != "containers with unknown status: [b], containers with unready status: [a]" {
		t.Errorf("Ready = %+v", c)
	}
	c = GenerateContainersReadyCondition(pod, nil, corev1.PodPending)
	if c.Reason != UnknownContainerStatuses {
		t.Errorf("nil statuses: %+v", c)
	}
	done := []corev1.ContainerStatus{exited("a", 0), exited("b", 0)}
	if c = GeneratePodReadyCondition(pod, nil, done, corev1.PodSucceeded); c.Reason != PodCompleted || c.Status != corev1.ConditionFalse {
		t.Errorf("succeeded: %+v", c)
	}
	if c = GeneratePodReadyCondition(pod, nil, done, corev1.PodFailed); c.Reason != PodFailed {
		t.Errorf("failed: %+v", c)
	}
	ready := []corev1.ContainerStatus{{Name: "a", Ready: true}, {Name: "b", Ready: true}}
	if c = GeneratePodReadyCondition(pod, nil, ready, corev1.PodRunning); c.Status != corev1.ConditionTrue {
		t.Errorf("ready: %+v", c)
	}
	gated := pod.DeepCopy()
	gated.Spec.ReadinessGates = []corev1.PodReadinessGate{{ConditionType: "example.com/lb"}}
	c = GeneratePodReadyCondition(gated, nil, ready, corev1.PodRunning)
	if c.Reason != ReadinessGatesNotReady || c.Message != `corresponding condition of pod readiness gate "example.com/lb" does not exist.` {
		t.Errorf("gate: %+v", c)
	}
	c = GeneratePodReadyCondition(gated, []corev1.PodCondition{{Type: "example.com/lb", Status: corev1.ConditionFalse}}, ready, corev1.PodRunning)
	if c.Message != `the status of pod readiness gate "example.com/lb" is not "True", but False` {
		t.Errorf("gate false: %+v", c)
	}

	ipod := mkPod(corev1.RestartPolicyAlways, []string{"i1", "i2"}, "a")
	c = GeneratePodInitializedCondition(ipod, []corev1.ContainerStatus{{Name: "i1", Ready: true}, {Name: "i2"}}, corev1.PodPending)
	if c.Status != corev1.ConditionFalse || c.Reason != ContainersNotInitialized || c.Message != "containers with incomplete status: [i2]" {
		t.Errorf("Initialized = %+v", c)
	}
	c = GeneratePodInitializedCondition(ipod, []corev1.ContainerStatus{{Name: "i1", Ready: true}}, corev1.PodPending)
	if c.Message != "containers with unknown status: [i2]" {
		t.Errorf("Initialized unknown = %+v", c)
	}
	c = GeneratePodInitializedCondition(ipod, []corev1.ContainerStatus{{Name: "i1", Ready: true}, {Name: "i2", Ready: true}}, corev1.PodSucceeded)
	if c.Status != corev1.ConditionTrue || c.Reason != PodCompleted {
		t.Errorf("Initialized completed = %+v", c)
	}
	if c = GeneratePodInitializedCondition(pod, nil, corev1.PodPending); c.Status != corev1.ConditionTrue {
		t.Errorf("no init containers: %+v", c)
	}
}

func TestPodSandboxChanged(t *testing.T) {
	pod := mkPod(corev1.RestartPolicyAlways, nil, "a")
	hostPod := pod.DeepCopy()
	hostPod.Spec.HostNetwork = true
	tests := []struct {
		name    string
		pod     *corev1.Pod
		sb      []Sandbox
		changed bool
		attempt uint32
		kill    string
	}{
		{"none", pod, nil, true, 0, ""},
		{"ready with IP", pod, []Sandbox{{ID: "s1", Ready: true, IPs: []string{"10.0.0.2"}}}, false, 0, "s1"},
		{"not ready", pod, []Sandbox{{ID: "s1", Attempt: 1}}, true, 2, "s1"},
		{"two ready", pod, []Sandbox{{ID: "s2", Ready: true, IPs: []string{"x"}}, {ID: "s1", Ready: true}}, true, 1, "s2"},
		{"no IP", pod, []Sandbox{{ID: "s1", Ready: true}}, true, 1, "s1"},
		{"network namespace changed", hostPod, []Sandbox{{ID: "s1", Ready: true, IPs: []string{"x"}}}, true, 1, ""},
		{"host network without IP is fine", hostPod, []Sandbox{{ID: "s1", Ready: true, HostNetwork: true}}, false, 0, "s1"},
	}
	for _, tt := range tests {
		c, a, k := PodSandboxChanged(tt.pod, &Runtime{Sandboxes: tt.sb})
		if c != tt.changed || a != tt.attempt || k != tt.kill {
			t.Errorf("%s: got %v %d %q", tt.name, c, a, k)
		}
	}
}

func readySandbox() []Sandbox {
	return []Sandbox{{ID: "sb", Ready: true, IPs: []string{"10.244.0.5"}, CreatedAt: t0}}
}

func cond(s corev1.PodStatus, typ corev1.PodConditionType) corev1.PodCondition {
	for _, c := range s.Conditions {
		if c.Type == typ {
			return c
		}
	}
	return corev1.PodCondition{}
}

// TestGenerate covers the whole status as kubectl shows it: STATUS column (phase or waiting /
// terminated reason), READY, RESTARTS, IP.
func TestGenerate(t *testing.T) {
	now := t0.Add(time.Minute)
	type check func(t *testing.T, s corev1.PodStatus)
	waitingReason := func(i int, reason, msg string) check {
		return func(t *testing.T, s corev1.PodStatus) {
			w := s.ContainerStatuses[i].State.Waiting
			if w == nil || w.Reason != reason || (msg != "" && w.Message != msg) {
				t.Errorf("container %d state = %+v, want waiting %s %q", i, s.ContainerStatuses[i].State, reason, msg)
			}
		}
	}
	phase := func(p corev1.PodPhase) check {
		return func(t *testing.T, s corev1.PodStatus) {
			if s.Phase != p {
				t.Errorf("phase = %s, want %s", s.Phase, p)
			}
		}
	}
	condIs := func(typ corev1.PodConditionType, st corev1.ConditionStatus, reason, msg string) check {
		return func(t *testing.T, s corev1.PodStatus) {
			c := cond(s, typ)
			if c.Status != st || c.Reason != reason || c.Message != msg {
				t.Errorf("%s = %s/%s/%q, want %s/%s/%q", typ, c.Status, c.Reason, c.Message, st, reason, msg)
			}
		}
	}
	tests := []struct {
		name   string
		in     Input
		checks []check
	}{
		{
			name: "nothing yet: Pending, ContainerCreating",
			in:   Input{Pod: mkPod(corev1.RestartPolicyAlways, nil, "a")},
			checks: []check{phase(corev1.PodPending), waitingReason(0, ContainerCreating, ""),
				condIs(corev1.PodReadyToStartContainers, corev1.ConditionFalse, "", ""),
				condIs(corev1.PodReady, corev1.ConditionFalse, ContainersNotReady, "containers with unready status: [a]"),
				condIs(corev1.PodInitialized, corev1.ConditionTrue, "", ""),
				condIs(corev1.PodScheduled, corev1.ConditionTrue, "", "")},
		},
		{
			name: "init containers: PodInitializing for apps",
			in:   Input{Pod: mkPod(corev1.RestartPolicyAlways, []string{"i"}, "a"), Runtime: &Runtime{Sandboxes: readySandbox(), Containers: []Container{{ID: "c1", Name: "i", State: ContainerStateRunning, CreatedAt: t0}}}},
			checks: []check{phase(corev1.PodPending), waitingReason(0, PodInitializing, ""),
				condIs(corev1.PodInitialized, corev1.ConditionFalse, ContainersNotInitialized, "containers with incomplete status: [i]"),
				condIs(corev1.PodReadyToStartContainers, corev1.ConditionTrue, "", "")},
		},
		{
			name: "running and ready",
			in: Input{Pod: mkPod(corev1.RestartPolicyAlways, nil, "a"), HostIPs: []string{"192.168.1.10"}, Runtime: &Runtime{RuntimeName: "containerd", Sandboxes: readySandbox(), Containers: []Container{
				{ID: "abc", Name: "a", State: ContainerStateRunning, CreatedAt: t0, StartedAt: t0, Image: "docker.io/library/nginx:latest", ImageRef: "docker.io/library/nginx@sha256:1"}}}},
			checks: []check{phase(corev1.PodRunning), condIs(corev1.PodReady, corev1.ConditionTrue, "", ""), condIs(corev1.ContainersReady, corev1.ConditionTrue, "", ""),
				func(t *testing.T, s corev1.PodStatus) {
					cs := s.ContainerStatuses[0]
					if !cs.Ready || !*cs.Started || cs.ContainerID != "containerd://abc" || cs.ImageID != "docker.io/library/nginx@sha256:1" || cs.Image != "docker.io/library/nginx:latest" || !cs.State.Running.StartedAt.Time.Equal(t0) {
						t.Errorf("status = %+v", cs)
					}
					if s.PodIP != "10.244.0.5" || len(s.PodIPs) != 1 || s.HostIP != "192.168.1.10" || s.HostIPs[0].IP != "192.168.1.10" {
						t.Errorf("ips = %v %v %v", s.PodIP, s.PodIPs, s.HostIPs)
					}
					if s.StartTime == nil || !s.StartTime.Time.Equal(now) {
						t.Errorf("startTime = %v", s.StartTime)
					}
				}},
		},
		{
			name: "readiness probe without result: not ready",
			in: func() Input {
				p := mkPod(corev1.RestartPolicyAlways, nil, "a")
				p.Spec.Containers[0].ReadinessProbe = &corev1.Probe{}
				return Input{Pod: p, Runtime: &Runtime{Sandboxes: readySandbox(), Containers: []Container{{ID: "c", Name: "a", State: ContainerStateRunning}}}}
			}(),
			checks: []check{phase(corev1.PodRunning), condIs(corev1.PodReady, corev1.ConditionFalse, ContainersNotReady, "containers with unready status: [a]")},
		},
		{
			name: "crash loop: CrashLoopBackOff waiting, last state terminated Error, restarts",
			in: Input{Pod: mkPod(corev1.RestartPolicyAlways, nil, "a"), Runtime: &Runtime{Sandboxes: readySandbox(), Containers: []Container{
				{ID: "c2", Name: "a", State: ContainerStateExited, ExitCode: 1, CreatedAt: t0.Add(2 * time.Second), RestartCount: 1},
				{ID: "c1", Name: "a", State: ContainerStateExited, ExitCode: 1, CreatedAt: t0, RestartCount: 0}}},
				StartFailures: map[string]Waiting{"a": {Reason: CrashLoopBackOff, Message: "back-off 10s restarting failed container=a pod=web_default(u1)"}}},
			checks: []check{phase(corev1.PodRunning), waitingReason(0, CrashLoopBackOff, "back-off 10s restarting failed container=a pod=web_default(u1)"),
				func(t *testing.T, s corev1.PodStatus) {
					cs := s.ContainerStatuses[0]
					if cs.RestartCount != 1 || cs.LastTerminationState.Terminated == nil || cs.LastTerminationState.Terminated.Reason != "Error" || cs.LastTerminationState.Terminated.ExitCode != 1 || cs.Ready || *cs.Started {
						t.Errorf("status = %+v", cs)
					}
				}},
		},
		{
			name: "OOMKilled, Never: Failed with terminated OOMKilled",
			in: Input{Pod: mkPod(corev1.RestartPolicyNever, nil, "a"), Runtime: &Runtime{Sandboxes: readySandbox(), Containers: []Container{
				{ID: "c1", Name: "a", State: ContainerStateExited, ExitCode: 137, Reason: "OOMKilled", StartedAt: t0, FinishedAt: t0.Add(time.Second)}}}},
			checks: []check{phase(corev1.PodFailed), condIs(corev1.PodReady, corev1.ConditionFalse, PodFailed, ""),
				func(t *testing.T, s corev1.PodStatus) {
					tm := s.ContainerStatuses[0].State.Terminated
					if tm == nil || tm.Reason != "OOMKilled" || tm.ExitCode != 137 || !tm.FinishedAt.Time.Equal(t0.Add(time.Second)) {
						t.Errorf("terminated = %+v", tm)
					}
				}},
		},
		{
			name: "completed, Never: Succeeded, PodCompleted",
			in: Input{Pod: mkPod(corev1.RestartPolicyNever, nil, "a"), Runtime: &Runtime{Sandboxes: readySandbox(), Containers: []Container{
				{ID: "c1", Name: "a", State: ContainerStateExited}}}},
			checks: []check{phase(corev1.PodSucceeded), condIs(corev1.PodReady, corev1.ConditionFalse, PodCompleted, ""), condIs(corev1.ContainersReady, corev1.ConditionFalse, PodCompleted, ""),
				func(t *testing.T, s corev1.PodStatus) {
					if r := s.ContainerStatuses[0].State.Terminated.Reason; r != "Completed" {
						t.Errorf("reason = %s", r)
					}
				}},
		},
		{
			name: "image pull error: ErrImagePull keeps phase Pending",
			in: Input{Pod: mkPod(corev1.RestartPolicyAlways, nil, "a"), Runtime: &Runtime{Sandboxes: readySandbox()},
				StartFailures: map[string]Waiting{"a": {Reason: ErrImagePull, Message: "not found"}}},
			checks: []check{phase(corev1.PodPending), waitingReason(0, ErrImagePull, "not found")},
		},
		{
			name: "failure reasons are not shown for a container that will not restart (Never, exited)",
			in: Input{Pod: mkPod(corev1.RestartPolicyNever, nil, "a"), Runtime: &Runtime{Sandboxes: readySandbox(), Containers: []Container{{ID: "c1", Name: "a", State: ContainerStateExited, ExitCode: 3}}},
				StartFailures: map[string]Waiting{"a": {Reason: CrashLoopBackOff}}},
			checks: []check{phase(corev1.PodFailed), func(t *testing.T, s corev1.PodStatus) {
				if s.ContainerStatuses[0].State.Terminated == nil {
					t.Errorf("state = %+v", s.ContainerStatuses[0].State)
				}
			}},
		},
		{
			name: "init container done: ready, Initialized",
			in: Input{Pod: mkPod(corev1.RestartPolicyAlways, []string{"i"}, "a"), Runtime: &Runtime{Sandboxes: readySandbox(), Containers: []Container{
				{ID: "c1", Name: "i", State: ContainerStateExited, CreatedAt: t0}, {ID: "c2", Name: "a", State: ContainerStateRunning, CreatedAt: t0.Add(time.Second)}}}},
			checks: []check{phase(corev1.PodRunning), condIs(corev1.PodInitialized, corev1.ConditionTrue, "", ""), func(t *testing.T, s corev1.PodStatus) {
				if !s.InitContainerStatuses[0].Ready || s.InitContainerStatuses[0].State.Terminated.Reason != "Completed" {
					t.Errorf("init = %+v", s.InitContainerStatuses[0])
				}
			}},
		},
		{
			name:   "created but not started: waiting without reason",
			in:     Input{Pod: mkPod(corev1.RestartPolicyAlways, nil, "a"), Runtime: &Runtime{Sandboxes: readySandbox(), Containers: []Container{{ID: "c1", Name: "a", State: ContainerStateCreated}}}},
			checks: []check{phase(corev1.PodPending), waitingReason(0, "", "")},
		},
		{
			name: "terminal phase never regresses; qosClass and startTime kept",
			in: func() Input {
				p := mkPod(corev1.RestartPolicyAlways, nil, "a")
				st := metav1.NewTime(t0)
				p.Status = corev1.PodStatus{Phase: corev1.PodFailed, QOSClass: corev1.PodQOSBurstable, StartTime: &st, PodIP: "10.244.0.9", PodIPs: []corev1.PodIP{{IP: "10.244.0.9"}}}
				return Input{Pod: p, Runtime: &Runtime{}}
			}(),
			checks: []check{phase(corev1.PodFailed), func(t *testing.T, s corev1.PodStatus) {
				if s.QOSClass != corev1.PodQOSBurstable || !s.StartTime.Time.Equal(t0) || s.PodIP != "10.244.0.9" {
					t.Errorf("status = %+v", s)
				}
			}},
		},
		{
			name: "host network pod gets the host IP",
			in: func() Input {
				p := mkPod(corev1.RestartPolicyAlways, nil, "a")
				p.Spec.HostNetwork = true
				return Input{Pod: p, HostIPs: []string{"192.168.1.10"}, Runtime: &Runtime{Sandboxes: []Sandbox{{ID: "s", Ready: true, HostNetwork: true}}}}
			}(),
			checks: []check{func(t *testing.T, s corev1.PodStatus) {
				if s.PodIP != "192.168.1.10" {
					t.Errorf("podIP = %q", s.PodIP)
				}
			}, condIs(corev1.PodReadyToStartContainers, corev1.ConditionTrue, "", "")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.in.Now = now
			s := Generate(tt.in)
			want := []corev1.PodConditionType{corev1.PodReadyToStartContainers, corev1.PodInitialized, corev1.PodReady, corev1.ContainersReady, corev1.PodScheduled}
			for i, w := range want {
				if s.Conditions[i].Type != w {
					t.Fatalf("condition %d = %s, want %s", i, s.Conditions[i].Type, w)
				}
			}
			for _, c := range tt.checks {
				c(t, s)
			}
		})
	}
}

// Transition times are kept while a condition's status is unchanged (upstream status manager).
func TestTransitionTimesCarried(t *testing.T) {
	p := mkPod(corev1.RestartPolicyAlways, nil, "a")
	rt := &Runtime{Sandboxes: readySandbox(), Containers: []Container{{ID: "c", Name: "a", State: ContainerStateRunning}}}
	s1 := Generate(Input{Pod: p, Runtime: rt, Now: t0})
	p.Status = s1
	s2 := Generate(Input{Pod: p, Runtime: rt, Now: t0.Add(time.Hour)})
	if !cond(s2, corev1.PodReady).LastTransitionTime.Time.Equal(t0) {
		t.Errorf("Ready transition moved: %v", cond(s2, corev1.PodReady).LastTransitionTime)
	}
	rt.Containers[0].State = ContainerStateExited
	rt.Containers[0].ExitCode = 1
	p.Status = s2
	s3 := Generate(Input{Pod: p, Runtime: rt, Now: t0.Add(2 * time.Hour)})
	if c := cond(s3, corev1.PodReady); c.Status != corev1.ConditionFalse || !c.LastTransitionTime.Time.Equal(t0.Add(2*time.Hour)) {
		t.Errorf("Ready = %+v", c)
	}
}

func TestShouldContainerBeRestarted(t *testing.T) {
	c := &corev1.Container{Name: "a"}
	tests := []struct {
		policy corev1.RestartPolicy
		state  ContainerState
		code   int32
		del    bool
		want   bool
	}{
		{corev1.RestartPolicyNever, "", 0, false, true}, // never started
		{corev1.RestartPolicyAlways, ContainerStateRunning, 0, false, false},
		{corev1.RestartPolicyNever, ContainerStateCreated, 0, false, true},
		{corev1.RestartPolicyAlways, ContainerStateExited, 0, false, true},
		{corev1.RestartPolicyOnFailure, ContainerStateExited, 0, false, false},
		{corev1.RestartPolicyOnFailure, ContainerStateExited, 1, false, true},
		{corev1.RestartPolicyNever, ContainerStateExited, 1, false, false},
		{corev1.RestartPolicyAlways, ContainerStateExited, 1, true, false}, // deleted pods never restart
	}
	for i, tt := range tests {
		p := mkPod(tt.policy, nil, "a")
		if tt.del {
			p.DeletionTimestamp = &metav1.Time{Time: t0}
		}
		rt := &Runtime{}
		if tt.state != "" {
			rt.Containers = []Container{{Name: "a", State: tt.state, ExitCode: tt.code}}
		}
		if got := ShouldContainerBeRestarted(c, p, rt); got != tt.want {
			t.Errorf("%d: got %v want %v", i, got, tt.want)
		}
	}
}

// TestGenerateSidecar: sidecar statuses in initContainerStatuses with started/ready/restarts,
// Initialized once the sidecar started and the regular init container completed, Ready
// counting the sidecar's readiness, and the pod Running while the sidecar restarts.
func TestGenerateSidecar(t *testing.T) {
	pod := mkPod(corev1.RestartPolicyAlways, []string{"side", "init"}, "a")
	pod.Spec.InitContainers[0].RestartPolicy = ptr.To(corev1.ContainerRestartPolicyAlways)
	pod.Spec.InitContainers[0].ReadinessProbe = &corev1.Probe{}
	pod.Spec.InitContainers[0].StartupProbe = &corev1.Probe{}
	sb := readySandbox()
	side := Container{ID: "s1", Name: "side", SandboxID: "sb", State: ContainerStateRunning, CreatedAt: t0, StartedAt: t0}
	init := Container{ID: "i1", Name: "init", SandboxID: "sb", State: ContainerStateExited, CreatedAt: t0.Add(time.Second)}
	app := Container{ID: "a1", Name: "a", SandboxID: "sb", State: ContainerStateRunning, CreatedAt: t0.Add(2 * time.Second)}

	// the sidecar runs, its startup probe has not succeeded: Pending, not initialized.
	s := Generate(Input{Pod: pod, Runtime: &Runtime{Sandboxes: sb, Containers: []Container{side}}, Now: t0})
	if cs := s.InitContainerStatuses[0]; cs.State.Running == nil || *cs.Started || cs.Ready {
		t.Fatalf("sidecar status = %+v", cs)
	}
	if c := cond(s, corev1.PodInitialized); s.Phase != corev1.PodPending || c.Status != corev1.ConditionFalse || c.Message != "containers with incomplete status: [side init]" {
		t.Fatalf("phase %s, Initialized %+v", s.Phase, c)
	}

	// started, init completed, app running, sidecar not ready: Running, initialized, not Ready.
	rt := &Runtime{Sandboxes: sb, Containers: []Container{side, init, app}}
	s = Generate(Input{Pod: pod, Runtime: rt, Startup: map[string]bool{"side": true}, Now: t0})
	if c := cond(s, corev1.PodReady); s.Phase != corev1.PodRunning || cond(s, corev1.PodInitialized).Status != corev1.ConditionTrue ||
		c.Status != corev1.ConditionFalse || c.Message != "containers with unready status: [side]" {
		t.Fatalf("phase %s, conditions %+v", s.Phase, s.Conditions)
	}
	if cs := s.InitContainerStatuses[0]; !*cs.Started || cs.Ready {
		t.Fatalf("sidecar status = %+v", cs)
	}
	if cs := s.InitContainerStatuses[1]; !cs.Ready || cs.State.Terminated == nil {
		t.Fatalf("init status = %+v", cs)
	}
	s = Generate(Input{Pod: pod, Runtime: rt, Startup: map[string]bool{"side": true}, Readiness: map[string]bool{"side": true}, Now: t0})
	if cond(s, corev1.PodReady).Status != corev1.ConditionTrue || !s.InitContainerStatuses[0].Ready {
		t.Fatalf("conditions %+v, sidecar %+v", s.Conditions, s.InitContainerStatuses[0])
	}

	// the sidecar restarted and has not started yet: still Running and initialized.
	restarted := Container{ID: "s2", Name: "side", SandboxID: "sb", State: ContainerStateRunning, CreatedAt: t0.Add(3 * time.Second), RestartCount: 1}
	side.State, side.ExitCode = ContainerStateExited, 1
	rt = &Runtime{Sandboxes: sb, Containers: []Container{side, init, app, restarted}}
	s = Generate(Input{Pod: pod, Runtime: rt, Now: t0})
	cs := s.InitContainerStatuses[0]
	if s.Phase != corev1.PodRunning || cond(s, corev1.PodInitialized).Status != corev1.ConditionTrue || cs.RestartCount != 1 ||
		cs.LastTerminationState.Terminated == nil || cs.LastTerminationState.Terminated.ExitCode != 1 || *cs.Started {
		t.Fatalf("phase %s, conditions %+v, sidecar %+v", s.Phase, s.Conditions, cs)
	}
}

func TestHasAnyActiveRegularContainerStarted(t *testing.T) {
	spec := &mkPod(corev1.RestartPolicyAlways, []string{"i"}, "a").Spec
	old := Container{ID: "a0", Name: "a", SandboxID: "old", State: ContainerStateExited}
	if HasAnyActiveRegularContainerStarted(spec, &Runtime{Sandboxes: readySandbox(), Containers: []Container{old}}) {
		t.Error("an app container of an old sandbox counted")
	}
	cur := Container{ID: "a1", Name: "a", SandboxID: "sb", State: ContainerStateExited}
	if !HasAnyActiveRegularContainerStarted(spec, &Runtime{Sandboxes: readySandbox(), Containers: []Container{old, cur}}) {
		t.Error("an exited app container of the active sandbox did not count")
	}
	if HasAnyActiveRegularContainerStarted(spec, &Runtime{Sandboxes: []Sandbox{{ID: "sb"}}, Containers: []Container{cur}}) {
		t.Error("a sandbox not ready is not active")
	}
}
