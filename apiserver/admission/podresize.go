package admission

import (
	"context"
	stderrors "errors"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/client-go/informers"
	corelisters "k8s.io/client-go/listers/core/v1"
	resourcehelper "k8s.io/component-helpers/resource"
)

// PodResizeValidatorName is upstream's plugin name.
const PodResizeValidatorName = "PodResizeValidator"

// Causes the plugin adds to its 403, as upstream's.
const (
	ReasonNodeCapacity        metav1.CauseType = "NodeCapacity"
	ReasonUnsupportedPlatform metav1.CauseType = "UnsupportedPlatform"
)

// PodResizeValidator is kube-apiserver's PodResizeValidator (plugin/pkg/admission/podresize):
// a pods/resize that changes the spec of a scheduled pod is refused (403, cause NodeCapacity)
// when the pod's new cpu or memory requests exceed its node's allocatable, or (cause
// UnsupportedPlatform) when the node is not Linux. A resize that fits the node but not beside
// its other pods is left to the node agent, which defers it.
type PodResizeValidator struct {
	*admission.Handler
	nodes corelisters.NodeLister
}

var _ admission.ValidationInterface = &PodResizeValidator{}

// NewPodResizeValidator returns the plugin reading nodes from the factory's informer (requested
// here, so the factory must be started afterwards).
func NewPodResizeValidator(factory informers.SharedInformerFactory) *PodResizeValidator {
	ni := factory.Core().V1().Nodes()
	p := &PodResizeValidator{Handler: admission.NewHandler(admission.Update), nodes: ni.Lister()}
	p.SetReadyFunc(ni.Informer().HasSynced)
	return p
}

// Validate checks a resize against the pod's node.
func (p *PodResizeValidator) Validate(ctx context.Context, a admission.Attributes, o admission.ObjectInterfaces) error {
	if a.GetOperation() != admission.Update || a.GetResource().GroupResource() != corev1.Resource("pods") || a.GetSubresource() != "resize" {
		return nil
	}
	pod, ok := a.GetObject().(*corev1.Pod)
	if !ok {
		return apierrors.NewBadRequest(fmt.Sprintf("expected a pod but got a %T", a.GetObject()))
	}
	if pod.Spec.NodeName == "" {
		return nil
	}
	old, ok := a.GetOldObject().(*corev1.Pod)
	if !ok {
		return apierrors.NewBadRequest(fmt.Sprintf("expected an old pod but got a %T", a.GetOldObject()))
	}
	if old.Generation == pod.Generation {
		return nil
	}
	if !p.WaitForReady() {
		return admission.NewForbidden(a, fmt.Errorf("not yet ready to handle request"))
	}
	node, err := p.nodes.Get(pod.Spec.NodeName)
	if err != nil {
		if apierrors.IsNotFound(err) {
			return admission.NewForbidden(a, fmt.Errorf("node %q not found", pod.Spec.NodeName))
		}
		return admission.NewForbidden(a, fmt.Errorf("failed to get node %q: %w", pod.Spec.NodeName, err))
	}
	if os, ok := node.Labels[corev1.LabelOSStable]; ok && os != "linux" {
		return resizeValidationError(a, fmt.Errorf("pod resize is only supported on linux nodes, node %q is %q", node.Name, os), ReasonUnsupportedPlatform)
	}
	if err := RequestsWithinAllocatable(pod, node.Status.Allocatable); err != nil {
		return resizeValidationError(a, err, ReasonNodeCapacity)
	}
	return nil
}

// RequestsWithinAllocatable is upstream's validateRequestsWithinAllocatable: the pod's cpu and
// memory requests against the node's allocatable, in upstream's words.
func RequestsWithinAllocatable(pod *corev1.Pod, allocatable corev1.ResourceList) error {
	requests := resourcehelper.PodRequests(pod, resourcehelper.PodResourcesOptions{})
	cpu, mem := requests[corev1.ResourceCPU], requests[corev1.ResourceMemory]
	var msg []string
	if cpu.Cmp(*allocatable.Cpu()) > 0 {
		msg = append(msg, fmt.Sprintf("cpu, requested: %d, allocatable: %d", cpu.MilliValue(), allocatable.Cpu().MilliValue()))
	}
	if mem.Cmp(*allocatable.Memory()) > 0 {
		msg = append(msg, fmt.Sprintf("memory, requested: %d, allocatable: %d", mem.Value(), allocatable.Memory().Value()))
	}
	if len(msg) > 0 {
		return fmt.Errorf("node didn't have enough allocatable resources: %s", strings.Join(msg, "; "))
	}
	return nil
}

func resizeValidationError(a admission.Attributes, err error, reason metav1.CauseType) error {
	forbidden := admission.NewForbidden(a, err)
	var statusErr *apierrors.StatusError
	if stderrors.As(forbidden, &statusErr) {
		statusErr.ErrStatus.Details.Causes = append(statusErr.ErrStatus.Details.Causes, metav1.StatusCause{Type: reason})
		return statusErr
	}
	return forbidden
}
