package status

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestActiveDeadline(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	running := corev1.PodStatus{Phase: corev1.PodRunning, StartTime: &metav1.Time{Time: t0}}
	for _, tc := range []struct {
		name     string
		deadline *int64
		apiPhase corev1.PodPhase
		st       corev1.PodStatus
		now      time.Time
		want     bool
	}{
		{name: "no deadline", st: running, now: t0.Add(time.Hour)},
		{name: "not started", deadline: ptr.To[int64](5), st: corev1.PodStatus{Phase: corev1.PodPending}, now: t0.Add(time.Hour)},
		{name: "before the deadline", deadline: ptr.To[int64](5), st: running, now: t0.Add(4999 * time.Millisecond)},
		{name: "at the deadline", deadline: ptr.To[int64](5), st: running, now: t0.Add(5 * time.Second), want: true},
		{name: "decreased below the time active", deadline: ptr.To[int64](1), st: running, now: t0.Add(3 * time.Second), want: true},
		{name: "already succeeded in the API", deadline: ptr.To[int64](1), apiPhase: corev1.PodSucceeded, st: corev1.PodStatus{Phase: corev1.PodSucceeded, StartTime: running.StartTime}, now: t0.Add(time.Minute)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pod := &corev1.Pod{Spec: corev1.PodSpec{ActiveDeadlineSeconds: tc.deadline}, Status: corev1.PodStatus{Phase: tc.apiPhase}}
			st := tc.st
			got := ApplyActiveDeadline(pod, &st, tc.now)
			if got != tc.want {
				t.Fatalf("applied = %v, want %v", got, tc.want)
			}
			if tc.want && (st.Phase != corev1.PodFailed || st.Reason != "DeadlineExceeded" || st.Message != "Pod was active on the node longer than the specified deadline") {
				t.Fatalf("status = %s %q %q", st.Phase, st.Reason, st.Message)
			}
			if !tc.want && st.Phase != tc.st.Phase {
				t.Fatalf("phase changed to %s", st.Phase)
			}
		})
	}
}
