package admission

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	nodev1 "k8s.io/api/node/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

func TestRuntimeClassDecisions(t *testing.T) {
	overhead := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("10m"), corev1.ResourceMemory: resource.MustParse("1Mi")}
	other := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("20m")}
	tolA := corev1.Toleration{Key: "a", Operator: corev1.TolerationOpEqual, Value: "b", Effect: corev1.TaintEffectNoSchedule}
	tolAExists := corev1.Toleration{Key: "a", Operator: corev1.TolerationOpExists}
	tolC := corev1.Toleration{Key: "c", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute}
	withOverhead := &nodev1.RuntimeClass{Handler: "runc", Overhead: &nodev1.Overhead{PodFixed: overhead}}
	withScheduling := &nodev1.RuntimeClass{Handler: "runc", Scheduling: &nodev1.Scheduling{
		NodeSelector: map[string]string{"sandbox": "yes", "zone": "a"}, Tolerations: []corev1.Toleration{tolAExists, tolC}}}
	plain := &nodev1.RuntimeClass{Handler: "runc"}

	for _, tc := range []struct {
		name         string
		rc           *nodev1.RuntimeClass
		pod          corev1.PodSpec
		wantAdmitErr string
		want         corev1.PodSpec // after Admit
		wantValidErr string         // Validate of the admitted pod
	}{
		{name: "no class: nothing changes", pod: corev1.PodSpec{}, want: corev1.PodSpec{}},
		{name: "no class but an overhead: refused by Validate", pod: corev1.PodSpec{Overhead: other}, want: corev1.PodSpec{Overhead: other},
			wantValidErr: "pod rejected: Pod Overhead set without corresponding RuntimeClass defined Overhead"},
		{name: "class without overhead, pod sets one", rc: plain, pod: corev1.PodSpec{Overhead: other}, want: corev1.PodSpec{Overhead: other},
			wantValidErr: "pod rejected: Pod Overhead set without corresponding RuntimeClass defined Overhead"},
		{name: "overhead set from the class", rc: withOverhead, pod: corev1.PodSpec{}, want: corev1.PodSpec{Overhead: overhead}},
		{name: "the same overhead given is fine", rc: withOverhead, pod: corev1.PodSpec{Overhead: overhead.DeepCopy()}, want: corev1.PodSpec{Overhead: overhead}},
		{name: "another overhead refused", rc: withOverhead, pod: corev1.PodSpec{Overhead: other},
			wantAdmitErr: "pod rejected: Pod's Overhead doesn't match RuntimeClass's defined Overhead"},
		{name: "selector and tolerations merged", rc: withScheduling,
			pod:  corev1.PodSpec{NodeSelector: map[string]string{"disk": "ssd", "zone": "a"}, Tolerations: []corev1.Toleration{tolA}},
			want: corev1.PodSpec{NodeSelector: map[string]string{"disk": "ssd", "zone": "a", "sandbox": "yes"}, Tolerations: []corev1.Toleration{tolAExists, tolC}}},
		{name: "selector given to a pod without one", rc: withScheduling, pod: corev1.PodSpec{},
			want: corev1.PodSpec{NodeSelector: map[string]string{"sandbox": "yes", "zone": "a"}, Tolerations: []corev1.Toleration{tolAExists, tolC}}},
		{name: "conflicting selector refused", rc: withScheduling, pod: corev1.PodSpec{NodeSelector: map[string]string{"zone": "b"}},
			wantAdmitErr: "conflict: runtimeClass.scheduling.nodeSelector[zone] = a; pod.spec.nodeSelector[zone] = b"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pod := &corev1.Pod{Spec: tc.pod}
			err := setRuntimeClassOverhead(pod, tc.rc)
			if err == nil {
				err = setRuntimeClassScheduling(pod, tc.rc)
			}
			if tc.wantAdmitErr != "" {
				if err == nil || err.Error() != tc.wantAdmitErr {
					t.Fatalf("admit error = %v, want %q", err, tc.wantAdmitErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("admit: %v", err)
			}
			if !reflect.DeepEqual(pod.Spec, tc.want) {
				t.Errorf("admitted spec = %+v, want %+v", pod.Spec, tc.want)
			}
			err = validateRuntimeClassOverhead(pod, tc.rc)
			if (err == nil) != (tc.wantValidErr == "") || (err != nil && err.Error() != tc.wantValidErr) {
				t.Errorf("validate error = %v, want %q", err, tc.wantValidErr)
			}
		})
	}
	if withScheduling.Scheduling.NodeSelector["disk"] != "" {
		t.Errorf("the class's selector was changed: %v", withScheduling.Scheduling.NodeSelector)
	}
}
