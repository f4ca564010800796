package localpath

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiff-dev/skiff/apis/helper"
)

// The decisions of the provisioner, free of side effects: which claims and volumes are this
// node's, the PersistentVolume a claim gets, and what becomes of a released volume.

// ClaimProvisioner is the provisioner a claim waits for: the annotation the PV controller sets,
// else its beta form (as the external-provisioner reads them).
func ClaimProvisioner(claim *corev1.PersistentVolumeClaim) string {
	if p, ok := claim.Annotations[helper.AnnStorageProvisioner]; ok {
		return p
	}
	return claim.Annotations[helper.AnnBetaStorageProvisioner]
}

// WantsClaim reports whether node must provision the claim: it waits for skiff.dev/local-path,
// the node selected for it is node, it is not bound yet and not being deleted (the
// external-provisioner's shouldProvision in its node deployment, where each node takes the
// claims selected for it).
func WantsClaim(claim *corev1.PersistentVolumeClaim, node string) bool {
	return claim.Spec.VolumeName == "" &&
		claim.DeletionTimestamp == nil &&
		ClaimProvisioner(claim) == helper.LocalPathProvisioner &&
		claim.Annotations[helper.AnnSelectedNode] == node
}

// VolumeName is the name of the claim's PersistentVolume: "pvc-<claim uid>", the
// external-provisioner's default, so a second attempt finds the first one's volume.
func VolumeName(claim *corev1.PersistentVolumeClaim) string {
	return "pvc-" + string(claim.UID)
}

// CanProvision refuses what the provisioner never supports, before it starts (the
// external-provisioner's canProvision): block volumes.
func CanProvision(claim *corev1.PersistentVolumeClaim) error {
	if claim.Spec.VolumeMode != nil && *claim.Spec.VolumeMode == corev1.PersistentVolumeBlock {
		return fmt.Errorf("%s does not support block volume provisioning", helper.LocalPathProvisioner)
	}
	return nil
}

// PlanVolume is the PersistentVolume that provisions claim with class on this node: a local
// volume at <root>/<volume name>, pinned to the node by kubernetes.io/hostname = hostname (the
// node's hostname label, else its name), bound in advance to the claim through claimRef, as
// rancher's local-path-provisioner makes them. The error says why the claim cannot be
// provisioned (the ProvisioningFailed event's message).
func PlanVolume(claim *corev1.PersistentVolumeClaim, class *storagev1.StorageClass, root, hostname string) (*corev1.PersistentVolume, error) {
	if err := CanProvision(claim); err != nil {
		return nil, err
	}
	if class.Provisioner != helper.LocalPathProvisioner {
		return nil, fmt.Errorf("StorageClass %q has provisioner %q, not %s", class.Name, class.Provisioner, helper.LocalPathProvisioner)
	}
	if claim.Spec.Selector != nil {
		return nil, errors.New("claim.Spec.Selector is not supported")
	}
	if claim.Spec.DataSource != nil || claim.Spec.DataSourceRef != nil {
		return nil, fmt.Errorf("%s does not support volume data sources", helper.LocalPathProvisioner)
	}
	if len(claim.Spec.AccessModes) == 0 {
		return nil, errors.New("claim has no access modes")
	}
	for _, m := range claim.Spec.AccessModes {
		if m != corev1.ReadWriteOnce && m != corev1.ReadWriteOncePod {
			return nil, fmt.Errorf("%s only supports ReadWriteOnce and ReadWriteOncePod access modes, not %s", helper.LocalPathProvisioner, m)
		}
	}
	size, ok := claim.Spec.Resources.Requests[corev1.ResourceStorage]
	if !ok {
		return nil, errors.New("claim has no storage request")
	}
	reclaim := corev1.PersistentVolumeReclaimDelete
	if class.ReclaimPolicy != nil {
		reclaim = *class.ReclaimPolicy
	}
	name := VolumeName(claim)
	fs := corev1.PersistentVolumeFilesystem
	return &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Annotations: map[string]string{helper.AnnDynamicallyProvisioned: helper.LocalPathProvisioner},
			Finalizers:  []string{helper.ProvisionerDeletionFinalizer},
		},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: size},
			AccessModes:                   slices.Clone(claim.Spec.AccessModes),
			VolumeMode:                    &fs,
			PersistentVolumeReclaimPolicy: reclaim,
			StorageClassName:              helper.PersistentVolumeClaimClass(claim),
			MountOptions:                  slices.Clone(class.MountOptions),
			ClaimRef: &corev1.ObjectReference{
				Kind: "PersistentVolumeClaim", APIVersion: "v1",
				Namespace: claim.Namespace, Name: claim.Name, UID: claim.UID, ResourceVersion: claim.ResourceVersion,
			},
			PersistentVolumeSource: corev1.PersistentVolumeSource{
				Local: &corev1.LocalVolumeSource{Path: filepath.Join(root, name)},
			},
			NodeAffinity: &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{
				NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{{
					Key: corev1.LabelHostname, Operator: corev1.NodeSelectorOpIn, Values: []string{hostname},
				}}}},
			}},
		},
	}, nil
}

