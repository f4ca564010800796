package apiserver

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestInformerTransform(t *testing.T) {
	managed := []metav1.ManagedFieldsEntry{{Manager: "kubectl", Operation: metav1.ManagedFieldsOperationApply}}
	spec := corev1.PodSpec{NodeName: "n1", ServiceAccountName: "sa",
		Containers: []corev1.Container{{Name: "c", Image: "busybox",
			EnvFrom: []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "s"}}}}}}}
	for _, tc := range []struct {
		name string
		in   any
		want any
	}{
		{name: "a pod keeps its spec and phase, not its status or managed fields",
			in: &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", UID: "u", ManagedFields: managed}, Spec: spec,
				Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.0.0.1",
					Conditions:        []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}},
					ContainerStatuses: []corev1.ContainerStatus{{Name: "c", Ready: true}}}},
			want: &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", UID: "u"}, Spec: spec,
				Status: corev1.PodStatus{Phase: corev1.PodRunning}}},
		{name: "another kind loses only its managed fields",
			in:   &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s", ManagedFields: managed}, Data: map[string][]byte{"k": []byte("v")}},
			want: &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s"}, Data: map[string][]byte{"k": []byte("v")}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := informerTransform(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if !equality.Semantic.DeepEqual(got, tc.want) {
				t.Errorf("informerTransform = %#v, want %#v", got, tc.want)
			}
		})
	}
}
