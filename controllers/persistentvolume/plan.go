package persistentvolume

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	volumehelpers "k8s.io/component-helpers/storage/volume"

	"github.com/skiff-dev/skiff/apis/helper"
)

// Event reasons of upstream's PV controller (pkg/controller/volume/events).
const (
	reasonFailedBinding         = "FailedBinding"
	reasonVolumeMismatch        = "VolumeMismatch"
	reasonWaitForFirstConsumer  = "WaitForFirstConsumer"
	reasonWaitForPodScheduled   = "WaitForPodScheduled"
	reasonExternalProvisioning  = "ExternalProvisioning"
	reasonProvisioningFailed    = "ProvisioningFailed"
	reasonClaimLost             = "ClaimLost"
	reasonClaimMisbound         = "ClaimMisbound"
	reasonVolumeFailedDelete    = "VolumeFailedDelete"
	reasonVolumeFailedRecycle   = "VolumeFailedRecycle"
	reasonVolumeUnknownReclaim  = "VolumeUnknownReclaimPolicy"
	msgNoClassNoVolume          = "no persistent volumes available for this claim and no storage class is set"
	msgWaitForFirstConsumer     = "waiting for first consumer to be created before binding"
	msgClaimLostReference       = "Bound claim has lost reference to PersistentVolume. Data on the volume is lost!"
	msgClaimLostVolume          = "Bound claim has lost its PersistentVolume. Data on the volume is lost!"
	msgClaimMisbound            = "Two claims are bound to the same volume, this one is bound incorrectly"
	msgNoRecycler               = "No recycler plugin found for the volume!"
	msgUnknownReclaim           = "Volume has unrecognized PersistentVolumeReclaimPolicy"
	externalProvisioningMessage = "Waiting for a volume to be created either by the external provisioner '%s' " +
		"or manually by the system administrator. If volume creation is delayed, please verify that " +
		"the provisioner is running and correctly registered."
)

// event is a core/v1 event the controller records on the object it synced.
type event struct {
	Type, Reason, Message string
}

// state is what the controller knows of the cluster when it syncs one object: listers over
// its informer caches, as plain functions so that tests give maps.
type state struct {
	// Volumes are all PersistentVolumes.
	Volumes []*corev1.PersistentVolume
	// Volume returns a volume by name (nil when absent).
	Volume func(name string) *corev1.PersistentVolume
	// Class returns a StorageClass by name (nil when absent).
	Class func(name string) *storagev1.StorageClass
	// DefaultClass is the default StorageClass, nil when none.
	DefaultClass *storagev1.StorageClass
	// UnscheduledPods are the names of the pods not yet on a node that use the claim being synced.
	UnscheduledPods []string
}

// claimPlan is what syncing a claim decided: at most one change of the claim's spec or
// annotations, or a binding, and the status phase; the executor applies them in that order.
type claimPlan struct {
	// Bind binds the claim to this volume (volume claimRef, phases, claim volumeName and status).
	Bind *corev1.PersistentVolume
	// AssignClass sets the claim's storageClassName (retroactive default class).
	AssignClass string
	// Provisioner sets the storage-provisioner annotations (dynamic provisioning requested).
	Provisioner string
	// SelectNode asks the executor to choose a node for an Immediate local-path claim.
	SelectNode bool
	// Phase sets status.phase (clearing capacity and access modes when not bound); "" keeps it.
	Phase corev1.PersistentVolumeClaimPhase
	// PhaseEvent is recorded only when Phase changes the claim's phase.
	PhaseEvent *event
	// Event is recorded in any case.
	Event *event
	// Err makes the sync fail and retry (a binding that should never happen).
	Err error
}

// delayBinding is upstream's IsDelayBindingMode: the claim's class exists and binds on first
// consumer.
func delayBinding(claim *corev1.PersistentVolumeClaim, s *state) bool {
	name := helper.PersistentVolumeClaimClass(claim)
	return name != "" && helper.BindsOnFirstConsumer(s.Class(name))
}

