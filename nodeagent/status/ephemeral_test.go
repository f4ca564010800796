package status

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// TestGenerateEphemeral: ephemeral containers get statuses as upstream's kubelet gives them
// (waiting ContainerCreating, a start failure's reason, running, terminated), never ready and
// without started, and change neither the phase nor the Ready condition.
func TestGenerateEphemeral(t *testing.T) {
	pod := mkPod(corev1.RestartPolicyNever, nil, "main")
	pod.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "debugger", Image: "busybox"},
		TargetContainerName: "main"}}
	sb := readySandbox()
	main := Container{ID: "m1", Name: "main", SandboxID: "sb", State: ContainerStateRunning, CreatedAt: t0, StartedAt: t0}
	dbg := Container{ID: "d1", Name: "debugger", SandboxID: "sb", State: ContainerStateRunning, CreatedAt: t0.Add(time.Second), StartedAt: t0.Add(time.Second)}

	tests := []struct {
		name     string
		cs       []Container
		failures map[string]Waiting
		check    func(t *testing.T, cs corev1.ContainerStatus)
	}{
		{"not created yet", []Container{main}, nil, func(t *testing.T, cs corev1.ContainerStatus) {
			if cs.State.Waiting == nil || cs.State.Waiting.Reason != ContainerCreating {
				t.Errorf("state %+v", cs.State)
			}
		}},
		{"image pull failed", []Container{main}, map[string]Waiting{"debugger": {Reason: ErrImagePull, Message: "nope"}}, func(t *testing.T, cs corev1.ContainerStatus) {
			if cs.State.Waiting == nil || cs.State.Waiting.Reason != ErrImagePull || cs.State.Waiting.Message != "nope" {
				t.Errorf("state %+v", cs.State)
			}
		}},
		{"running", []Container{main, dbg}, nil, func(t *testing.T, cs corev1.ContainerStatus) {
			if cs.State.Running == nil || cs.ContainerID != "containerd://d1" {
				t.Errorf("status %+v", cs)
			}
		}},
		{"exited", []Container{main, {ID: "d1", Name: "debugger", SandboxID: "sb", State: ContainerStateExited, ExitCode: 3, CreatedAt: t0}}, nil,
			func(t *testing.T, cs corev1.ContainerStatus) {
				if cs.State.Terminated == nil || cs.State.Terminated.ExitCode != 3 || cs.State.Terminated.Reason != "Error" {
					t.Errorf("state %+v", cs.State)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Generate(Input{Pod: pod, Runtime: &Runtime{RuntimeName: "containerd", Sandboxes: sb, Containers: tt.cs}, StartFailures: tt.failures, Now: t0})
			if len(s.EphemeralContainerStatuses) != 1 || s.EphemeralContainerStatuses[0].Name != "debugger" {
				t.Fatalf("ephemeral statuses %+v", s.EphemeralContainerStatuses)
			}
			cs := s.EphemeralContainerStatuses[0]
			if cs.Ready || cs.Started != nil || cs.Image != "busybox" {
				t.Errorf("ready %v, started %v, image %q", cs.Ready, cs.Started, cs.Image)
			}
			tt.check(t, cs)
			if s.Phase != corev1.PodRunning || cond(s, corev1.PodReady).Status != corev1.ConditionTrue || len(s.ContainerStatuses) != 1 {
				t.Errorf("phase %s, conditions %+v", s.Phase, s.Conditions)
			}
		})
	}

	// without ephemeral containers the field stays empty.
	if s := Generate(Input{Pod: mkPod(corev1.RestartPolicyNever, nil, "main"), Runtime: &Runtime{Sandboxes: sb, Containers: []Container{main}}, Now: t0}); s.EphemeralContainerStatuses != nil {
		t.Errorf("ephemeral statuses %+v", s.EphemeralContainerStatuses)
	}
}
