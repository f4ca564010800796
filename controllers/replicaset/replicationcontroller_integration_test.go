package replicaset_test

import (
	"context"
	"fmt"
	"testing"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/skiff-dev/skiff/controllers"
	"github.com/skiff-dev/skiff/controllers/controllertest"
	"github.com/skiff-dev/skiff/controllers/replicaset"
	"github.com/skiff-dev/skiff/test/poll"
)

// TestReplicationController runs the ReplicaSet controller over core/v1 ReplicationControllers.
func TestReplicationController(t *testing.T) {
	c := controllertest.Start(t, (&replicaset.Reconciler{Kind: replicaset.ReplicationControllers,
		Base: controllers.Base{SkipNameValidation: true}}).SetupWithManager).Client
	ctx := context.Background()
	ns := newNamespace(t, c, "rc")
	rc, err := c.CoreV1().ReplicationControllers(ns).Create(ctx, &corev1.ReplicationController{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: corev1.ReplicationControllerSpec{Replicas: ptr.To[int32](3), Selector: map[string]string{"app": "web"},
			Template: &corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "nginx"}}}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pods := func(n int) []corev1.Pod {
		t.Helper()
		var out []corev1.Pod
		poll.Eventually(t, fmt.Sprintf("%d pods", n), func() error {
			var err error
			if out, err = ownedPods(c, ns, rc.UID); err != nil {
				return err
			}
			if len(out) != n {
				return fmt.Errorf("have %d pods", len(out))
			}
			return nil
		})
		return out
	}
	p := pods(3)[0]
	if ref := metav1.GetControllerOf(&p); ref.Kind != "ReplicationController" || ref.APIVersion != "v1" || ref.Name != "web" {
		t.Fatalf("owner %+v", ref)
	}
	poll.Eventually(t, "status", func() error {
		got, err := c.CoreV1().ReplicationControllers(ns).Get(ctx, rc.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if got.Status.Replicas != 3 || got.Status.ObservedGeneration != got.Generation {
			return fmt.Errorf("status %+v", got.Status)
		}
		return nil
	})
	// Through the scale subresource, as kubectl scale rc does.
	if _, err := c.CoreV1().ReplicationControllers(ns).UpdateScale(ctx, rc.Name, &autoscalingv1.Scale{
		ObjectMeta: metav1.ObjectMeta{Name: rc.Name, Namespace: ns}, Spec: autoscalingv1.ScaleSpec{Replicas: 1}}, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	pods(1)
	evs, err := c.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.kind=ReplicationController,reason=SuccessfulCreate"})
	if err != nil || len(evs.Items) == 0 {
		t.Fatalf("SuccessfulCreate events on the ReplicationController: %v, %v", evs, err)
	}
}
