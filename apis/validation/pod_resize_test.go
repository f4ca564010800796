package validation

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func resizePod() *corev1.Pod {
	p := validPod()
	p.Spec.Containers[0].Resources = corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
		Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("200m"), corev1.ResourceMemory: resource.MustParse("128Mi")},
	}
	always := corev1.ContainerRestartPolicyAlways
	p.Spec.InitContainers = []corev1.Container{
		{Name: "init", Image: "busybox", ImagePullPolicy: "Always", TerminationMessagePolicy: "File",
			ResizePolicy: []corev1.ContainerResizePolicy{{ResourceName: corev1.ResourceCPU, RestartPolicy: corev1.RestartContainer}},
			Resources:    corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("50m")}}},
		{Name: "sidecar", Image: "busybox", ImagePullPolicy: "Always", TerminationMessagePolicy: "File", RestartPolicy: &always,
			Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("50m")}}},
	}
	p.Status.QOSClass = corev1.PodQOSBurstable
	return p
}

func TestValidatePodResize(t *testing.T) {
	cpu := func(c *corev1.Container, req, lim string) {
		if req != "" {
			c.Resources.Requests[corev1.ResourceCPU] = resource.MustParse(req)
		}
		if lim != "" {
			c.Resources.Limits[corev1.ResourceCPU] = resource.MustParse(lim)
		}
	}
	cases := []struct {
		name   string
		mutate func(*corev1.Pod)
		want   []want
	}{
		{"no change", func(*corev1.Pod) {}, nil},
		{"cpu and memory up", func(p *corev1.Pod) {
			cpu(&p.Spec.Containers[0], "300m", "400m")
			p.Spec.Containers[0].Resources.Limits[corev1.ResourceMemory] = resource.MustParse("256Mi")
		}, nil},
		{"memory limit down", func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources.Limits[corev1.ResourceMemory] = resource.MustParse("96Mi")
		}, nil},
		{"sidecar resized", func(p *corev1.Pod) { cpu(&p.Spec.InitContainers[1], "100m", "") }, nil},
		{"limit added", func(p *corev1.Pod) {
			p.Spec.InitContainers[1].Resources.Limits = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")}
		}, nil},
		{"QoS changes", func(p *corev1.Pod) {
			p.Spec.InitContainers = nil
			p.Status.QOSClass = corev1.PodQOSBurstable
			r := &p.Spec.Containers[0].Resources
			r.Requests = r.Limits.DeepCopy()
		}, []want{{"spec.initContainers", field.ErrorTypeForbidden, "initContainers may not be added or removed on resize"},
			{"spec", field.ErrorTypeInvalid, "Pod QOS Class may not change as a result of resizing"}}},
		{"request removed", func(p *corev1.Pod) { delete(p.Spec.Containers[0].Resources.Requests, corev1.ResourceMemory) },
			[]want{{"spec.containers[0].resources.requests", field.ErrorTypeForbidden, "resource requests cannot be removed"}}},
		{"limit removed", func(p *corev1.Pod) { delete(p.Spec.Containers[0].Resources.Limits, corev1.ResourceCPU) },
			[]want{{"spec.containers[0].resources.limits", field.ErrorTypeForbidden, "resource limits cannot be removed"}}},
		{"image changes", func(p *corev1.Pod) { p.Spec.Containers[0].Image = "nginx:2" },
			[]want{{"spec", field.ErrorTypeForbidden, "only cpu and memory resources are mutable"}}},
		{"resize policy changes", func(p *corev1.Pod) {
			p.Spec.Containers[0].ResizePolicy = []corev1.ContainerResizePolicy{{ResourceName: corev1.ResourceCPU, RestartPolicy: corev1.RestartContainer}}
		}, []want{{"spec", field.ErrorTypeForbidden, "only cpu and memory resources are mutable"}}},
		{"ephemeral storage changes", func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources.Requests[corev1.ResourceEphemeralStorage] = resource.MustParse("1Gi")
		}, []want{{"spec", field.ErrorTypeForbidden, "only cpu and memory resources are mutable"}}},
		{"non-sidecar init container with RestartContainer", func(p *corev1.Pod) { cpu(&p.Spec.InitContainers[0], "100m", "") },
			[]want{{"spec.initContainers[0]", field.ErrorTypeForbidden, "non-sidecar init containers with a resize policy of RestartContainer cannot be resized"}}},
		{"container renamed", func(p *corev1.Pod) { p.Spec.Containers[0].Name = "other" },
			[]want{{"spec.containers[0].name", field.ErrorTypeForbidden, "containers may not be renamed or reordered on resize"}}},
		{"pod-level resources", func(p *corev1.Pod) {
			p.Spec.Resources = &corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")}}
		}, []want{{field.NewPath("").String(), field.ErrorTypeForbidden, "resize of pods with pod-level resources is forbidden"}}},
		{"static pod", func(p *corev1.Pod) { cpu(&p.Spec.Containers[0], "150m", "") },
			[]want{{field.NewPath("").String(), field.ErrorTypeForbidden, "static pods cannot be resized"}}},
		{"node without resize support", func(p *corev1.Pod) {
			cpu(&p.Spec.Containers[0], "150m", "")
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}
		}, []want{{"spec", field.ErrorTypeForbidden, "Pod running on node without support for resize"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			old := resizePod()
			if tc.name == "static pod" {
				old.Annotations = map[string]string{corev1.MirrorPodAnnotationKey: "x"}
			}
			n := old.DeepCopy()
			tc.mutate(n)
			if tc.name == "node without resize support" {
				old.Status = n.Status
			}
			checkErrs(t, ValidatePodResize(n, old), tc.want)
		})
	}
}
