package status

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestObserveGeneration(t *testing.T) {
	s := corev1.PodStatus{ObservedGeneration: 1, Conditions: []corev1.PodCondition{
		{Type: corev1.PodReady, ObservedGeneration: 1},
		{Type: corev1.PodScheduled},
		{Type: corev1.DisruptionTarget, ObservedGeneration: 1},
		{Type: "example.com/gate"},
	}}
	if GenerationObserved(&s, 3) {
		t.Errorf("generation 3 observed at 1")
	}
	ObserveGeneration(&s, 3)
	if s.ObservedGeneration != 3 || !GenerationObserved(&s, 3) {
		t.Errorf("observedGeneration = %d", s.ObservedGeneration)
	}
	for _, tc := range []struct {
		i    int
		want int64
	}{{0, 3}, {1, 3}, {2, 1}, {3, 0}} {
		if got := s.Conditions[tc.i].ObservedGeneration; got != tc.want {
			t.Errorf("condition %s: observedGeneration %d, want %d", s.Conditions[tc.i].Type, got, tc.want)
		}
	}
}
