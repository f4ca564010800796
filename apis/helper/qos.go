package helper

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// QOSClass computes a pod's quality-of-service class as upstream's ComputePodQOS (v1.37, with
// PodLevelResources and PodLevelResourcesFixKubeletQOSClass on): from the pod-level resources
// when they set cpu, memory or hugepages, else from each init and app container's cpu and
// memory requests and limits (Guaranteed: all equal and set; BestEffort: none set; Burstable
// otherwise or when containers differ). The API server sets status.qosClass with it; the node
// agent falls back to it for a pod without one.
func QOSClass(spec *corev1.PodSpec) corev1.PodQOSClass {
	if podLevelResourcesSet(spec.Resources) {
		return requirementsQOS(spec.Resources)
	}
	var qos corev1.PodQOSClass
	for _, cs := range [][]corev1.Container{spec.InitContainers, spec.Containers} {
		for i := range cs {
			switch c := requirementsQOS(&cs[i].Resources); {
			case c == corev1.PodQOSBurstable:
				return c
			case qos == "":
				qos = c
			case qos != c:
				return corev1.PodQOSBurstable
			}
		}
	}
	if qos == "" {
		qos = corev1.PodQOSBestEffort
	}
	return qos
}

// podLevelResourcesSet is upstream's IsPodLevelResourcesSet: cpu, memory or hugepages among
// the pod-level requests or limits.
func podLevelResourcesSet(r *corev1.ResourceRequirements) bool {
	if r == nil {
		return false
	}
	for _, l := range []corev1.ResourceList{r.Requests, r.Limits} {
		for name := range l {
			if name == corev1.ResourceCPU || name == corev1.ResourceMemory || strings.HasPrefix(string(name), corev1.ResourceHugePagesPrefix) {
				return true
			}
		}
	}
	return false
}

// requirementsQOS is the class of one set of requirements (upstream's requirementsQOS).
func requirementsQOS(r *corev1.ResourceRequirements) corev1.PodQOSClass {
	if len(r.Requests) == 0 && len(r.Limits) == 0 {
		return corev1.PodQOSBestEffort
	}
	var qos corev1.PodQOSClass
	for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		req, lim := r.Requests[name], r.Limits[name]
		c := corev1.PodQOSGuaranteed
		switch {
		case !req.Equal(lim):
			return corev1.PodQOSBurstable
		case req.IsZero():
			c = corev1.PodQOSBestEffort
		}
		if qos == "" {
			qos = c
		} else if qos != c {
			return corev1.PodQOSBurstable
		}
	}
	return qos
}
