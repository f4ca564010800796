package resourcequota_test

import (
	"context"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/skiff-dev/skiff/controllers"
	"github.com/skiff-dev/skiff/controllers/controllertest"
	"github.com/skiff-dev/skiff/controllers/resourcequota"
	"github.com/skiff-dev/skiff/test/poll"
)

func TestQuotaControllerComputesUsage(t *testing.T) {
	s := controllertest.Start(t, func(mgr manager.Manager) error {
		return (&resourcequota.Reconciler{Base: controllers.Base{SkipNameValidation: true}}).SetupWithManager(mgr)
	})
	c, ctx := s.Client, context.Background()
	if _, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ns"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Objects that exist before the quota are counted once it is created.
	for _, name := range []string{"a", "b"} {
		if _, err := c.CoreV1().ConfigMaps("ns").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "busybox",
		Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m")}}}}}}
	if _, err := c.CoreV1().Pods("ns").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// A claim gets the default class local-path: it is charged per class too.
	claim := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "data"}, Spec: corev1.PersistentVolumeClaimSpec{
		AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
		Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}}}}
	if _, err := c.CoreV1().PersistentVolumeClaims("ns").Create(ctx, claim, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	hard := corev1.ResourceList{
		"pods": resource.MustParse("3"), "requests.cpu": resource.MustParse("1"), "configmaps": resource.MustParse("5"),
		"count/deployments.apps": resource.MustParse("2"), "services": resource.MustParse("1"),
		"requests.storage": resource.MustParse("5Gi"), "local-path.storageclass.storage.k8s.io/persistentvolumeclaims": resource.MustParse("2"),
	}
	if _, err := c.CoreV1().ResourceQuotas("ns").Create(ctx, &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: "q"}, Spec: corev1.ResourceQuotaSpec{Hard: hard}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	expect := func(want map[string]string) func() error {
		return func() error {
			q, err := c.CoreV1().ResourceQuotas("ns").Get(ctx, "q", metav1.GetOptions{})
			if err != nil {
				return err
			}
			if len(q.Status.Hard) != len(hard) {
				return fmt.Errorf("status.hard = %v", q.Status.Hard)
			}
			for k, v := range want {
				got, ok := q.Status.Used[corev1.ResourceName(k)]
				if !ok || got.String() != v {
					return fmt.Errorf("used[%s] = %s, want %s (used %v)", k, got.String(), v, q.Status.Used)
				}
			}
			return nil
		}
	}
	poll.Eventually(t, "initial usage", expect(map[string]string{"pods": "1", "requests.cpu": "250m", "configmaps": "2", "count/deployments.apps": "0", "services": "0",
		"requests.storage": "1Gi", "local-path.storageclass.storage.k8s.io/persistentvolumeclaims": "1"}))

	// Deleting a pod releases its charge (admission charges on create; the controller releases).
	if err := c.CoreV1().Pods("ns").Delete(ctx, "p", metav1.DeleteOptions{GracePeriodSeconds: new(int64)}); err != nil {
		t.Fatal(err)
	}
	poll.Eventually(t, "pod released", expect(map[string]string{"pods": "0", "requests.cpu": "0"}))

	// Over quota is refused once status.hard is known.
	svc := func(name string) *corev1.Service {
		return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}}}
	}
	if _, err := c.CoreV1().Services("ns").Create(ctx, svc("one"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err := c.CoreV1().Services("ns").Create(ctx, svc("two"), metav1.CreateOptions{})
	if want := `services "two" is forbidden: exceeded quota: q, requested: services=1, used: services=1, limited: services=1`; !apierrors.IsForbidden(err) || err.Error() != want {
		t.Fatalf("got %v, want %q", err, want)
	}
	if err := c.CoreV1().Services("ns").Delete(ctx, "one", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	poll.Eventually(t, "service released", expect(map[string]string{"services": "0"}))
	poll.Eventually(t, "service admitted again", func() error {
		_, err := c.CoreV1().Services("ns").Create(ctx, svc("two"), metav1.CreateOptions{})
		return err
	})
}