// Hostname is the value the node's volumes are pinned to: its kubernetes.io/hostname label,
// else its name.
func Hostname(node *corev1.Node, name string) string {
	if node != nil {
		if h := node.Labels[corev1.LabelHostname]; h != "" {
			return h
		}
	}
	return name
}

// OnNode reports whether the volume's required node affinity is kubernetes.io/hostname In one
// of hostnames (what PlanVolume writes).
func OnNode(pv *corev1.PersistentVolume, hostnames ...string) bool {
	if pv.Spec.NodeAffinity == nil || pv.Spec.NodeAffinity.Required == nil {
		return false
	}
	for _, t := range pv.Spec.NodeAffinity.Required.NodeSelectorTerms {
		for _, e := range t.MatchExpressions {
			if e.Key != corev1.LabelHostname || e.Operator != corev1.NodeSelectorOpIn {
				continue
			}
			for _, v := range e.Values {
				if slices.Contains(hostnames, v) {
					return true
				}
			}
		}
	}
	return false
}

// VolumeAction is what the provisioner does with one of its volumes.
type VolumeAction int

const (
	// VolumeKeep: nothing to do (bound, available, or already gone).
	VolumeKeep VolumeAction = iota
	// VolumeDelete: remove the directory, delete the object and drop the finalizer.
	VolumeDelete
	// VolumeRelease: the reclaim policy is no longer Delete, so the storage stays; only the
	// provisioner's finalizer is dropped.
	VolumeRelease
)

// DecideVolume is what node (known by hostnames) does with pv, as the external-provisioner's
// syncVolume: only volumes it provisioned on this node are its own; a Released one with
// reclaimPolicy Delete is deleted (also when the object is already being deleted, while the
// finalizer holds it); one whose policy became Retain or Recycle loses the finalizer.
func DecideVolume(pv *corev1.PersistentVolume, hostnames ...string) VolumeAction {
	if pv.Annotations[helper.AnnDynamicallyProvisioned] != helper.LocalPathProvisioner || !OnNode(pv, hostnames...) {
		return VolumeKeep
	}
	finalizer := slices.Contains(pv.Finalizers, helper.ProvisionerDeletionFinalizer)
	if pv.DeletionTimestamp != nil && !finalizer {
		return VolumeKeep // the storage was removed already
	}
	switch pv.Spec.PersistentVolumeReclaimPolicy {
	case corev1.PersistentVolumeReclaimDelete:
		if pv.Status.Phase == corev1.VolumeReleased {
			return VolumeDelete
		}
	case corev1.PersistentVolumeReclaimRetain, corev1.PersistentVolumeReclaimRecycle:
		if finalizer {
			return VolumeRelease
		}
	}
	return VolumeKeep
}

// VolumeDir is the directory of a volume this provisioner made: its local path, which must be
// a directory directly under root (anything else is refused, so a volume edited to point
// elsewhere never has that removed).
func VolumeDir(pv *corev1.PersistentVolume, root string) (string, error) {
	if pv.Spec.Local == nil {
		return "", fmt.Errorf("volume %s has no local path", pv.Name)
	}
	p := pv.Spec.Local.Path
	clean := filepath.Clean(p)
	if !filepath.IsAbs(p) || clean != p || filepath.Dir(clean) != filepath.Clean(root) || filepath.Base(clean) == ".." {
		return "", fmt.Errorf("refusing to delete %q of volume %s: not a directory directly under %s", p, pv.Name, root)
	}
	return clean, nil
}
