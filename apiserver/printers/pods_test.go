package printers

import (
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func running() corev1.ContainerState {
	return corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: ago(time.Hour)}}
}

func waiting(reason string) corev1.ContainerState {
	return corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason}}
}

func terminated(reason string, exitCode, signal int32) corev1.ContainerState {
	return corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: reason, ExitCode: exitCode, Signal: signal}}
}

func lastTerminated(finished time.Duration) corev1.ContainerState {
	return corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "Error", ExitCode: 1, FinishedAt: ago(finished)}}
}

func containers(names ...string) []corev1.Container {
	var cs []corev1.Container
	for _, n := range names {
		cs = append(cs, corev1.Container{Name: n, Image: n + ":latest"})
	}
	return cs
}

func sidecar(name string) corev1.Container {
	always := corev1.ContainerRestartPolicyAlways
	return corev1.Container{Name: name, Image: name, RestartPolicy: &always}
}

func cond(t corev1.PodConditionType, s corev1.ConditionStatus) corev1.PodCondition {
	return corev1.PodCondition{Type: t, Status: s}
}

func TestPodRows(t *testing.T) {
	deleted := ago(time.Minute)
	started := true
	notStarted := false

	tests := []struct {
		name string
		pod  corev1.Pod
		// the first five (priority 0) cells
		want []any
	}{
		{
			name: "running 1/1",
			pod: corev1.Pod{
				ObjectMeta: objMeta("web", 5*time.Minute),
				Spec:       corev1.PodSpec{Containers: containers("app")},
				Status: corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{
					{Name: "app", Ready: true, State: running()},
				}},
			},
			want: []any{"web", "1/1", "Running", "0", "5m"},
		},
		{
			name: "running, one of two ready",
			pod: corev1.Pod{
				ObjectMeta: objMeta("web", 3*24*time.Hour),
				Spec:       corev1.PodSpec{Containers: containers("app", "proxy")},
				Status: corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{
					{Name: "app", Ready: true, State: running()},
					{Name: "proxy", Ready: false, State: running()},
				}},
			},
			want: []any{"web", "1/2", "Running", "0", "3d"},
		},
		{
			name: "crash loop with restarts",
			pod: corev1.Pod{
				ObjectMeta: objMeta("crashy", time.Hour),
				Spec:       corev1.PodSpec{Containers: containers("app")},
				Status: corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{
					{Name: "app", RestartCount: 3, State: waiting("CrashLoopBackOff"), LastTerminationState: lastTerminated(5 * time.Minute)},
				}},
			},
			want: []any{"crashy", "0/1", "CrashLoopBackOff", "3 (5m ago)", "60m"},
		},
		{
			name: "restarts without a last termination time",
			pod: corev1.Pod{
				ObjectMeta: objMeta("p", time.Hour),
				Spec:       corev1.PodSpec{Containers: containers("app")},
				Status: corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{
					{Name: "app", Ready: true, RestartCount: 2, State: running()},
				}},
			},
			want: []any{"p", "1/1", "Running", "2", "60m"},
		},
		{
			name: "latest restart across containers",
			pod: corev1.Pod{
				ObjectMeta: objMeta("p", 10*time.Hour),
				Spec:       corev1.PodSpec{Containers: containers("a", "b")},
				Status: corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{
					{Name: "a", Ready: true, RestartCount: 1, State: running(), LastTerminationState: lastTerminated(2 * time.Hour)},
					{Name: "b", Ready: true, RestartCount: 4, State: running(), LastTerminationState: lastTerminated(90 * time.Second)},
				}},
			},
			want: []any{"p", "2/2", "Running", "5 (90s ago)", "10h"},
		},
		{
			name: "image pull back-off",
			pod: corev1.Pod{
				ObjectMeta: objMeta("p", time.Minute),
				Spec:       corev1.PodSpec{Containers: containers("app")},
				Status: corev1.PodStatus{Phase: corev1.PodPending, ContainerStatuses: []corev1.ContainerStatus{
					{Name: "app", State: waiting("ImagePullBackOff")},
				}},
			},
			want: []any{"p", "0/1", "ImagePullBackOff", "0", "60s"},
		},
		{
			name: "pending, no statuses",
			pod: corev1.Pod{
				ObjectMeta: objMeta("p", time.Minute),
				Spec:       corev1.PodSpec{Containers: containers("app")},
				Status:     corev1.PodStatus{Phase: corev1.PodPending},
			},
			want: []any{"p", "0/1", "Pending", "0", "60s"},
		},
		{
			name: "init 0/2",
			pod: corev1.Pod{
				ObjectMeta: objMeta("p", time.Minute),
				Spec:       corev1.PodSpec{InitContainers: containers("init1", "init2"), Containers: containers("app")},
				Status: corev1.PodStatus{Phase: corev1.PodPending,
					InitContainerStatuses: []corev1.ContainerStatus{
						{Name: "init1", State: running()},
						{Name: "init2", State: waiting("PodInitializing")},
					},
					ContainerStatuses: []corev1.ContainerStatus{{Name: "app", State: waiting("PodInitializing")}},
				},
			},
			want: []any{"p", "0/1", "Init:0/2", "0", "60s"},
		},
		{
			name: "init 1/2",
			pod: corev1.Pod{
				ObjectMeta: objMeta("p", time.Minute),
				Spec:       corev1.PodSpec{InitContainers: containers("init1", "init2"), Containers: containers("app")},
				Status: corev1.PodStatus{Phase: corev1.PodPending,
					InitContainerStatuses: []corev1.ContainerStatus{
						{Name: "init1", State: terminated("Completed", 0, 0)},
						{Name: "init2", State: waiting("PodInitializing")},
					},
				},
			},
			want: []any{"p", "0/1", "Init:1/2", "0", "60s"},
		},
		{
			name: "init crash loop counts init restarts",
			pod: corev1.Pod{
				ObjectMeta: objMeta("p", time.Hour),
				Spec:       corev1.PodSpec{InitContainers: containers("init"), Containers: containers("app")},
				Status: corev1.PodStatus{Phase: corev1.PodPending,
					InitContainerStatuses: []corev1.ContainerStatus{
						{Name: "init", RestartCount: 4, State: waiting("CrashLoopBackOff"), LastTerminationState: lastTerminated(time.Minute)},
					},
					ContainerStatuses: []corev1.ContainerStatus{{Name: "app", State: waiting("PodInitializing")}},
				},
			},
			want: []any{"p", "0/1", "Init:CrashLoopBackOff", "4 (60s ago)", "60m"},
		},
		{
			name: "init failed with reason",
			pod: corev1.Pod{
				ObjectMeta: objMeta("p", time.Hour),
				Spec:       corev1.PodSpec{InitContainers: containers("init"), Containers: containers("app")},
				Status: corev1.PodStatus{Phase: corev1.PodPending, InitContainerStatuses: []corev1.ContainerStatus{
					{Name: "init", State: terminated("Error", 1, 0)},
				}},
			},
			want: []any{"p", "0/1", "Init:Error", "0", "60m"},
		},
		{
			name: "init failed with exit code",
			pod: corev1.Pod{
				ObjectMeta: objMeta("p", time.Hour),
				Spec:       corev1.PodSpec{InitContainers: containers("init"), Containers: containers("app")},
				Status: corev1.PodStatus{Phase: corev1.PodPending, InitContainerStatuses: []corev1.ContainerStatus{
					{Name: "init", State: terminated("", 2, 0)},
				}},
			},
			want: []any{"p", "0/1", "Init:ExitCode:2", "0", "60m"},
		},
		{
			name: "init killed by signal",
			pod: corev1.Pod{
				ObjectMeta: objMeta("p", time.Hour),
				Spec:       corev1.PodSpec{InitContainers: containers("init"), Containers: containers("app")},
				Status: corev1.PodStatus{Phase: corev1.PodPending, InitContainerStatuses: []corev1.ContainerStatus{
					{Name: "init", State: terminated("", 137, 9)},
				}},
			},
			want: []any{"p", "0/1", "Init:Signal:9", "0", "60m"},
		},
		{
			// upstream keeps the init reason but counts restarts of the regular containers only
			name: "initialized condition true: restarts come from containers",
			pod: corev1.Pod{
				ObjectMeta: objMeta("p", time.Hour),
				Spec:       corev1.PodSpec{InitContainers: containers("init"), Containers: containers("app")},
				Status: corev1.PodStatus{Phase: corev1.PodRunning,
					Conditions:            []corev1.PodCondition{cond(corev1.PodInitialized, corev1.ConditionTrue)},
					InitContainerStatuses: []corev1.ContainerStatus{{Name: "init", RestartCount: 5, State: running()}},
					ContainerStatuses:     []corev1.ContainerStatus{{Name: "app", Ready: true, RestartCount: 1, State: running()}},
				},
			},
			want: []any{"p", "1/1", "Init:0/1", "1", "60m"},
		},
		{
			name: "started sidecar counts as a container",
			pod: corev1.Pod{
				ObjectMeta: objMeta("p", time.Hour),
				Spec:       corev1.PodSpec{InitContainers: []corev1.Container{sidecar("mesh")}, Containers: containers("app")},
				Status: corev1.PodStatus{Phase: corev1.PodRunning,
					Conditions: []corev1.PodCondition{cond(corev1.PodInitialized, corev1.ConditionTrue)},
					InitContainerStatuses: []corev1.ContainerStatus{
						{Name: "mesh", Ready: true, Started: &started, RestartCount: 2, State: running(), LastTerminationState: lastTerminated(3 * time.Minute)},
					},
					ContainerStatuses: []corev1.ContainerStatus{{Name: "app", Ready: true, State: running()}},
				},
			},
			want: []any{"p", "2/2", "Running", "2 (3m ago)", "60m"},
		},
		{
			name: "sidecar not yet started blocks initialization",
			pod: corev1.Pod{
				ObjectMeta: objMeta("p", time.Hour),
				Spec:       corev1.PodSpec{InitContainers: []corev1.Container{sidecar("mesh"), containers("init")[0]}, Containers: containers("app")},
				Status: corev1.PodStatus{Phase: corev1.PodPending,
					InitContainerStatuses: []corev1.ContainerStatus{
						{Name: "mesh", Started: &notStarted, State: running()},
						{Name: "init", State: waiting("PodInitializing")},
					},
				},
			},
			want: []any{"p", "0/2", "Init:0/2", "0", "60m"},
		},
		{
			name: "started sidecar, regular init running",
			pod: corev1.Pod{
				ObjectMeta: objMeta("p", time.Hour),
				Spec:       corev1.PodSpec{InitContainers: []corev1.Container{sidecar("mesh"), containers("init")[0]}, Containers: containers("app")},
				Status: corev1.PodStatus{Phase: corev1.PodPending,
					InitContainerStatuses: []corev1.ContainerStatus{
						{Name: "mesh", Ready: true, Started: &started, State: running()},
						{Name: "init", State: running()},
					},
				},
			},
			want: []any{"p", "1/2", "Init:1/2", "0", "60m"},
		},
		{
			name: "terminating",
			pod: corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Name: "p", CreationTimestamp: ago(time.Hour), DeletionTimestamp: &deleted},
				Spec:       corev1.PodSpec{Containers: containers("app")},
				Status: corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{
					{Name: "app", Ready: true, State: running()},
				}},
			},
			want: []any{"p", "1/1", "Terminating", "0", "60m"},
		},
		{
			name: "deleted on a lost node",
			pod: corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Name: "p", CreationTimestamp: ago(time.Hour), DeletionTimestamp: &deleted},
				Spec:       corev1.PodSpec{Containers: containers("app")},
				Status: corev1.PodStatus{Phase: corev1.PodRunning, Reason: "NodeLost", ContainerStatuses: []corev1.ContainerStatus{
					{Name: "app", Ready: true, State: running()},
				}},
			},
			want: []any{"p", "1/1", "Unknown", "0", "60m"},
		},
		{
			name: "lost node, not deleted",
			pod: corev1.Pod{
				ObjectMeta: objMeta("p", time.Hour),
				Spec:       corev1.PodSpec{Containers: containers("app")},
				Status:     corev1.PodStatus{Phase: corev1.PodUnknown, Reason: "NodeLost"},
			},
			want: []any{"p", "0/1", "NodeLost", "0", "60m"},
		},
		{
			name: "evicted",
			pod: corev1.Pod{
				ObjectMeta: objMeta("p", time.Hour),
				Spec:       corev1.PodSpec{Containers: containers("app")},
				Status:     corev1.PodStatus{Phase: corev1.PodFailed, Reason: "Evicted"},
			},
			want: []any{"p", "0/1", "Evicted", "0", "60m"},
		},
		{
			name: "completed",
			pod: corev1.Pod{
				ObjectMeta: objMeta("job-x", 2*time.Hour),
				Spec:       corev1.PodSpec{Containers: containers("app")},
				Status: corev1.PodStatus{Phase: corev1.PodSucceeded, ContainerStatuses: []corev1.ContainerStatus{
					{Name: "app", State: terminated("Completed", 0, 0)},
				}},
			},
			want: []any{"job-x", "0/1", "Completed", "0", "120m"},
		},
		{
			name: "completed and deleted stays completed",
			pod: corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Name: "p", CreationTimestamp: ago(time.Hour), DeletionTimestamp: &deleted},
				Spec:       corev1.PodSpec{Containers: containers("app")},
				Status: corev1.PodStatus{Phase: corev1.PodSucceeded, ContainerStatuses: []corev1.ContainerStatus{
					{Name: "app", State: terminated("Completed", 0, 0)},
				}},
			},
			want: []any{"p", "0/1", "Completed", "0", "60m"},
		},
		{
			name: "failed container",
			pod: corev1.Pod{
				ObjectMeta: objMeta("p", time.Hour),
				Spec:       corev1.PodSpec{Containers: containers("app")},
				Status: corev1.PodStatus{Phase: corev1.PodFailed, ContainerStatuses: []corev1.ContainerStatus{
					{Name: "app", State: terminated("Error", 1, 0)},
				}},
			},
			want: []any{"p", "0/1", "Error", "0", "60m"},
		},
		{
			name: "terminated by signal",
			pod: corev1.Pod{
				ObjectMeta: objMeta("p", time.Hour),
				Spec:       corev1.PodSpec{Containers: containers("app")},
				Status: corev1.PodStatus{Phase: corev1.PodFailed, ContainerStatuses: []corev1.ContainerStatus{
					{Name: "app", State: terminated("", 137, 9)},
				}},
			},
			want: []any{"p", "0/1", "Signal:9", "0", "60m"},
		},
		{
			name: "terminated with exit code",
			pod: corev1.Pod{
				ObjectMeta: objMeta("p", time.Hour),
				Spec:       corev1.PodSpec{Containers: containers("app")},
				Status: corev1.PodStatus{Phase: corev1.PodFailed, ContainerStatuses: []corev1.ContainerStatus{
					{Name: "app", State: terminated("", 3, 0)},
				}},
			},
			want: []any{"p", "0/1", "ExitCode:3", "0", "60m"},
		},
		{
			// statuses are walked last to first, so the first container's state is reported
			name: "one completed, one still running and pod ready",
			pod: corev1.Pod{
				ObjectMeta: objMeta("p", time.Hour),
				Spec:       corev1.PodSpec{Containers: containers("done", "app")},
				Status: corev1.PodStatus{Phase: corev1.PodRunning,
					Conditions: []corev1.PodCondition{cond(corev1.PodReady, corev1.ConditionTrue)},
					ContainerStatuses: []corev1.ContainerStatus{
						{Name: "done", State: terminated("Completed", 0, 0)},
						{Name: "app", Ready: true, State: running()},
					},
				},
			},
			want: []any{"p", "1/2", "Running", "0", "60m"},
		},
		{
			name: "one completed, one still running, pod not ready",
			pod: corev1.Pod{
				ObjectMeta: objMeta("p", time.Hour),
				Spec:       corev1.PodSpec{Containers: containers("done", "app")},
				Status: corev1.PodStatus{Phase: corev1.PodRunning,
					Conditions: []corev1.PodCondition{cond(corev1.PodReady, corev1.ConditionFalse)},
					ContainerStatuses: []corev1.ContainerStatus{
						{Name: "done", State: terminated("Completed", 0, 0)},
						{Name: "app", Ready: true, State: running()},
					},
				},
			},
			want: []any{"p", "1/2", "NotReady", "0", "60m"},
		},
		{
			name: "scheduling gated",
			pod: corev1.Pod{
				ObjectMeta: objMeta("p", time.Minute),
				Spec:       corev1.PodSpec{Containers: containers("app"), SchedulingGates: []corev1.PodSchedulingGate{{Name: "wait"}}},
				Status: corev1.PodStatus{Phase: corev1.PodPending, Conditions: []corev1.PodCondition{
					{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonSchedulingGated},
				}},
			},
			want: []any{"p", "0/1", "SchedulingGated", "0", "60s"},
		},
		{
			name: "zero creation timestamp",
			pod: corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Name: "p"},
				Spec:       corev1.PodSpec{Containers: containers("app")},
			},
			want: []any{"p", "0/1", "", "0", "<unknown>"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := rowCells(t, podsGR, &tt.pod)
			checkCells(t, got[:5], tt.want)
			checkCells(t, got[5:], []any{"<none>", "<none>", "<none>", "<none>"})
		})
	}
}

