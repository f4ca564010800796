package admission

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// TestDefaultTolerationsForEachTaint: --default-not-ready-toleration-seconds and
// --default-unreachable-toleration-seconds apply to their own taint, not-ready first.
func TestDefaultTolerationsForEachTaint(t *testing.T) {
	tests := []struct {
		name     string
		existing []corev1.Toleration
		want     map[string]int64
	}{
		{"none", nil, map[string]int64{corev1.TaintNodeNotReady: 7, corev1.TaintNodeUnreachable: 9}},
		{"own unreachable kept", []corev1.Toleration{{Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists,
			Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr(int64(1))}},
			map[string]int64{corev1.TaintNodeNotReady: 7, corev1.TaintNodeUnreachable: 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			spec := corev1.PodSpec{Tolerations: tc.existing}
			AddDefaultTolerationsFor(&spec, 7, 9)
			got := map[string]int64{}
			for _, tol := range spec.Tolerations {
				got[tol.Key] = *tol.TolerationSeconds
			}
			if len(got) != len(tc.want) || got[corev1.TaintNodeNotReady] != tc.want[corev1.TaintNodeNotReady] ||
				got[corev1.TaintNodeUnreachable] != tc.want[corev1.TaintNodeUnreachable] {
				t.Errorf("tolerations %v, want %v", got, tc.want)
			}
			if tc.existing == nil && spec.Tolerations[0].Key != corev1.TaintNodeNotReady {
				t.Errorf("not-ready toleration not first: %v", spec.Tolerations)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }
