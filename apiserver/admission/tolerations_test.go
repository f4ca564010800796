package admission

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestAddDefaultTolerations(t *testing.T) {
	forever := corev1.Toleration{Operator: corev1.TolerationOpExists}
	own := corev1.Toleration{Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute}
	noSchedule := corev1.Toleration{Key: corev1.TaintNodeNotReady, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}
	cases := []struct {
		name  string
		given []corev1.Toleration
		want  []string // keys of added tolerations
	}{
		{"none", nil, []string{corev1.TaintNodeNotReady, corev1.TaintNodeUnreachable}},
		{"tolerates everything", []corev1.Toleration{forever}, nil},
		{"own unreachable kept", []corev1.Toleration{own}, []string{corev1.TaintNodeNotReady}},
		{"NoSchedule does not count", []corev1.Toleration{noSchedule}, []string{corev1.TaintNodeNotReady, corev1.TaintNodeUnreachable}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			spec := corev1.PodSpec{Tolerations: append([]corev1.Toleration{}, tc.given...)}
			AddDefaultTolerations(&spec, 300)
			added := spec.Tolerations[len(tc.given):]
			if len(added) != len(tc.want) {
				t.Fatalf("added %v, want keys %v", added, tc.want)
			}
			for i, key := range tc.want {
				if added[i].Key != key || added[i].Effect != corev1.TaintEffectNoExecute || *added[i].TolerationSeconds != 300 {
					t.Errorf("added[%d] = %+v, want %s NoExecute 300s", i, added[i], key)
				}
			}
		})
	}
}