// planClaim is upstream's syncClaim (syncUnboundClaim and syncBoundClaim) as a decision.
func planClaim(claim *corev1.PersistentVolumeClaim, s *state) claimPlan {
	if !metav1.HasAnnotation(claim.ObjectMeta, helper.AnnBindCompleted) {
		return planUnboundClaim(claim, s)
	}
	if claim.Spec.VolumeName == "" {
		return claimPlan{Phase: corev1.ClaimLost, PhaseEvent: &event{corev1.EventTypeWarning, reasonClaimLost, msgClaimLostReference}}
	}
	volume := s.Volume(claim.Spec.VolumeName)
	switch {
	case volume == nil:
		return claimPlan{Phase: corev1.ClaimLost, PhaseEvent: &event{corev1.EventTypeWarning, reasonClaimLost, msgClaimLostVolume}}
	case volume.Spec.ClaimRef == nil, volume.Spec.ClaimRef.UID == claim.UID:
		// Unbound volume (or a volume update not seen yet): bind again; all well: bind is a no-op.
		return claimPlan{Bind: volume}
	default:
		return claimPlan{Phase: corev1.ClaimLost, PhaseEvent: &event{corev1.EventTypeWarning, reasonClaimMisbound, msgClaimMisbound}}
	}
}

func planUnboundClaim(claim *corev1.PersistentVolumeClaim, s *state) claimPlan {
	if claim.Spec.VolumeName != "" {
		return planRequestedVolume(claim, s)
	}
	delay := delayBinding(claim, s)
	if volume := findBestMatch(claim, s.Volumes, delay); volume != nil {
		return claimPlan{Bind: volume}
	}
	// No volume: assign the default class retroactively, then provision.
	if !helper.PersistentVolumeClaimHasClass(claim) && s.DefaultClass != nil {
		return claimPlan{AssignClass: s.DefaultClass.Name}
	}
	p := claimPlan{Phase: corev1.ClaimPending}
	switch className := helper.PersistentVolumeClaimClass(claim); {
	case delay && !volumehelpers.IsDelayBindingProvisioning(claim):
		p.Event = waitForConsumerEvent(s.UnscheduledPods)
	case className != "":
		class := s.Class(className)
		if class == nil {
			p.Event = &event{corev1.EventTypeWarning, reasonProvisioningFailed, fmt.Sprintf("storageclass.storage.k8s.io %q not found", className)}
			return p
		}
		if class.Provisioner == helper.NoProvisioner {
			// Upstream finds no provisionable plugin of that name.
			p.Event = &event{corev1.EventTypeWarning, reasonProvisioningFailed, fmt.Sprintf("no volume plugin matched name: %s", class.Provisioner)}
			return p
		}
		if strings.HasPrefix(class.Provisioner, "kubernetes.io/") {
			// The in-tree cloud provisioners are gone upstream too; none exists here.
			p.Event = &event{corev1.EventTypeWarning, reasonProvisioningFailed, fmt.Sprintf("no volume plugin matched name: %s", class.Provisioner)}
			return p
		}
		if class.Provisioner == helper.LocalPathProvisioner && !volumehelpers.IsDelayBindingProvisioning(claim) {
			// Immediate binding of a node-local volume: the controller picks the node, as
			// local-path-provisioner does; the node's agent then provisions.
			p.SelectNode = true
		}
		p.Provisioner = class.Provisioner
		p.Event = &event{corev1.EventTypeNormal, reasonExternalProvisioning, fmt.Sprintf(externalProvisioningMessage, class.Provisioner)}
	default:
		p.Event = &event{corev1.EventTypeNormal, reasonFailedBinding, msgNoClassNoVolume}
	}
	return p
}

// waitForConsumerEvent is upstream's emitEventForUnboundDelayBindingClaim.
func waitForConsumerEvent(pods []string) *event {
	switch len(pods) {
	case 0:
		return &event{corev1.EventTypeNormal, reasonWaitForFirstConsumer, msgWaitForFirstConsumer}
	case 1:
		return &event{corev1.EventTypeNormal, reasonWaitForPodScheduled, fmt.Sprintf("waiting for pod %s to be scheduled", pods[0])}
	default:
		return &event{corev1.EventTypeNormal, reasonWaitForPodScheduled, fmt.Sprintf("waiting for pods %s to be scheduled", strings.Join(pods, ","))}
	}
}

