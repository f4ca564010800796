package ephemeral_test

import (
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiff-dev/skiff/controllers"
	"github.com/skiff-dev/skiff/controllers/controllertest"
	"github.com/skiff-dev/skiff/controllers/ephemeral"
	"github.com/skiff-dev/skiff/test/poll"
)

func TestCreatesClaimOwnedByPod(t *testing.T) {
	s := controllertest.Start(t, (&ephemeral.Reconciler{Base: controllers.Base{SkipNameValidation: true}}).SetupWithManager)
	ctx := t.Context()
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: "default"}, Spec: corev1.PodSpec{
		Containers: []corev1.Container{{Name: "c", Image: "busybox"}},
		Volumes: []corev1.Volume{{Name: "scratch", VolumeSource: corev1.VolumeSource{Ephemeral: &corev1.EphemeralVolumeSource{
			VolumeClaimTemplate: &corev1.PersistentVolumeClaimTemplate{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"tier": "scratch"}},
				Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
					Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}}},
			}}}}},
	}}
	pod, err := s.Client.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	poll.Eventually(t, "claim app-scratch", func() error {
		pvc, err := s.Client.CoreV1().PersistentVolumeClaims("default").Get(ctx, "app-scratch", metav1.GetOptions{})
		if err != nil {
			return err
		}
		ref := metav1.GetControllerOf(pvc)
		if ref == nil || ref.UID != pod.UID || ref.Kind != "Pod" || pvc.Labels["tier"] != "scratch" {
			return fmt.Errorf("claim owner %v labels %v", ref, pvc.Labels)
		}
		return nil
	})
}
