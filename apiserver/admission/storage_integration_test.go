package admission_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/skiff-dev/skiff/apis/helper"
	"github.com/skiff-dev/skiff/apiserver"
	"github.com/skiff-dev/skiff/apiserver/apiservertest"
	"github.com/skiff-dev/skiff/apiserver/authorization"
	"github.com/skiff-dev/skiff/test/poll"
)

// TestStorage runs the storage API against a real server: the built-in default class, class
// defaults and validation, the claim admission plugins, resize, quota and the controllers' roles.
func TestStorage(t *testing.T) {
	s := apiservertest.Start(t)
	c, ctx := s.Client, context.Background()
	newNamespace(t, c, "vol")
	claim := func(name string, class *string, size string) *corev1.PersistentVolumeClaim {
		return &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			StorageClassName: class,
			Resources:        corev1.VolumeResourceRequirements{Requests: rl("storage", size)}}}
	}

	t.Run("the built-in default class", func(t *testing.T) {
		sc, err := c.StorageV1().StorageClasses().Get(ctx, helper.LocalPathClass, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if sc.Provisioner != helper.LocalPathProvisioner || !helper.IsDefaultStorageClass(sc) || *sc.ReclaimPolicy != corev1.PersistentVolumeReclaimDelete ||
			*sc.VolumeBindingMode != storagev1.VolumeBindingWaitForFirstConsumer || sc.AllowVolumeExpansion == nil || !*sc.AllowVolumeExpansion {
			t.Errorf("local-path: %+v", sc)
		}
	})

	t.Run("discovery, OpenAPI and the sc table", func(t *testing.T) {
		resources, err := c.Discovery().ServerResourcesForGroupVersion("storage.k8s.io/v1")
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, r := range resources.APIResources {
			got[r.Name] = fmt.Sprintf("%v %v", r.Namespaced, r.ShortNames)
		}
		for name, want := range map[string]string{"storageclasses": "false [sc]", "volumeattributesclasses": "false [vac]", "csidrivers": "false []",
			"csinodes": "false []", "csinodes/status": "false []", "volumeattachments": "false []", "volumeattachments/status": "false []",
			"csistoragecapacities": "true []"} {
			if got[name] != want {
				t.Errorf("%s: %q, want %q", name, got[name], want)
			}
		}
		paths, err := c.Discovery().OpenAPIV3().Paths()
		if err != nil || paths["apis/storage.k8s.io/v1"] == nil {
			t.Errorf("OpenAPI v3 lacks storage.k8s.io/v1: %v", err)
		}
		table := &metav1.Table{}
		err = c.StorageV1().RESTClient().Get().Resource("storageclasses").
			SetHeader("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io").Do(ctx).Into(table)
		if err != nil || len(table.Rows) != 1 || table.Rows[0].Cells[0] != "local-path (default)" || table.ColumnDefinitions[1].Name != "Provisioner" {
			t.Errorf("table: %+v, %v", table, err)
		}
	})

	t.Run("a class gets upstream's defaults; a bad one is refused with field paths", func(t *testing.T) {
		sc, err := c.StorageV1().StorageClasses().Create(ctx, &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "fast"},
			Provisioner: "example.com/fast", Parameters: map[string]string{"tier": "1"}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if *sc.ReclaimPolicy != corev1.PersistentVolumeReclaimDelete || *sc.VolumeBindingMode != storagev1.VolumeBindingImmediate {
			t.Errorf("defaults: %v %v", *sc.ReclaimPolicy, *sc.VolumeBindingMode)
		}
		recycle := corev1.PersistentVolumeReclaimRecycle
		_, err = c.StorageV1().StorageClasses().Create(ctx, &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "bad"}, ReclaimPolicy: &recycle},
			metav1.CreateOptions{})
		expectInvalid(t, err, `StorageClass.storage.k8s.io "bad" is invalid`, "provisioner", "reclaimPolicy")
		sc.Parameters = map[string]string{"tier": "2"}
		_, err = c.StorageV1().StorageClasses().Update(ctx, sc, metav1.UpdateOptions{})
		expectInvalid(t, err, "parameters: Invalid value", "parameters")
	})

	t.Run("a bad claim is refused with field paths", func(t *testing.T) {
		bad := claim("bad", strPtr("Not_A_Name"), "0")
		bad.Spec.AccessModes = []corev1.PersistentVolumeAccessMode{"ReadSometimes"}
		_, err := c.CoreV1().PersistentVolumeClaims("vol").Create(ctx, bad, metav1.CreateOptions{})
		expectInvalid(t, err, `PersistentVolumeClaim "bad" is invalid`, "spec.accessModes", "spec.resources[storage]", "spec.storageClassName")
	})

	t.Run("a new claim gets the default class and the protection finalizer", func(t *testing.T) {
		pvc, err := c.CoreV1().PersistentVolumeClaims("vol").Create(ctx, claim("data", nil, "1Gi"), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if pvc.Spec.StorageClassName == nil || *pvc.Spec.StorageClassName != helper.LocalPathClass || !slices.Contains(pvc.Finalizers, helper.PVCProtectionFinalizer) ||
			*pvc.Spec.VolumeMode != corev1.PersistentVolumeFilesystem || pvc.Status.Phase != corev1.ClaimPending {
			t.Errorf("claim: class %v, finalizers %v, mode %v, phase %v", pvc.Spec.StorageClassName, pvc.Finalizers, pvc.Spec.VolumeMode, pvc.Status.Phase)
		}
		none, err := c.CoreV1().PersistentVolumeClaims("vol").Create(ctx, claim("no-class", strPtr(""), "1Gi"), metav1.CreateOptions{})
		if err != nil || *none.Spec.StorageClassName != "" {
			t.Errorf(`an explicit "" class must stay: %v %v`, none.Spec.StorageClassName, err)
		}
		pv, err := c.CoreV1().PersistentVolumes().Create(ctx, &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "pv-1"},
			Spec: corev1.PersistentVolumeSpec{Capacity: rl("storage", "1Gi"), AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				PersistentVolumeSource: corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/tmp/pv-1"}}}}, metav1.CreateOptions{})
		if err != nil || !slices.Contains(pv.Finalizers, helper.PVProtectionFinalizer) {
			t.Errorf("volume finalizers: %v, %v", pv.Finalizers, err)
		}
	})

	t.Run("a bound claim grows only when its class allows expansion", func(t *testing.T) {
		pvc, err := c.CoreV1().PersistentVolumeClaims("vol").Create(ctx, claim("grow", strPtr("fast"), "1Gi"), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		pvc.Status = corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimBound, Capacity: rl("storage", "1Gi"),
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}}
		if pvc, err = c.CoreV1().PersistentVolumeClaims("vol").UpdateStatus(ctx, pvc, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		pvc.Spec.Resources.Requests = rl("storage", "2Gi")
		_, err = c.CoreV1().PersistentVolumeClaims("vol").Update(ctx, pvc, metav1.UpdateOptions{})
		want := `persistentvolumeclaims "grow" is forbidden: only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize`
		if !apierrors.IsForbidden(err) || err.Error() != want {
			t.Fatalf("resize: got %v, want 403 %q", err, want)
		}
		// Shrinking to the capacity is invalid, whatever the class.
		pvc.Spec.Resources.Requests = rl("storage", "500Mi")
		_, err = c.CoreV1().PersistentVolumeClaims("vol").Update(ctx, pvc, metav1.UpdateOptions{})
		expectInvalid(t, err, "field can not be less than status.capacity", "spec.resources.requests.storage")

		if _, err := c.StorageV1().StorageClasses().Patch(ctx, "fast", types.MergePatchType, []byte(`{"allowVolumeExpansion":true}`), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		pvc.Spec.Resources.Requests = rl("storage", "2Gi")
		// Admission reads classes through an informer: wait for it to see the change.
		poll.Until(t, 10*time.Second, "resize allowed", func() error {
			_, err := c.CoreV1().PersistentVolumeClaims("vol").Update(ctx, pvc, metav1.UpdateOptions{})
			return err
		})
	})

	t.Run("claims over quota are refused, per class too", func(t *testing.T) {
		newNamespace(t, c, "volq")
		createQuota(t, c, "volq", rl("requests.storage", "1Gi", "local-path.storageclass.storage.k8s.io/persistentvolumeclaims", "1"))
		poll.Until(t, 20*time.Second, "quota charged", func() error {
			if _, err := c.CoreV1().PersistentVolumeClaims("volq").Create(ctx, claim("a", nil, "600Mi"), metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
				return err
			}
			q, err := c.CoreV1().ResourceQuotas("volq").Get(ctx, "quota", metav1.GetOptions{})
			if err != nil {
				return err
			}
			if got := q.Status.Used["requests.storage"]; got.String() != "600Mi" {
				return fmt.Errorf("used requests.storage %s, want 600Mi", got.String())
			}
			return nil
		})
		_, err := c.CoreV1().PersistentVolumeClaims("volq").Create(ctx, claim("b", strPtr("fast"), "600Mi"), metav1.CreateOptions{})
		want := `persistentvolumeclaims "b" is forbidden: exceeded quota: quota, requested: requests.storage=600Mi, used: requests.storage=600Mi, limited: requests.storage=1Gi`
		if !apierrors.IsForbidden(err) || err.Error() != want {
			t.Errorf("over quota: got %v, want 403 %q", err, want)
		}
		_, err = c.CoreV1().PersistentVolumeClaims("volq").Create(ctx, claim("c", nil, "100Mi"), metav1.CreateOptions{})
		want = `persistentvolumeclaims "c" is forbidden: exceeded quota: quota, requested: local-path.storageclass.storage.k8s.io/persistentvolumeclaims=1, ` +
			`used: local-path.storageclass.storage.k8s.io/persistentvolumeclaims=1, limited: local-path.storageclass.storage.k8s.io/persistentvolumeclaims=1`
		if !apierrors.IsForbidden(err) || err.Error() != want {
			t.Errorf("over the class quota: got %v, want 403 %q", err, want)
		}
		// A resize is charged the growth.
		a, err := c.CoreV1().PersistentVolumeClaims("volq").Get(ctx, "a", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		a.Status = corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimBound, Capacity: rl("storage", "600Mi")}
		if a, err = c.CoreV1().PersistentVolumeClaims("volq").UpdateStatus(ctx, a, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		a.Spec.Resources.Requests = rl("storage", "2Gi")
		_, err = c.CoreV1().PersistentVolumeClaims("volq").Update(ctx, a, metav1.UpdateOptions{})
		want = `persistentvolumeclaims "a" is forbidden: exceeded quota: quota, requested: requests.storage=1448Mi, used: requests.storage=600Mi, limited: requests.storage=1Gi`
		if !apierrors.IsForbidden(err) || err.Error() != want {
			t.Errorf("resize over quota: got %v, want 403 %q", err, want)
		}
	})

	t.Run("the controller manager may run the volume controllers and volume binding", func(t *testing.T) {
		for _, a := range []authorizationv1.ResourceAttributes{
			{Verb: "update", Resource: "persistentvolumeclaims", Subresource: "status", Namespace: "vol"},
			{Verb: "update", Resource: "persistentvolumes"},
			{Verb: "patch", Resource: "persistentvolumeclaims", Namespace: "vol"},
			{Verb: "create", Resource: "persistentvolumes"},
			{Verb: "watch", Group: "storage.k8s.io", Resource: "storageclasses"},
			{Verb: "list", Group: "storage.k8s.io", Resource: "csistoragecapacities"},
			{Verb: "update", Resource: "pods", Subresource: "finalizers", Namespace: "vol"},
		} {
			allowed(t, c, authorization.ControllerManagerUser, a, true)
		}
		allowed(t, c, authorization.SchedulerUser, authorizationv1.ResourceAttributes{Verb: "patch", Resource: "persistentvolumes"}, true)
		allowed(t, c, authorization.SchedulerUser, authorizationv1.ResourceAttributes{Verb: "delete", Resource: "persistentvolumes"}, false)
	})
}

// TestNoDefaultStorageClass: with the option set, no class is created and claims keep no class.
func TestNoDefaultStorageClass(t *testing.T) {
	s := apiservertest.StartOnWith(t, t.TempDir(), func(o *apiserver.Options) { o.DisableDefaultStorageClass = true })
	c, ctx := s.Client, context.Background()
	list, err := c.StorageV1().StorageClasses().List(ctx, metav1.ListOptions{})
	if err != nil || len(list.Items) != 0 {
		t.Fatalf("classes: %v, %v", list, err)
	}
	pvc, err := c.CoreV1().PersistentVolumeClaims("default").Create(ctx, &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "data"},
		Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources: corev1.VolumeResourceRequirements{Requests: rl("storage", "1Gi")}}}, metav1.CreateOptions{})
	if err != nil || pvc.Spec.StorageClassName != nil {
		t.Fatalf("claim: %v, %v", pvc, err)
	}
}

func strPtr(s string) *string { return &s }

// expectInvalid checks a 422 whose message contains msg and whose causes name each field.
func expectInvalid(t *testing.T, err error, msg string, fields ...string) {
	t.Helper()
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), msg) {
		t.Fatalf("got %v, want 422 with %q", err, msg)
	}
	var got []string
	if status, ok := err.(apierrors.APIStatus); ok && status.Status().Details != nil {
		for _, cause := range status.Status().Details.Causes {
			got = append(got, cause.Field)
		}
	}
	for _, f := range fields {
		if !slices.Contains(got, f) {
			t.Errorf("causes %v lack %s (%v)", got, f, err)
		}
	}
}

func allowed(t *testing.T, c kubernetes.Interface, user string, a authorizationv1.ResourceAttributes, want bool) {
	t.Helper()
	review, err := c.AuthorizationV1().SubjectAccessReviews().Create(context.Background(), &authorizationv1.SubjectAccessReview{
		Spec: authorizationv1.SubjectAccessReviewSpec{User: user, ResourceAttributes: &a}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if review.Status.Allowed != want {
		t.Errorf("%s %+v: allowed %v, want %v (%s)", user, a, review.Status.Allowed, want, review.Status.Reason)
	}
}
