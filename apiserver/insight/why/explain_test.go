package why

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiff-dev/skiff/insight/scheddiag"
)

var t0 = time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)

func pod(mods ...func(*corev1.Pod)) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web", UID: "u1"},
		Spec:   corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
		Status: corev1.PodStatus{Phase: corev1.PodPending}}
	for _, m := range mods {
		m(p)
	}
	return p
}

func onNode(p *corev1.Pod) { p.Spec.NodeName = "n1" }

func withCond(t corev1.PodConditionType, s corev1.ConditionStatus, reason, msg string) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: t, Status: s, Reason: reason, Message: msg,
			LastTransitionTime: metav1.NewTime(t0)})
	}
}

func withStatus(cs corev1.ContainerStatus) func(*corev1.Pod) {
	return func(p *corev1.Pod) { p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, cs) }
}

func event(reason, typ, fieldPath, msg string, count int32) corev1.Event {
	return corev1.Event{Reason: reason, Type: typ, Message: msg, Count: count, LastTimestamp: metav1.NewTime(t0.Add(time.Minute)),
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "web", FieldPath: fieldPath}}
}

func TestExplain(t *testing.T) {
	unschedMsg := "0/2 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated taint {dedicated: gpu}. preemption: 0/2 nodes are available: 1 No preemption victims found for incoming pod, 1 Preemption is not helpful for scheduling."
	diag := &scheddiag.Diagnosis{PodUID: "u1", Time: t0, Message: unschedMsg, Nodes: []scheddiag.NodeDiagnosis{
		{Node: "n1", Filter: "NodeResourcesFit", Reasons: []string{"Insufficient cpu"}, PreemptionMayHelp: true, Resources: []scheddiag.Resource{
			{Name: "pods", Requested: 1, Allocatable: 110, Used: 3},
			{Name: "cpu", Requested: 100000, Allocatable: 2000, Used: 150, Insufficient: true},
			{Name: "memory", Requested: 64 << 20, Allocatable: 4 << 30, Used: 1 << 30},
		}},
		{Node: "n2", Filter: "TaintToleration", Taint: "dedicated=gpu:NoSchedule"},
		{Node: "n3", Filter: "NodeAffinity", NodeSelector: "nodeSelector disk=ssd", NodeLabels: map[string]string{"kubernetes.io/hostname": "n3"}},
		{Node: "n4", Filter: "NodePorts", Ports: []string{"TCP/8080"}, PreemptionMayHelp: true},
		{Node: "n5", Filter: "NodeResourcesFit", PreemptionMayHelp: true, Resources: []scheddiag.Resource{{Name: "pods", Requested: 1, Allocatable: 10, Used: 10, Insufficient: true}}},
	}}
	tests := []struct {
		name   string
		pod    *corev1.Pod
		events []corev1.Event
		diag   *scheddiag.Diagnosis
		want   []string // each must appear in one sentence, in this order
		not    []string
	}{
		{
			name: "unschedulable, with the scheduler's diagnosis",
			pod:  pod(withCond(corev1.PodScheduled, corev1.ConditionFalse, "Unschedulable", unschedMsg)),
			diag: diag,
			want: []string{
				"Pod default/web is Pending: at 2026-12-06T10:00:00Z the scheduler found no node for it: 0/2 nodes are available",
				"Node n1 (NodeResourcesFit): Insufficient cpu: the pod requests 100, the node has 1850m free (2 allocatable, 150m requested by its pods).",
				"Node n2 (TaintToleration): it has the taint dedicated=gpu:NoSchedule, which the pod does not tolerate. Preemption cannot help there.",
				"Node n3 (NodeAffinity): the pod's nodeSelector disk=ssd does not match the node's labels (kubernetes.io/hostname=n3).",
				"Node n4 (NodePorts): host port TCP/8080 is already taken there.",
				"Node n5 (NodeResourcesFit): Too many pods: it already runs 10 of its 10 pods.",
			},
			not: []string{DiagnosisUnavailable, "something else"},
		},
		{
			name: "unschedulable, the scheduler in another process",
			pod:  pod(withCond(corev1.PodScheduled, corev1.ConditionFalse, "Unschedulable", "0/1 nodes are available: 1 Insufficient cpu.")),
			events: []corev1.Event{
				event("FailedScheduling", "Warning", "", "0/1 nodes are available: 1 Insufficient memory.", 1),
				event("FailedScheduling", "Warning", "", "0/1 nodes are available: 1 Insufficient cpu.", 4),
			},
			want: []string{
				DiagnosisUnavailable + ": the scheduler runs in another process",
				"Pod default/web is Pending: not scheduled since 2026-12-06T10:00:00Z, Unschedulable: 0/1 nodes are available: 1 Insufficient cpu.",
				"The scheduler's last FailedScheduling event (2026-12-06T10:01:00Z, 4 times): 0/1 nodes are available: 1 Insufficient cpu.",
			},
		},
		{
			name: "no scheduler reported",
			pod:  pod(func(p *corev1.Pod) { p.Spec.SchedulerName = "mine" }),
			want: []string{DiagnosisUnavailable, `no scheduler has reported on it yet (no PodScheduled condition, no FailedScheduling event): is a scheduler serving spec.schedulerName "mine" running?`},
		},
		{
			name: "image pull back-off",
			pod: pod(onNode, withStatus(corev1.ContainerStatus{Name: "c", Image: "busybox:nope", State: corev1.ContainerState{
				Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff", Message: `Back-off pulling image "busybox:nope"`}}})),
			events: []corev1.Event{event("Failed", "Warning", "spec.containers{c}", `Failed to pull image "busybox:nope": not found`, 3)},
			want: []string{
				"Pod default/web is scheduled on node n1 (phase Pending) but not Ready:",
				`Container c cannot get its image busybox:nope: ImagePullBackOff: Back-off pulling image "busybox:nope". The last pull failed: Failed to pull image "busybox:nope": not found (2026-12-06T10:01:00Z, 3 times).`,
			},
			not: []string{"Warning event Failed"},
		},
		{
			name: "crash loop with its last termination and liveness failures",
			pod: pod(onNode, func(p *corev1.Pod) { p.Status.Phase = corev1.PodRunning }, withStatus(corev1.ContainerStatus{Name: "c", RestartCount: 4,
				State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff", Message: "back-off 40s restarting failed container=c pod=web_default(u1)"}},
				LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error",
					Message: "cannot open /config", FinishedAt: metav1.NewTime(t0)}}})),
			events: []corev1.Event{
				event("Unhealthy", "Warning", "spec.containers{c}", "Liveness probe failed: HTTP probe failed with statuscode: 500", 6),
				event("BackOff", "Warning", "spec.containers{c}", "Back-off restarting failed container c in pod web_default(u1)", 9),
			},
			want: []string{
				"Container c keeps crashing (CrashLoopBackOff, 4 restarts): back-off 40s restarting failed container=c pod=web_default(u1). Its last run exited with code 1 (Error): cannot open /config at 2026-12-06T10:00:00Z. Its liveness probe fails: Liveness probe failed: HTTP probe failed with statuscode: 500 (2026-12-06T10:01:00Z, 6 times).",
				"Warning event BackOff (2026-12-06T10:01:00Z, 9 times): Back-off restarting failed container c in pod web_default(u1).",
			},
		},
		{
			name: "running, readiness probe failing",
			pod: pod(onNode, func(p *corev1.Pod) { p.Status.Phase = corev1.PodRunning }, withCond(corev1.PodReady, corev1.ConditionFalse, "ContainersNotReady", ""),
				withStatus(corev1.ContainerStatus{Name: "c", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(t0)}}})),
			events: []corev1.Event{event("Unhealthy", "Warning", "spec.containers{c}", "Readiness probe failed: connection refused", 12)},
			want:   []string{"phase Running", "Container c is running but not ready. Its readiness probe fails: Readiness probe failed: connection refused (2026-12-06T10:01:00Z, 12 times)."},
			not:    []string{"Warning event Unhealthy"},
		},
		{
			name: "init container failing, app container waiting",
			pod: pod(onNode, withCond(corev1.PodInitialized, corev1.ConditionFalse, "ContainersNotInitialized", ""), func(p *corev1.Pod) {
				p.Spec.InitContainers = []corev1.Container{{Name: "migrate", Image: "busybox"}}
				p.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: "migrate", RestartCount: 2,
					State:                corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff", Message: "back-off 20s"}},
					LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 3, Reason: "Error", FinishedAt: metav1.NewTime(t0)}}}}
			}, withStatus(corev1.ContainerStatus{Name: "c", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "PodInitializing"}}})),
			want: []string{
				"Init container migrate keeps crashing (CrashLoopBackOff, 2 restarts): back-off 20s. Its last run exited with code 3 (Error) at 2026-12-06T10:00:00Z.",
				"Container c waits for the init containers.",
			},
		},
		{
			name: "no container status yet, sandbox failing",
			pod:  pod(onNode),
			events: []corev1.Event{event("FailedCreatePodSandBox", "Warning", "", "Failed to create pod sandbox: network not ready", 2),
				event("Scheduled", "Normal", "", "Successfully assigned default/web to n1", 1)},
			want: []string{"The node n1 has not reported the pod's containers yet.", "Warning event FailedCreatePodSandBox (2026-12-06T10:01:00Z, 2 times): Failed to create pod sandbox: network not ready."},
		},
		{
			name: "ready",
			pod: pod(onNode, func(p *corev1.Pod) { p.Status.Phase = corev1.PodRunning }, withCond(corev1.PodReady, corev1.ConditionTrue, "", ""),
				withStatus(corev1.ContainerStatus{Name: "c", RestartCount: 1})),
			want: []string{"Pod default/web is Running and Ready on node n1. Its containers restarted 1 times."},
		},
		{
			name: "failed",
			pod: pod(onNode, func(p *corev1.Pod) {
				p.Status.Phase, p.Status.Reason, p.Status.Message = corev1.PodFailed, "DeadlineExceeded", "Pod was active on the node longer than the specified deadline"
			}, withStatus(corev1.ContainerStatus{Name: "c", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 137, Reason: "Error"}}})),
			want: []string{"Pod default/web has finished: phase Failed (DeadlineExceeded: Pod was active on the node longer than the specified deadline).", "Container c exited with code 137 (Error)."},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Explain(tc.pod, tc.events, tc.diag)
			all := strings.Join(got, "\n")
			at := 0
			for _, w := range tc.want {
				i := strings.Index(all[at:], w)
				if i < 0 {
					t.Errorf("missing (in order) %q in:\n%s", w, all)
					continue
				}
				at += i + len(w)
			}
			for _, n := range tc.not {
				if strings.Contains(all, n) {
					t.Errorf("unexpected %q in:\n%s", n, all)
				}
			}
		})
	}
}
