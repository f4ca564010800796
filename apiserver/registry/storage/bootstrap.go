package storage

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/skiff-dev/skiff/apis/helper"
	"github.com/skiff-dev/skiff/apiserver/registry"
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
	return registry.EnsureCreated(ctx, "StorageClass", sc.Name, func(ctx context.Context) error {
		_, err := client.StorageV1().StorageClasses().Create(ctx, sc, metav1.CreateOptions{})
		return err
	})
}
