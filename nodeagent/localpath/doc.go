// Package localpath is the node agent's built-in dynamic provisioner, skiff.dev/local-path:
// every agent is the provisioner of its own node, as kubernetes-csi's external-provisioner runs
// in its distributed "node deployment" mode (one per node, each taking the claims the scheduler
// selected for it), and it makes volumes as rancher's local-path-provisioner does: a directory.
//
// It watches PersistentVolumeClaims in every namespace. A claim the PV controller handed to
// skiff.dev/local-path (annotation volume.kubernetes.io/storage-provisioner) whose
// volume.kubernetes.io/selected-node is this node, unbound and not being deleted, gets the
// directory <Root>/pvc-<claim uid> (mode 0777) and a PersistentVolume of the same name: a
// `local` volume at that path, pinned to the node by a kubernetes.io/hostname node affinity,
// with the claim's size and access modes (ReadWriteOnce and ReadWriteOncePod only; Filesystem
// only), the class's reclaim policy (default Delete) and mount options, a claimRef to the claim
// (the PV controller completes the binding), the annotation pv.kubernetes.io/provisioned-by and
// the external-provisioner's deletion finalizer. Events on the claim are the
// external-provisioner's: Provisioning, ProvisioningSucceeded, ProvisioningFailed.
//
// It watches PersistentVolumes too: one it provisioned on this node that is Released with
// reclaimPolicy Delete has its directory removed (only ever a directory directly under Root),
// is deleted, and loses the finalizer; one whose policy became Retain or Recycle loses the
// finalizer and keeps its data.
//
// The decisions (decide.go: WantsClaim, PlanVolume, DecideVolume, VolumeDir) are pure and
// table-tested; localpath.go carries them out. The simulated nodes do not run it.
package localpath
