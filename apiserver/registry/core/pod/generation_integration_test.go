package pod_test

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiff-dev/skiff/apiserver/apiservertest"
)

// Pod generation as upstream's strategy: 1 on create whatever the client sets, one more per
// spec change (not per metadata change or client-set generation), and a status write that
// clears observedGeneration (status or a condition's) keeps the stored value.
func TestPodGeneration(t *testing.T) {
	s := apiservertest.Start(t)
	ctx := context.Background()
	pods := s.Client.CoreV1().Pods("default")
	pod, err := pods.Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "gen", Generation: 100},
		Spec: corev1.PodSpec{NodeName: "n1", Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if pod.Generation != 1 {
		t.Fatalf("generation on create %d, want 1", pod.Generation)
	}
	for _, tc := range []struct {
		name   string
		update func(*corev1.Pod)
		want   int64
	}{
		{"empty update", func(*corev1.Pod) {}, 1},
		{"tolerations", func(p *corev1.Pod) {
			p.Spec.Tolerations = append(p.Spec.Tolerations, corev1.Toleration{Key: "k", Operator: corev1.TolerationOpExists})
		}, 2},
		{"activeDeadlineSeconds", func(p *corev1.Pod) { d := int64(5000); p.Spec.ActiveDeadlineSeconds = &d }, 3},
		{"image", func(p *corev1.Pod) { p.Spec.Containers[0].Image = "nginx" }, 4},
		{"annotations", func(p *corev1.Pod) { p.Annotations = map[string]string{"k": "v"} }, 4},
		{"client-set generation", func(p *corev1.Pod) { p.Generation = 1 }, 4},
	} {
		tc.update(pod)
		if pod, err = pods.Update(ctx, pod, metav1.UpdateOptions{}); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if pod.Generation != tc.want {
			t.Errorf("%s: generation %d, want %d", tc.name, pod.Generation, tc.want)
		}
	}

	pod.Status.ObservedGeneration = 4
	pod.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, ObservedGeneration: 4},
		{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, ObservedGeneration: 3}}
	if pod, err = pods.UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	pod.Status.ObservedGeneration = 0
	pod.Status.Conditions[0].ObservedGeneration, pod.Status.Conditions[1].ObservedGeneration = 0, 0
	if pod, err = pods.UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if pod.Status.ObservedGeneration != 4 || pod.Status.Conditions[0].ObservedGeneration != 4 || pod.Status.Conditions[1].ObservedGeneration != 3 {
		t.Errorf("cleared observedGeneration not kept: %d, conditions %+v", pod.Status.ObservedGeneration, pod.Status.Conditions)
	}
	if pod.Generation != 4 {
		t.Errorf("status writes changed the generation: %d", pod.Generation)
	}

	// A graceful deletion bumps the generation (k8s.io/apiserver's BeforeDelete).
	grace := int64(60)
	if err := pods.Delete(ctx, "gen", metav1.DeleteOptions{GracePeriodSeconds: &grace}); err != nil {
		t.Fatal(err)
	}
	if pod, err = pods.Get(ctx, "gen", metav1.GetOptions{}); err != nil || pod.Generation != 5 || pod.DeletionTimestamp == nil {
		t.Errorf("after a graceful delete: %v %v", pod, err)
	}
}