// planRequestedVolume handles a claim that names its volume (spec.volumeName).
func planRequestedVolume(claim *corev1.PersistentVolumeClaim, s *state) claimPlan {
	volume := s.Volume(claim.Spec.VolumeName)
	switch {
	case volume == nil:
		// Retried when the volume appears.
		return claimPlan{Phase: corev1.ClaimPending}
	case volume.Spec.ClaimRef == nil:
		if err := checkVolumeSatisfyClaim(volume, claim); err != nil {
			return claimPlan{Phase: corev1.ClaimPending, Event: &event{corev1.EventTypeWarning, reasonVolumeMismatch,
				fmt.Sprintf("Cannot bind to requested volume %q: %s", volume.Name, err)}}
		}
		return claimPlan{Bind: volume}
	case volumehelpers.IsVolumeBoundToClaim(volume, claim):
		return claimPlan{Bind: volume}
	default:
		ev := &event{corev1.EventTypeWarning, reasonFailedBinding, fmt.Sprintf("volume %q already bound to a different claim.", volume.Name)}
		if metav1.HasAnnotation(claim.ObjectMeta, helper.AnnBoundByController) {
			return claimPlan{Event: ev, Err: fmt.Errorf("invalid binding of claim %s/%s to volume %q: volume already claimed by %s/%s",
				claim.Namespace, claim.Name, volume.Name, volume.Spec.ClaimRef.Namespace, volume.Spec.ClaimRef.Name)}
		}
		return claimPlan{Phase: corev1.ClaimPending, Event: ev}
	}
}

