package persistentvolume

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/skiff-dev/skiff/apis/helper"
)

// Expansion events, as the external resizer and upstream's expand controller record them.
const (
	reasonResizing               = "Resizing"
	reasonVolumeResizeSuccessful = "VolumeResizeSuccessful"
	reasonExternalExpanding      = "ExternalExpanding"
	msgExternalExpanding         = "waiting for an external controller to expand this PVC"
)

// expansionStep is what growing a bound claim needs next.
type expansionStep int

const (
	expandNothing expansionStep = iota
	// expandVolume grows the volume's capacity to the request.
	expandVolume
	// expandClaim records the grown capacity in the claim's status.
	expandClaim
	// expandExternal leaves it to another controller (volumes not of the local-path provisioner).
	expandExternal
)

// planExpansion decides how a bound claim asking for more than its status capacity grows. A
// local-path volume is a directory without a size limit: growing it is recording the new size
// on the volume and then on the claim, with no filesystem to resize on the node (the external
// resizer's path for a volume that needs no node expansion).
func planExpansion(claim *corev1.PersistentVolumeClaim, volume *corev1.PersistentVolume) (expansionStep, resource.Quantity) {
	request, ok := claim.Spec.Resources.Requests[corev1.ResourceStorage]
	capacity := claim.Status.Capacity[corev1.ResourceStorage]
	if !ok || claim.Status.Phase != corev1.ClaimBound || volume == nil || request.Cmp(capacity) <= 0 {
		return expandNothing, request
	}
	if volume.Annotations[helper.AnnDynamicallyProvisioned] != helper.LocalPathProvisioner {
		return expandExternal, request
	}
	if size := volume.Spec.Capacity[corev1.ResourceStorage]; size.Cmp(request) < 0 {
		return expandVolume, request
	}
	return expandClaim, request
}

// expand grows a bound claim's volume when the claim asks for more (admission has already
// checked that its class allows expansion).
func (c *Controller) expand(ctx context.Context, claim *corev1.PersistentVolumeClaim, volume *corev1.PersistentVolume) error {
	step, request := planExpansion(claim, volume)
	switch step {
	case expandNothing:
		return nil
	case expandExternal:
		c.Recorder.Event(claim, corev1.EventTypeNormal, reasonExternalExpanding, msgExternalExpanding)
		return nil
	case expandVolume:
		c.Recorder.Event(claim, corev1.EventTypeNormal, reasonResizing, fmt.Sprintf("External resizer is resizing volume %s", volume.Name))
		v := volume.DeepCopy()
		v.Spec.Capacity = corev1.ResourceList{corev1.ResourceStorage: request}
		if err := c.Client.Update(ctx, v); err != nil {
			return fmt.Errorf("growing volume %s: %w", volume.Name, err)
		}
	}
	cl := claim.DeepCopy()
	cl.Status.Capacity = corev1.ResourceList{corev1.ResourceStorage: request}
	if cl.Status.AllocatedResources == nil {
		cl.Status.AllocatedResources = corev1.ResourceList{}
	}
	cl.Status.AllocatedResources[corev1.ResourceStorage] = request
	if err := c.Client.Status().Update(ctx, cl); err != nil {
		return fmt.Errorf("recording the grown capacity of claim %s/%s: %w", claim.Namespace, claim.Name, err)
	}
	c.Recorder.Event(claim, corev1.EventTypeNormal, reasonVolumeResizeSuccessful, "Resize volume succeeded")
	return nil
}
