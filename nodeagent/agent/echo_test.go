package agent

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestOwnStatusEcho(t *testing.T) {
	written := corev1.PodStatus{Phase: corev1.PodPending, ContainerStatuses: []corev1.ContainerStatus{{Name: "c",
		State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CreateContainerError", Message: "container 2 failed"}}}}}
	old := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{UID: "u", ResourceVersion: "1", Labels: map[string]string{"a": "b"}},
		Spec:   corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "i"}}},
		Status: corev1.PodStatus{Phase: corev1.PodPending}}
	echo := func(mod func(p *corev1.Pod)) *corev1.Pod {
		p := old.DeepCopy()
		p.ResourceVersion = "2"
		p.Status = *written.DeepCopy()
		if mod != nil {
			mod(p)
		}
		return p
	}
	for _, tc := range []struct {
		name string
		pod  *corev1.Pod
		want bool
	}{
		{"the agent's own write", echo(nil), true},
		{"status changed by others", echo(func(p *corev1.Pod) {
			p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: "example.com/gate", Status: corev1.ConditionTrue})
		}), false},
		{"spec changed", echo(func(p *corev1.Pod) { p.Spec.Containers[0].Image = "j" }), false},
		{"labels changed", echo(func(p *corev1.Pod) { p.Labels["a"] = "c" }), false},
		{"annotations changed", echo(func(p *corev1.Pod) { p.Annotations = map[string]string{"x": "y"} }), false},
		{"deleted", echo(func(p *corev1.Pod) {
			p.DeletionTimestamp, p.DeletionGracePeriodSeconds = &metav1.Time{}, ptr.To[int64](30)
		}), false},
		{"another pod of the name", echo(func(p *corev1.Pod) { p.UID = "v" }), false},
	} {
		if got := ownStatusEcho(old, tc.pod, &written); got != tc.want {
			t.Errorf("%s: ownStatusEcho = %v, want %v", tc.name, got, tc.want)
		}
	}
}