func TestPodWideCells(t *testing.T) {
	pod := &corev1.Pod{
		ObjectMeta: objMeta("web", time.Minute),
		Spec: corev1.PodSpec{
			NodeName:   "node-1",
			Containers: containers("app"),
			ReadinessGates: []corev1.PodReadinessGate{
				{ConditionType: "example.com/a"}, {ConditionType: "example.com/b"}, {ConditionType: "example.com/c"},
			},
		},
		Status: corev1.PodStatus{
			Phase:             corev1.PodRunning,
			PodIP:             "10.0.0.5",
			PodIPs:            []corev1.PodIP{{IP: "10.0.0.5"}, {IP: "fd00::5"}},
			NominatedNodeName: "node-2",
			Conditions: []corev1.PodCondition{
				cond("example.com/a", corev1.ConditionTrue),
				cond("example.com/b", corev1.ConditionFalse),
			},
			ContainerStatuses: []corev1.ContainerStatus{{Name: "app", Ready: true, State: running()}},
		},
	}
	checkCells(t, rowCells(t, podsGR, pod), []any{"web", "1/1", "Running", "0", "60s", "10.0.0.5", "node-1", "node-2", "1/3"})

	// Only podIP set (PodIPs not yet filled in).
	pod.Status.PodIPs = nil
	if got := rowCells(t, podsGR, pod)[5]; got != "10.0.0.5" {
		t.Errorf("IP = %v", got)
	}
}

func TestPodRowConditions(t *testing.T) {
	for phase, want := range map[corev1.PodPhase][]metav1.TableRowCondition{
		corev1.PodSucceeded: podSuccessConditions,
		corev1.PodFailed:    podFailedConditions,
		corev1.PodRunning:   nil,
		corev1.PodPending:   nil,
	} {
		table := convert(t, podsGR, &corev1.Pod{Status: corev1.PodStatus{Phase: phase}})
		if got := table.Rows[0].Conditions; !reflect.DeepEqual(got, want) {
			t.Errorf("%s: conditions = %v, want %v", phase, got, want)
		}
	}
	if podSuccessConditions[0].Type != metav1.RowCompleted || podFailedConditions[0].Reason != "Failed" {
		t.Errorf("unexpected condition contents")
	}
}
