package persistentvolume_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/skiff-dev/skiff/apis/helper"
	"github.com/skiff-dev/skiff/controllers"
	"github.com/skiff-dev/skiff/controllers/controllertest"
	"github.com/skiff-dev/skiff/controllers/persistentvolume"
	"github.com/skiff-dev/skiff/test/poll"
)

const ns = "pv"

func start(t *testing.T) kubernetes.Interface {
	t.Helper()
	base := controllers.Base{SkipNameValidation: true}
	s := controllertest.Start(t, (&persistentvolume.Controller{Base: base}).SetupWithManager,
		(&persistentvolume.Protection{Base: base}).SetupWithManager)
	if _, err := s.Client.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return s.Client
}

func newClaim(name, size string, class *string) *corev1.PersistentVolumeClaim {
	return &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}, StorageClassName: class,
			Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)}}}}
}

func newVolume(name, size, class string, policy corev1.PersistentVolumeReclaimPolicy) *corev1.PersistentVolume {
	return &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PersistentVolumeSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}, StorageClassName: class,
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)},
			PersistentVolumeReclaimPolicy: policy,
			PersistentVolumeSource:        corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/tmp/" + name}}}}
}

func claimPhase(ctx context.Context, c kubernetes.Interface, name string, want corev1.PersistentVolumeClaimPhase) func() error {
	return func() error {
		pvc, err := c.CoreV1().PersistentVolumeClaims(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if pvc.Status.Phase != want {
			return fmt.Errorf("claim %s is %q, want %q", name, pvc.Status.Phase, want)
		}
		return nil
	}
}

func volumePhase(ctx context.Context, c kubernetes.Interface, name string, want corev1.PersistentVolumePhase) func() error {
	return func() error {
		pv, err := c.CoreV1().PersistentVolumes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if pv.Status.Phase != want {
			return fmt.Errorf("volume %s is %q (%s), want %q", name, pv.Status.Phase, pv.Status.Message, want)
		}
		return nil
	}
}

func hasEvent(ctx context.Context, c kubernetes.Interface, namespace, kind, name, reason, message string) func() error {
	return func() error {
		sel := fields.Set{"involvedObject.kind": kind, "involvedObject.name": name, "reason": reason}.AsSelector().String()
		evs, err := c.CoreV1().Events(namespace).List(ctx, metav1.ListOptions{FieldSelector: sel})
		if err != nil {
			return err
		}
		for _, e := range evs.Items {
			if strings.Contains(e.Message, message) {
				return nil
			}
		}
		return fmt.Errorf("no %s event %q on %s %s among %d", reason, message, kind, name, len(evs.Items))
	}
}

func TestBinder(t *testing.T) {
	c := start(t)
	ctx := t.Context()
	create := func(t *testing.T, objs ...any) {
		t.Helper()
		for _, o := range objs {
			var err error
			switch o := o.(type) {
			case *corev1.PersistentVolume:
				_, err = c.CoreV1().PersistentVolumes().Create(ctx, o, metav1.CreateOptions{})
			case *corev1.PersistentVolumeClaim:
				_, err = c.CoreV1().PersistentVolumeClaims(ns).Create(ctx, o, metav1.CreateOptions{})
			case *storagev1.StorageClass:
				_, err = c.StorageV1().StorageClasses().Create(ctx, o, metav1.CreateOptions{})
			case *corev1.Pod:
				_, err = c.CoreV1().Pods(ns).Create(ctx, o, metav1.CreateOptions{})
			}
			if err != nil {
				t.Fatal(err)
			}
		}
	}

	t.Run("static binding and release", func(t *testing.T) {
		create(t, newVolume("big", "10Gi", "", corev1.PersistentVolumeReclaimRetain), newVolume("fit", "2Gi", "", corev1.PersistentVolumeReclaimRetain))
		// Both volumes in the controller's cache (it made them Available) before the claim comes:
		// otherwise it may rightly bind the only one it knows.
		poll.Eventually(t, "big available", volumePhase(ctx, c, "big", corev1.VolumeAvailable))
		poll.Eventually(t, "fit available", volumePhase(ctx, c, "fit", corev1.VolumeAvailable))
		create(t, newClaim("static", "1Gi", ptr.To("")))
		poll.Eventually(t, "claim bound", claimPhase(ctx, c, "static", corev1.ClaimBound))
		poll.Eventually(t, "volume bound", volumePhase(ctx, c, "fit", corev1.VolumeBound))
		pvc, err := c.CoreV1().PersistentVolumeClaims(ns).Get(ctx, "static", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got := pvc.Status.Capacity[corev1.ResourceStorage]; pvc.Spec.VolumeName != "fit" || got.String() != "2Gi" ||
			pvc.Annotations[helper.AnnBindCompleted] != "yes" || pvc.Annotations[helper.AnnBoundByController] != "yes" {
			t.Errorf("claim: volume %q capacity %s annotations %v", pvc.Spec.VolumeName, got.String(), pvc.Annotations)
		}
		if err := c.CoreV1().PersistentVolumeClaims(ns).Delete(ctx, "static", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		poll.Eventually(t, "volume released", volumePhase(ctx, c, "fit", corev1.VolumeReleased))
		poll.Eventually(t, "claim gone", func() error {
			if _, err := c.CoreV1().PersistentVolumeClaims(ns).Get(ctx, "static", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				return fmt.Errorf("claim still there: %v", err)
			}
			return nil
		})
	})

	t.Run("hand-made volume with reclaim Delete fails", func(t *testing.T) {
		create(t, newVolume("manual-del", "1Gi", "manual", corev1.PersistentVolumeReclaimDelete), newClaim("del", "1Gi", ptr.To("manual")))
		poll.Eventually(t, "claim bound", claimPhase(ctx, c, "del", corev1.ClaimBound))
		if err := c.CoreV1().PersistentVolumeClaims(ns).Delete(ctx, "del", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		poll.Eventually(t, "volume failed", volumePhase(ctx, c, "manual-del", corev1.VolumeFailed))
		poll.Eventually(t, "event", hasEvent(ctx, c, "default", "PersistentVolume", "manual-del", "VolumeFailedDelete", "no deletable volume plugin matched"))
	})

	t.Run("unknown class", func(t *testing.T) {
		create(t, newClaim("gold", "1Gi", ptr.To("gold")))
		poll.Eventually(t, "event", hasEvent(ctx, c, ns, "PersistentVolumeClaim", "gold", "ProvisioningFailed", `storageclass.storage.k8s.io "gold" not found`))
		if err := claimPhase(ctx, c, "gold", corev1.ClaimPending)(); err != nil {
			t.Error(err)
		}
	})

	t.Run("wait for first consumer, then provision", func(t *testing.T) {
		create(t, &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "wffc"}, Provisioner: helper.LocalPathProvisioner,
			VolumeBindingMode: ptr.To(storagev1.VolumeBindingWaitForFirstConsumer), AllowVolumeExpansion: ptr.To(true)},
			newClaim("late", "1Gi", ptr.To("wffc")))
		poll.Eventually(t, "event", hasEvent(ctx, c, ns, "PersistentVolumeClaim", "late", "WaitForFirstConsumer", "waiting for first consumer"))
		patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:"node-1"}}}`, helper.AnnSelectedNode)
		if _, err := c.CoreV1().PersistentVolumeClaims(ns).Patch(ctx, "late", types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		var pvc *corev1.PersistentVolumeClaim
		poll.Eventually(t, "provisioner asked", func() error {
			var err error
			if pvc, err = c.CoreV1().PersistentVolumeClaims(ns).Get(ctx, "late", metav1.GetOptions{}); err != nil {
				return err
			}
			if pvc.Annotations[helper.AnnStorageProvisioner] != helper.LocalPathProvisioner {
				return fmt.Errorf("annotations %v", pvc.Annotations)
			}
			return nil
		})
		// The provisioner's part (the node agent's): a volume bound to the claim.
		pv := newVolume("pvc-"+string(pvc.UID), "1Gi", "wffc", corev1.PersistentVolumeReclaimDelete)
		pv.Annotations = map[string]string{helper.AnnDynamicallyProvisioned: helper.LocalPathProvisioner}
		pv.Spec.ClaimRef = &corev1.ObjectReference{Kind: "PersistentVolumeClaim", APIVersion: "v1", Namespace: ns, Name: "late", UID: pvc.UID}
		create(t, pv)
		poll.Eventually(t, "claim bound", claimPhase(ctx, c, "late", corev1.ClaimBound))

		// Growing: the volume's capacity, then the claim's.
		grow := `{"spec":{"resources":{"requests":{"storage":"3Gi"}}}}`
		if _, err := c.CoreV1().PersistentVolumeClaims(ns).Patch(ctx, "late", types.MergePatchType, []byte(grow), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		poll.Eventually(t, "grown", func() error {
			got, err := c.CoreV1().PersistentVolumeClaims(ns).Get(ctx, "late", metav1.GetOptions{})
			if err != nil {
				return err
			}
			if q := got.Status.Capacity[corev1.ResourceStorage]; q.String() != "3Gi" {
				return fmt.Errorf("claim capacity %s", q.String())
			}
			v, err := c.CoreV1().PersistentVolumes().Get(ctx, pv.Name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			if q := v.Spec.Capacity[corev1.ResourceStorage]; q.String() != "3Gi" {
				return fmt.Errorf("volume capacity %s", q.String())
			}
			return nil
		})

		// Released, the provisioner deletes it: the controller leaves it Released.
		if err := c.CoreV1().PersistentVolumeClaims(ns).Delete(ctx, "late", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		poll.Eventually(t, "volume released", volumePhase(ctx, c, pv.Name, corev1.VolumeReleased))
	})

	t.Run("a claim in use is kept until its pod goes", func(t *testing.T) {
		create(t, newVolume("used", "1Gi", "used", corev1.PersistentVolumeReclaimRetain), newClaim("used", "1Gi", ptr.To("used")),
			&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "user"}, Spec: corev1.PodSpec{NodeName: "node-1",
				Containers: []corev1.Container{{Name: "c", Image: "busybox"}},
				Volumes:    []corev1.Volume{{Name: "v", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "used"}}}}}})
		poll.Eventually(t, "claim bound", claimPhase(ctx, c, "used", corev1.ClaimBound))
		if err := c.CoreV1().PersistentVolumeClaims(ns).Delete(ctx, "used", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		pvc, err := c.CoreV1().PersistentVolumeClaims(ns).Get(ctx, "used", metav1.GetOptions{})
		if err != nil || pvc.DeletionTimestamp == nil {
			t.Fatalf("claim in use: %v %v", pvc, err)
		}
		// The volume is kept too while bound.
		if err := c.CoreV1().PersistentVolumes().Delete(ctx, "used", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := c.CoreV1().Pods(ns).Delete(ctx, "user", metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil {
			t.Fatal(err)
		}
		poll.Eventually(t, "claim and volume gone", func() error {
			if _, err := c.CoreV1().PersistentVolumeClaims(ns).Get(ctx, "used", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				return fmt.Errorf("claim: %v", err)
			}
			if _, err := c.CoreV1().PersistentVolumes().Get(ctx, "used", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				return fmt.Errorf("volume: %v", err)
			}
			return nil
		})
	})
}
