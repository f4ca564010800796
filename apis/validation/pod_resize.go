package validation

import (
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff-dev/skiff/apis/helper"
)

// ValidatePodResize is upstream's ValidatePodResize (InPlacePodVerticalScaling and
// InPlacePodVerticalScalingInitContainers GA, as in 1.37): the pod stays valid, its QoS class
// does not change, containers are neither added, removed, renamed nor reordered, requests and
// limits are not removed, only cpu and memory change, non-sidecar init
// containers with a RestartContainer policy are not resized, and static and Windows pods are
// not resized. Skiff's node agent does not resize pod-level resources, so a pod with them is
// refused as upstream refuses it with InPlacePodLevelResourcesVerticalScaling off; volumes are
// immutable as with InPlacePodVerticalScalingMemoryBackedVolumes off (its default).
func ValidatePodResize(newPod, oldPod *corev1.Pod) field.ErrorList {
	fldPath := field.NewPath("metadata")
	allErrs := validateObjectMetaUpdate(&newPod.ObjectMeta, &oldPod.ObjectMeta, fldPath)
	allErrs = append(allErrs, validatePodMetadataAndSpec(newPod, podValidationOptions{resourceIsPod: true})...)

	if _, ok := oldPod.Annotations[corev1.MirrorPodAnnotationKey]; ok {
		return field.ErrorList{field.Forbidden(field.NewPath(""), "static pods cannot be resized")}
	}
	if oldPod.Spec.OS != nil && oldPod.Spec.OS.Name == corev1.Windows {
		return field.ErrorList{field.Forbidden(field.NewPath(""), "windows pods cannot be resized")}
	}

	specPath := field.NewPath("spec")
	oldQOS := oldPod.Status.QOSClass
	if oldQOS == "" {
		oldQOS = helper.QOSClass(&oldPod.Spec)
	}
	if oldQOS != helper.QOSClass(&newPod.Spec) {
		allErrs = append(allErrs, field.Invalid(specPath, newPod.Status.QOSClass, "Pod QOS Class may not change as a result of resizing"))
	}
	if !isPodResizeRequestSupported(oldPod) {
		allErrs = append(allErrs, field.Forbidden(specPath, "Pod running on node without support for resize"))
	}
	if podLevelResourcesSet(oldPod) || podLevelResourcesSet(newPod) {
		return append(allErrs, field.Forbidden(field.NewPath(""), "resize of pods with pod-level resources is forbidden when InPlacePodLevelResourcesVerticalScalingEnabled feature gate is disabled"))
	}

	orderErrs := validatePodResizeContainerOrdering(newPod, oldPod, specPath)
	allErrs = append(allErrs, orderErrs...)
	if orderErrs != nil {
		return allErrs
	}

	for i := range oldPod.Spec.InitContainers {
		allErrs = append(allErrs, validateContainerResize(&newPod.Spec.InitContainers[i].Resources, &oldPod.Spec.InitContainers[i].Resources,
			specPath.Child("initContainers").Index(i).Child("resources"))...)
	}
	for i := range oldPod.Spec.Containers {
		allErrs = append(allErrs, validateContainerResize(&newPod.Spec.Containers[i].Resources, &oldPod.Spec.Containers[i].Resources,
			specPath.Child("containers").Index(i).Child("resources"))...)
	}

	munged := *newPod.Spec.DeepCopy()
	for i := range munged.Containers {
		c := &munged.Containers[i]
		dropCPUMemoryResourcesFromContainer(c, &oldPod.Spec.Containers[i])
		if !apiequality.Semantic.DeepEqual(*c, oldPod.Spec.Containers[i]) {
			allErrs = append(allErrs, field.Forbidden(specPath, "only cpu and memory resources are mutable"))
		}
	}
	for i := range munged.InitContainers {
		c := &munged.InitContainers[i]
		sidecar := c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
		modified := !apiequality.Semantic.DeepEqual(*c, oldPod.Spec.InitContainers[i])
		dropCPUMemoryResourcesFromContainer(c, &oldPod.Spec.InitContainers[i])
		if !apiequality.Semantic.DeepEqual(*c, oldPod.Spec.InitContainers[i]) {
			allErrs = append(allErrs, field.Forbidden(specPath.Child("initContainers").Index(i), "only cpu and memory resources for init or sidecar containers are mutable"))
		}
		if modified && !sidecar {
			for _, p := range c.ResizePolicy {
				if p.RestartPolicy == corev1.RestartContainer {
					allErrs = append(allErrs, field.Forbidden(specPath.Child("initContainers").Index(i), "non-sidecar init containers with a resize policy of RestartContainer cannot be resized"))
				}
			}
		}
	}
	if !apiequality.Semantic.DeepEqual(newPod.Spec.Volumes, oldPod.Spec.Volumes) {
		allErrs = append(allErrs, field.Forbidden(specPath.Child("volumes"), "volumes are immutable on resize when InPlacePodVerticalScalingMemoryBackedVolumes feature gate is disabled"))
	}
	if len(allErrs) > 0 {
		return allErrs
	}
	munged.Volumes = oldPod.Spec.Volumes
	if !apiequality.Semantic.DeepEqual(munged, oldPod.Spec) {
		allErrs = append(allErrs, field.Forbidden(specPath, "only cpu and memory resources are mutable"))
	}
	return allErrs
}

