package storage

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"

	"github.com/skiff-dev/skiff/apis/helper"
)

// DefaultStorageClass is the built-in class: the default one, provisioned by the node agents'
// local-path provisioner on the node the pod was scheduled to (hence WaitForFirstConsumer),
// deleted with its claim, and expandable.
func DefaultStorageClass() *storagev1.StorageClass {
	reclaim := corev1.PersistentVolumeReclaimDelete
	binding := storagev1.VolumeBindingWaitForFirstConsumer
	expand := true
	return &storagev1.StorageClass{
		ObjectMeta: metav1.ObjectMeta{
			Name:        helper.LocalPathClass,
			Annotations: map[string]string{helper.AnnDefaultStorageClass: "true"},
		},
		Provisioner:          helper.LocalPathProvisioner,
		ReclaimPolicy:        &reclaim,
		VolumeBindingMode:    &binding,
		AllowVolumeExpansion: &expand,
	}
}

// EnsureDefaultStorageClass creates DefaultStorageClass unless a class of its name exists,
// retrying until ctx ends. An existing class (edited, or the user's own) is left as it is; a
// deleted one comes back at the next start (Options.DisableDefaultStorageClass turns this off).
func EnsureDefaultStorageClass(ctx context.Context, client kubernetes.Interface) error {
	sc := DefaultStorageClass()
	for {
		_, err := client.StorageV1().StorageClasses().Create(ctx, sc, metav1.CreateOptions{})
		if err == nil || apierrors.IsAlreadyExists(err) {
			return nil
		}
		klog.FromContext(ctx).Info("Retrying default storage class creation", "storageClass", sc.Name, "err", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}
