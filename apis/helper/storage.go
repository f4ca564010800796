package helper

import (
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
)

// The annotations and finalizers of upstream's volume binding, provisioning and protection
// (pkg/controller/volume/persistentvolume/util, the external-provisioner and the protection
// controllers), shared by the API server's admission, the PV controller, the scheduler and the
// node agent's local provisioner.
const (
	// AnnSelectedNode is set on a claim by the scheduler: the node its WaitForFirstConsumer
	// volume must be provisioned on.
	AnnSelectedNode = "volume.kubernetes.io/selected-node"
	// AnnStorageProvisioner (and the beta one) name the provisioner a claim waits for; the PV
	// controller sets them when the claim needs dynamic provisioning.
	AnnStorageProvisioner     = "volume.kubernetes.io/storage-provisioner"
	AnnBetaStorageProvisioner = "volume.beta.kubernetes.io/storage-provisioner"
	// AnnDynamicallyProvisioned is the provisioner that created a PersistentVolume.
	AnnDynamicallyProvisioned = "pv.kubernetes.io/provisioned-by"
	// AnnBindCompleted marks a claim whose binding the PV controller finished;
	// AnnBoundByController marks a claim or volume the controller (not the user) bound.
	AnnBindCompleted     = "pv.kubernetes.io/bind-completed"
	AnnBoundByController = "pv.kubernetes.io/bound-by-controller"
	// AnnBetaStorageClass is the deprecated annotation form of storageClassName.
	AnnBetaStorageClass = "volume.beta.kubernetes.io/storage-class"
	// AnnDefaultStorageClass (and the beta one) mark the default StorageClass.
	AnnDefaultStorageClass     = "storageclass.kubernetes.io/is-default-class"
	AnnBetaDefaultStorageClass = "storageclass.beta.kubernetes.io/is-default-class"

	// PVCProtectionFinalizer keeps a claim while pods use it; PVProtectionFinalizer keeps a
	// volume while it is bound.
	PVCProtectionFinalizer = "kubernetes.io/pvc-protection"
	PVProtectionFinalizer  = "kubernetes.io/pv-protection"
	// ProvisionerDeletionFinalizer keeps a dynamically provisioned volume until its provisioner
	// removed the storage (the external-provisioner's finalizer).
	ProvisionerDeletionFinalizer = "external-provisioner.volume.kubernetes.io/finalizer"

	// NoProvisioner is the provisioner of classes whose volumes are created by hand.
	NoProvisioner = "kubernetes.io/no-provisioner"
	// LocalPathProvisioner is Skiff's built-in provisioner: a directory on the node the pod was
	// scheduled to, made by that node's agent. LocalPathClass is its default StorageClass.
	LocalPathProvisioner = "skiff.dev/local-path"
	LocalPathClass       = "local-path"
)

// PersistentVolumeClaimClass is the claim's class: the beta annotation, else spec.storageClassName
// ("" when neither is set), as upstream's storagehelpers.GetPersistentVolumeClaimClass.
func PersistentVolumeClaimClass(pvc *corev1.PersistentVolumeClaim) string {
	if c, ok := pvc.Annotations[AnnBetaStorageClass]; ok {
		return c
	}
	if pvc.Spec.StorageClassName != nil {
		return *pvc.Spec.StorageClassName
	}
	return ""
}

// PersistentVolumeClass is the volume's class: the beta annotation, else spec.storageClassName.
func PersistentVolumeClass(pv *corev1.PersistentVolume) string {
	if c, ok := pv.Annotations[AnnBetaStorageClass]; ok {
		return c
	}
	return pv.Spec.StorageClassName
}

// IsDefaultStorageClass reports whether the class carries the default-class annotation "true".
func IsDefaultStorageClass(sc *storagev1.StorageClass) bool {
	return sc.Annotations[AnnDefaultStorageClass] == "true" || sc.Annotations[AnnBetaDefaultStorageClass] == "true"
}

// EphemeralClaimName is the name of the claim of a pod's generic ephemeral volume, as upstream's
// ephemeral.VolumeClaimName: "<pod name>-<volume name>".
func EphemeralClaimName(pod *corev1.Pod, volume *corev1.Volume) string {
	return pod.Name + "-" + volume.Name
}

// PodClaimNames lists the claims the pod's volumes use, in volume order: persistentVolumeClaim
// volumes by claimName, ephemeral ones by EphemeralClaimName.
func PodClaimNames(pod *corev1.Pod) []string {
	var out []string
	for i := range pod.Spec.Volumes {
		v := &pod.Spec.Volumes[i]
		switch {
		case v.PersistentVolumeClaim != nil:
			out = append(out, v.PersistentVolumeClaim.ClaimName)
		case v.Ephemeral != nil:
			out = append(out, EphemeralClaimName(pod, v))
		}
	}
	return out
}

// BindsOnFirstConsumer reports whether a class (nil: none) delays binding and provisioning
// until a pod using the claim is scheduled (volumeBindingMode WaitForFirstConsumer).
func BindsOnFirstConsumer(sc *storagev1.StorageClass) bool {
	return sc != nil && sc.VolumeBindingMode != nil && *sc.VolumeBindingMode == storagev1.VolumeBindingWaitForFirstConsumer
}

// PersistentVolumeClaimHasClass reports whether the claim asked for a class (even ""): the beta
// annotation or spec.storageClassName is set, as upstream's PersistentVolumeClaimHasClass.
func PersistentVolumeClaimHasClass(pvc *corev1.PersistentVolumeClaim) bool {
	_, ok := pvc.Annotations[AnnBetaStorageClass]
	return ok || pvc.Spec.StorageClassName != nil
}

// DefaultStorageClass is the default class among classes, as upstream's GetDefaultClass: of
// those marked default, the newest, ties to the first name; nil when none is marked.
func DefaultStorageClass(classes []*storagev1.StorageClass) *storagev1.StorageClass {
	var def *storagev1.StorageClass
	for _, sc := range classes {
		if !IsDefaultStorageClass(sc) {
			continue
		}
		if def == nil {
			def = sc
			continue
		}
		t, dt := sc.CreationTimestamp.UnixNano(), def.CreationTimestamp.UnixNano()
		if t > dt || (t == dt && sc.Name < def.Name) {
			def = sc
		}
	}
	return def
}
