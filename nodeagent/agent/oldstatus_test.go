package agent

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// The status the last write left is the base of the next one, but conditions others wrote
// since (the scheduler's DisruptionTarget on a preemption victim) come from the API's pod.
func TestOldStatusKeepsOthersConditions(t *testing.T) {
	a := &Agent{lastStatus: map[types.UID]corev1.PodStatus{"u": {Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{
		{Type: corev1.PodReady, Status: corev1.ConditionTrue}, {Type: "example.com/stale-gate", Status: corev1.ConditionFalse}}}}}
	pod := &corev1.Pod{}
	pod.UID = "u"
	pod.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse},
		{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue, Reason: corev1.PodReasonPreemptionByScheduler}}
	got := a.oldStatus(pod).Status
	if got.Phase != corev1.PodRunning || len(got.Conditions) != 2 || got.Conditions[0].Type != corev1.PodReady ||
		got.Conditions[0].Status != corev1.ConditionTrue || got.Conditions[1].Type != corev1.DisruptionTarget {
		t.Errorf("old status %+v", got)
	}
}