// podLevelResourcesSet is upstream's isPodLevelResourcesSet of ValidatePodResize.
func podLevelResourcesSet(pod *corev1.Pod) bool {
	r := pod.Spec.Resources
	return r != nil && len(r.Requests)+len(r.Limits) > 0
}

// isPodResizeRequestSupported is upstream's version-skew check: a pod whose running containers
// report no status resources runs on a node that cannot resize.
func isPodResizeRequestSupported(pod *corev1.Pod) bool {
	for _, c := range pod.Status.ContainerStatuses {
		if c.State.Running != nil {
			return c.Resources != nil
		}
	}
	return true
}

func validatePodResizeContainerOrdering(newPod, oldPod *corev1.Pod, specPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if len(newPod.Spec.Containers) != len(oldPod.Spec.Containers) {
		allErrs = append(allErrs, field.Forbidden(specPath.Child("containers"), "containers may not be added or removed on resize"))
	} else {
		for i, c := range oldPod.Spec.Containers {
			if newPod.Spec.Containers[i].Name != c.Name {
				allErrs = append(allErrs, field.Forbidden(specPath.Child("containers").Index(i).Child("name"), "containers may not be renamed or reordered on resize"))
			}
		}
	}
	if len(newPod.Spec.InitContainers) != len(oldPod.Spec.InitContainers) {
		allErrs = append(allErrs, field.Forbidden(specPath.Child("initContainers"), "initContainers may not be added or removed on resize"))
	} else {
		for i, c := range oldPod.Spec.InitContainers {
			if newPod.Spec.InitContainers[i].Name != c.Name {
				allErrs = append(allErrs, field.Forbidden(specPath.Child("initContainers").Index(i).Child("name"), "initContainers may not be renamed or reordered on resize"))
			}
		}
	}
	return allErrs
}

// validateContainerResize: requests and limits may not be removed.
func validateContainerResize(newReq, oldReq *corev1.ResourceRequirements, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if resourcesRemoved(newReq.Requests, oldReq.Requests) {
		allErrs = append(allErrs, field.Forbidden(fldPath.Child("requests"), "resource requests cannot be removed"))
	}
	if resourcesRemoved(newReq.Limits, oldReq.Limits) {
		allErrs = append(allErrs, field.Forbidden(fldPath.Child("limits"), "resource limits cannot be removed"))
	}
	return allErrs
}

func resourcesRemoved(list, old corev1.ResourceList) bool {
	if len(old) > len(list) {
		return true
	}
	for name := range old {
		if _, ok := list[name]; !ok {
			return true
		}
	}
	return false
}

// dropCPUMemoryResourcesFromContainer puts the old container's cpu and memory requests and
// limits back into c (a changed resizePolicy is left for the comparison to refuse, as upstream).
func dropCPUMemoryResourcesFromContainer(c, old *corev1.Container) {
	c.Resources = corev1.ResourceRequirements{
		Limits:   dropCPUMemoryUpdates(c.Resources.Limits, old.Resources.Limits),
		Requests: dropCPUMemoryUpdates(c.Resources.Requests, old.Resources.Requests),
		Claims:   c.Resources.Claims,
	}
}

// dropCPUMemoryUpdates is upstream's: resources with cpu and memory taken from old.
func dropCPUMemoryUpdates(list, old corev1.ResourceList) corev1.ResourceList {
	out := corev1.ResourceList{}
	switch {
	case list == nil && old == nil:
		return nil
	case list != nil:
		out = list.DeepCopy()
	}
	for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		if q, ok := old[name]; ok {
			out[name] = q
		} else {
			delete(out, name)
		}
	}
	return out
}
