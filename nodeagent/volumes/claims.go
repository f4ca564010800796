package volumes

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/component-helpers/storage/ephemeral"

	"github.com/skiff-dev/skiff/apis/helper"
	"github.com/skiff-dev/skiff/nodeagent/localpath"
)

// claimVolume sets up a persistentVolumeClaim volume, or a generic ephemeral one (whose claim,
// named by EphemeralClaimName, must have been created for the pod), as the kubelet's desired
// state populator resolves them: the claim must be bound, and the PersistentVolume bound to it
// gives the path. Nothing is made under the pod's directory: the runtime mounts the volume's
// own path, so removing the pod's directory never touches the data.
func (m *Manager) claimVolume(ctx context.Context, pod *corev1.Pod, v *corev1.Volume, fsGroup *int64) (Volume, error) {
	name, readOnly := "", false
	if v.PersistentVolumeClaim != nil {
		name, readOnly = v.PersistentVolumeClaim.ClaimName, v.PersistentVolumeClaim.ReadOnly
	} else {
		name = helper.EphemeralClaimName(pod, v)
	}
	pvc, err := m.Client.CoreV1().PersistentVolumeClaims(pod.Namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return Volume{}, NotFound("persistentvolumeclaim", name)
	}
	if err != nil {
		return Volume{}, err
	}
	if v.Ephemeral != nil {
		if err := ephemeral.VolumeIsForPod(pod, pvc); err != nil {
			return Volume{}, err
		}
	}
	if err := ClaimUsable(pvc); err != nil {
		return Volume{}, fmt.Errorf("error processing PVC %s/%s: %w", pod.Namespace, name, err)
	}
	pv, err := m.Client.CoreV1().PersistentVolumes().Get(ctx, pvc.Spec.VolumeName, metav1.GetOptions{})
	if err != nil {
		return Volume{}, fmt.Errorf("error processing PVC %s/%s: failed to fetch PV %s from API server: %w", pod.Namespace, name, pvc.Spec.VolumeName, err)
	}
	if err := VolumeBoundTo(pv, pvc); err != nil {
		return Volume{}, fmt.Errorf("error processing PVC %s/%s: %w", pod.Namespace, name, err)
	}
	path, local, err := PersistentVolumePath(pv)
	if err != nil {
		return Volume{}, err
	}
	switch {
	case pv.Spec.HostPath != nil:
		if err := checkHostPath(pv.Spec.HostPath); err != nil {
			return Volume{}, err
		}
	case pv.Annotations[helper.AnnDynamicallyProvisioned] == helper.LocalPathProvisioner && localpath.OnNode(pv, m.Hostnames...):
		// This node's provisioner made it; make it again if it went away (a wiped data dir).
		// One of another node is never made here: the pod would get an empty volume.
		if err := localpath.MakeDir(path); err != nil {
			return Volume{}, err
		}
	default:
		if _, err := os.Stat(path); err != nil {
			return Volume{}, fmt.Errorf("path %q of local volume %s: %w", path, pv.Name, err)
		}
	}
	readOnly = readOnly || ReadOnlyAccess(pv)
	// The local plugin manages ownership (SetVolumeOwnership once, when the pod mounts it
	// writable); hostPath does not.
	if local && fsGroup != nil && !readOnly && m.firstSetUp(string(pod.UID), v.Name) {
		var policy *corev1.PodFSGroupChangePolicy
		if pod.Spec.SecurityContext != nil {
			policy = pod.Spec.SecurityContext.FSGroupChangePolicy
		}
		if err := SetVolumeOwnership(path, *fsGroup, policy); err != nil {
			m.forgetSetUp(string(pod.UID), v.Name)
			return Volume{}, err
		}
	}
	return Volume{Path: path, ReadOnly: readOnly}, nil
}

// ClaimUsable is the kubelet's check of a pod's claim (getPVCExtractPV): not being deleted
// (unless still protected, while its pods run), bound, with a volume name.
func ClaimUsable(pvc *corev1.PersistentVolumeClaim) error {
	if pvc.DeletionTimestamp != nil && !slices.Contains(pvc.Finalizers, helper.PVCProtectionFinalizer) {
		return errors.New("PVC is being deleted")
	}
	if pvc.Status.Phase != corev1.ClaimBound {
		return errors.New("PVC is not bound")
	}
	if pvc.Spec.VolumeName == "" {
		return errors.New("PVC has empty pvc.Spec.VolumeName")
	}
	return nil
}

// VolumeBoundTo is the kubelet's check that the claim's volume is bound to it (getPVSpec).
func VolumeBoundTo(pv *corev1.PersistentVolume, pvc *corev1.PersistentVolumeClaim) error {
	if pv.Spec.ClaimRef == nil {
		return fmt.Errorf("found PV object %s but it has a nil pv.Spec.ClaimRef indicating it is not yet bound to the claim", pv.Name)
	}
	if pv.Spec.ClaimRef.UID != pvc.UID {
		return fmt.Errorf("found PV object %s but its pv.Spec.ClaimRef.UID %s does not point to claim.UID %s", pv.Name, pv.Spec.ClaimRef.UID, pvc.UID)
	}
	return nil
}

// PersistentVolumePath is the host path of a volume Skiff can mount: a `local` volume's path
// (local reports it, for ownership management) or a `hostPath` one's. Other sources, and block
// volumes, are refused.
func PersistentVolumePath(pv *corev1.PersistentVolume) (path string, local bool, err error) {
	if pv.Spec.VolumeMode != nil && *pv.Spec.VolumeMode == corev1.PersistentVolumeBlock {
		return "", false, fmt.Errorf("volume %s has volumeMode Block: block volumes are not supported by skiff", pv.Name)
	}
	switch {
	case pv.Spec.Local != nil:
		return pv.Spec.Local.Path, true, nil
	case pv.Spec.HostPath != nil:
		return pv.Spec.HostPath.Path, false, nil
	}
	return "", false, fmt.Errorf("volume type of PersistentVolume %s not supported by skiff (only local and hostPath)", pv.Name)
}

// ReadOnlyAccess reports whether the volume may only be read: its access modes are all
// ReadOnlyMany (a CSI driver publishes such a volume read-only).
func ReadOnlyAccess(pv *corev1.PersistentVolume) bool {
	if len(pv.Spec.AccessModes) == 0 {
		return false
	}
	for _, m := range pv.Spec.AccessModes {
		if m != corev1.ReadOnlyMany {
			return false
		}
	}
	return true
}

// firstSetUp records that the pod's volume was set up, reporting whether it was the first time
// (for this agent).
func (m *Manager) firstSetUp(uid, volume string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.setUpDone == nil {
		m.setUpDone = map[string]map[string]bool{}
	}
	if m.setUpDone[uid][volume] {
		return false
	}
	if m.setUpDone[uid] == nil {
		m.setUpDone[uid] = map[string]bool{}
	}
	m.setUpDone[uid][volume] = true
	return true
}

func (m *Manager) forgetSetUp(uid, volume string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.setUpDone[uid], volume)
}
