package simulated

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

// TestSidecarPodStatus: a simulated pod with a regular init container and a sidecar runs with
// the init container completed and the sidecar running, started and ready; once it
// completes the sidecar is stopped and the pod Succeeded.
func TestSidecarPodStatus(t *testing.T) {
	pod := &corev1.Pod{Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever,
		InitContainers: []corev1.Container{{Name: "init"}, {Name: "side", RestartPolicy: ptr.To(corev1.ContainerRestartPolicyAlways)}},
		Containers:     []corev1.Container{{Name: "a"}}}}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	pod.Status = runningStatus(pod, "10.0.0.2", now)
	init, side := pod.Status.InitContainerStatuses[0], pod.Status.InitContainerStatuses[1]
	if pod.Status.Phase != corev1.PodRunning || init.State.Terminated == nil || init.State.Terminated.ExitCode != 0 ||
		side.State.Running == nil || !side.Ready || !*side.Started {
		t.Fatalf("running status = %+v", pod.Status)
	}
	pod.Status = succeededStatus(pod, now.Add(time.Second))
	side = pod.Status.InitContainerStatuses[1]
	if pod.Status.Phase != corev1.PodSucceeded || side.State.Terminated == nil || side.Ready ||
		pod.Status.ContainerStatuses[0].State.Terminated == nil {
		t.Fatalf("succeeded status = %+v", pod.Status)
	}
}

// TestEphemeralContainerStatus: an ephemeral container added to a simulated running pod runs
// (never ready), and the statuses already there stay.
func TestEphemeralContainerStatus(t *testing.T) {
	pod := &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "a"}}}}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	pod.Status = runningStatus(pod, "10.0.0.2", now)
	pod.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "dbg", Image: "busybox"}}}
	addEphemeralStatuses(pod, now.Add(time.Second))
	pod.Spec.EphemeralContainers = append(pod.Spec.EphemeralContainers, corev1.EphemeralContainer{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "dbg2", Image: "busybox"}})
	addEphemeralStatuses(pod, now.Add(2*time.Second))
	st := pod.Status.EphemeralContainerStatuses
	if len(st) != 2 || st[0].Name != "dbg" || st[1].Name != "dbg2" || st[0].State.Running == nil || st[0].Ready || st[0].Started != nil ||
		!st[0].State.Running.StartedAt.Time.Equal(now.Add(time.Second)) {
		t.Fatalf("ephemeral statuses = %+v", st)
	}
}