// checkVolumeSatisfyClaim is upstream's check of a volume the claim asked for by name.
func checkVolumeSatisfyClaim(volume *corev1.PersistentVolume, claim *corev1.PersistentVolumeClaim) error {
	if volume.DeletionTimestamp != nil {
		return fmt.Errorf("the volume is marked for deletion %q", volume.Name)
	}
	requested := claim.Spec.Resources.Requests[corev1.ResourceStorage]
	capacity := volume.Spec.Capacity[corev1.ResourceStorage]
	if capacity.Value() < requested.Value() {
		return fmt.Errorf("requested PV is too small")
	}
	if helper.PersistentVolumeClass(volume) != helper.PersistentVolumeClaimClass(claim) {
		return fmt.Errorf("storageClassName does not match")
	}
	if deref(claim.Spec.VolumeAttributesClassName) != deref(volume.Spec.VolumeAttributesClassName) {
		return fmt.Errorf("volumeAttributesClassName does not match")
	}
	if volumehelpers.CheckVolumeModeMismatches(&claim.Spec, &volume.Spec) {
		return fmt.Errorf("incompatible volumeMode")
	}
	if !volumehelpers.CheckAccessModes(claim, volume) {
		return fmt.Errorf("incompatible accessMode")
	}
	return nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// findBestMatch is upstream's findBestMatchForClaim: the smallest matching volume, looking first
// at volumes with the fewest access modes (the PV index's order).
func findBestMatch(claim *corev1.PersistentVolumeClaim, volumes []*corev1.PersistentVolume, delay bool) *corev1.PersistentVolume {
	byModes := map[int][]*corev1.PersistentVolume{}
	var counts []int
	for _, v := range volumes {
		n := len(v.Spec.AccessModes)
		if _, ok := byModes[n]; !ok {
			counts = append(counts, n)
		}
		byModes[n] = append(byModes[n], v)
	}
	sort.Ints(counts)
	for _, n := range counts {
		v, err := volumehelpers.FindMatchingVolume(claim, byModes[n], nil, nil, delay, true)
		if err == nil && v != nil {
			return v
		}
	}
	return nil
}

// volumePlan is what syncing a volume decided.
type volumePlan struct {
	// Phase sets status.phase ("" keeps it); Message goes with it.
	Phase   corev1.PersistentVolumePhase
	Message string
	// PhaseEvent is recorded only when Phase changes the volume's phase.
	PhaseEvent *event
	// Event is recorded on the volume, ClaimEvent on the claim.
	Event, ClaimEvent *event
	// Unbind clears the volume's claimRef (bound by the controller) or its UID (pre-bound by
	// the user), then makes it Available.
	Unbind bool
}

// planVolume is upstream's syncVolume as a decision. claim is the claim the volume's claimRef
// names (nil when it does not exist or has another UID).
func planVolume(volume *corev1.PersistentVolume, claim *corev1.PersistentVolumeClaim) volumePlan {
	ref := volume.Spec.ClaimRef
	if ref == nil || ref.UID == "" {
		// Unused, or reserved for a claim that has not bound yet.
		return volumePlan{Phase: corev1.VolumeAvailable}
	}
	switch {
	case claim == nil:
		return planRelease(volume)
	case claim.Spec.VolumeName == "":
		if volumehelpers.CheckVolumeModeMismatches(&claim.Spec, &volume.Spec) {
			return volumePlan{
				Event:      &event{corev1.EventTypeWarning, reasonVolumeMismatch, fmt.Sprintf("Cannot bind PersistentVolume to requested PersistentVolumeClaim %q due to incompatible volumeMode.", claim.Name)},
				ClaimEvent: &event{corev1.EventTypeWarning, reasonVolumeMismatch, fmt.Sprintf("Cannot bind PersistentVolume %q to requested PersistentVolumeClaim due to incompatible volumeMode.", volume.Name)},
			}
		}
		// Bound to a pending claim: the claim's sync finishes it (a provisioned volume); the
		// claim side watches volumes, so this volume's event already queued that claim.
		return volumePlan{}
	case claim.Spec.VolumeName == volume.Name:
		return volumePlan{Phase: corev1.VolumeBound}
	case metav1.HasAnnotation(volume.ObjectMeta, helper.AnnDynamicallyProvisioned) && volume.Spec.PersistentVolumeReclaimPolicy == corev1.PersistentVolumeReclaimDelete:
		// Provisioned for a claim that bound elsewhere: not needed.
		return planRelease(volume)
	default:
		return volumePlan{Unbind: true}
	}
}

// planRelease marks a volume whose claim is gone Released (keeping Failed) and runs its reclaim
// policy: Retain keeps it, Delete of a dynamically provisioned volume is its provisioner's job
// (the local-path provisioner on its node), and the in-tree deleters and recyclers do not exist
// here, as upstream without a matching plugin.
func planRelease(volume *corev1.PersistentVolume) volumePlan {
	p := volumePlan{}
	if volume.Status.Phase != corev1.VolumeReleased && volume.Status.Phase != corev1.VolumeFailed {
		p.Phase = corev1.VolumeReleased
	}
	fail := func(reason, msg string) volumePlan {
		return volumePlan{Phase: corev1.VolumeFailed, Message: msg, PhaseEvent: &event{corev1.EventTypeWarning, reason, msg}}
	}
	switch volume.Spec.PersistentVolumeReclaimPolicy {
	case corev1.PersistentVolumeReclaimRetain:
	case corev1.PersistentVolumeReclaimRecycle:
		return fail(reasonVolumeFailedRecycle, msgNoRecycler)
	case corev1.PersistentVolumeReclaimDelete:
		if name := volume.Annotations[helper.AnnDynamicallyProvisioned]; name != "" && !strings.HasPrefix(name, "kubernetes.io/") {
			break // an external deleter
		}
		if volume.Spec.CSI != nil {
			break
		}
		return fail(reasonVolumeFailedDelete, fmt.Sprintf("error getting deleter volume plugin for volume %q: no deletable volume plugin matched", volume.Name))
	default:
		return fail(reasonVolumeUnknownReclaim, msgUnknownReclaim)
	}
	return p
}
