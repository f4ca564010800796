package helper

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

func TestQOSClass(t *testing.T) {
	rl := func(kv ...string) corev1.ResourceList {
		l := corev1.ResourceList{}
		for i := 0; i < len(kv); i += 2 {
			l[corev1.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
		}
		return l
	}
	ctr := func(req, lim corev1.ResourceList) corev1.Container {
		return corev1.Container{Resources: corev1.ResourceRequirements{Requests: req, Limits: lim}}
	}
	g := ctr(rl("cpu", "1", "memory", "1Gi"), rl("cpu", "1", "memory", "1Gi"))
	for _, tc := range []struct {
		name string
		spec corev1.PodSpec
		want corev1.PodQOSClass
	}{
		{"no resources", corev1.PodSpec{Containers: []corev1.Container{{}}}, corev1.PodQOSBestEffort},
		{"ephemeral storage only", corev1.PodSpec{Containers: []corev1.Container{ctr(rl("ephemeral-storage", "1Gi"), nil)}}, corev1.PodQOSBestEffort},
		{"guaranteed", corev1.PodSpec{Containers: []corev1.Container{g, g}}, corev1.PodQOSGuaranteed},
		{"guaranteed and best effort", corev1.PodSpec{Containers: []corev1.Container{g, {}}}, corev1.PodQOSBurstable},
		{"cpu only", corev1.PodSpec{Containers: []corev1.Container{ctr(rl("cpu", "1"), rl("cpu", "1"))}}, corev1.PodQOSBurstable},
		{"request below limit", corev1.PodSpec{Containers: []corev1.Container{ctr(rl("cpu", "1", "memory", "1Gi"), rl("cpu", "2", "memory", "1Gi"))}}, corev1.PodQOSBurstable},
		{"burstable init container", corev1.PodSpec{InitContainers: []corev1.Container{ctr(rl("cpu", "1"), nil)}, Containers: []corev1.Container{g}}, corev1.PodQOSBurstable},
		{"pod-level guaranteed", corev1.PodSpec{Resources: &corev1.ResourceRequirements{Requests: rl("cpu", "1", "memory", "1Gi"), Limits: rl("cpu", "1", "memory", "1Gi")},
			Containers: []corev1.Container{{}}}, corev1.PodQOSGuaranteed},
		{"pod-level burstable", corev1.PodSpec{Resources: &corev1.ResourceRequirements{Limits: rl("memory", "1Gi")}, Containers: []corev1.Container{g}}, corev1.PodQOSBurstable},
	} {
		if got := QOSClass(&tc.spec); got != tc.want {
			t.Errorf("%s: QOSClass = %s, want %s", tc.name, got, tc.want)
		}
	}
}
