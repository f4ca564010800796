// Package persistentvolume is upstream's PV controller (the persistent-volume-binder of
// kube-controller-manager) with its protection and expansion parts, for Skiff's storage.
//
// Controller binds claims and volumes. A claim without spec.volumeName gets the smallest
// Available volume of its class, access modes, volume mode, selector and capacity (upstream's
// FindMatchingVolume, from k8s.io/component-helpers); a claim naming its volume gets that volume
// when it satisfies the claim ("Cannot bind to requested volume ..." otherwise). Binding writes
// the volume's claimRef and phase, then the claim's volumeName, its bind-completed and
// bound-by-controller annotations and its status (phase, access modes, capacity), each step
// skipped when done. Without a volume: a claim without a class gets the default class
// retroactively; a claim of a WaitForFirstConsumer class waits for the scheduler's
// selected-node annotation (events WaitForFirstConsumer / WaitForPodScheduled); a class with a
// provisioner gets the storage-provisioner annotations (ExternalProvisioning event), and for the
// built-in skiff.dev/local-path provisioner with Immediate binding the controller picks the node
// itself; an unknown class is a ProvisioningFailed event; no class at all is FailedBinding. A
// bound claim whose volume is gone or bound elsewhere is Lost.
//
// A volume whose claim is gone is Released and its reclaim policy runs: Retain keeps it, Delete
// of a dynamically provisioned volume is left to its provisioner (the node agent's local-path
// provisioner removes the directory and the volume), and Delete or Recycle of a hand-made
// volume fail (phase Failed, VolumeFailedDelete / VolumeFailedRecycle), as upstream without an
// in-tree plugin for them. A volume the controller bound to a claim that bound elsewhere is
// unbound.
//
// A bound claim asking for more storage than its status capacity (admission allowed it: the
// class has allowVolumeExpansion) grows: a local-path volume is a directory without a size
// limit, so its capacity and then the claim's status capacity are set to the request (events
// Resizing, VolumeResizeSuccessful); other volumes wait for an external resizer
// (ExternalExpanding).
//
// The decisions (planClaim, planVolume, planExpansion) are pure and table-tested; Controller
// carries them out through the API. Protection removes kubernetes.io/pvc-protection from a
// deleted claim once no pod uses it (checked in the cache, then live) and
// kubernetes.io/pv-protection from a deleted volume once it is not Bound.
package persistentvolume
