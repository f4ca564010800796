package validation

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func debugContainer(name string) corev1.EphemeralContainer {
	return corev1.EphemeralContainer{EphemeralContainerCommon: corev1.EphemeralContainerCommon{
		Name: name, Image: "busybox", ImagePullPolicy: corev1.PullIfNotPresent, TerminationMessagePolicy: corev1.TerminationMessageReadFile}}
}

// TestPodEphemeralContainersUpdate is upstream's rules for pods/ephemeralcontainers: ephemeral
// containers are added, never removed or changed; they set only the allowed fields, target a
// regular or init container and have unique names; static pods get none.
func TestPodEphemeralContainersUpdate(t *testing.T) {
	const notForEphemeral = "cannot be set for an Ephemeral Container"
	always := corev1.ContainerRestartPolicyAlways
	cases := []struct {
		name   string
		old    []corev1.EphemeralContainer
		mirror bool
		mutate func(p *corev1.Pod)
		want   []want
	}{
		{name: "no change"},
		{name: "add one", mutate: func(p *corev1.Pod) {
			p.Spec.EphemeralContainers = append(p.Spec.EphemeralContainers, debugContainer("dbg"))
		}},
		{name: "add one targeting the app", mutate: func(p *corev1.Pod) {
			ec := debugContainer("dbg")
			ec.TargetContainerName, ec.Stdin, ec.TTY = "app", true, true
			p.Spec.EphemeralContainers = []corev1.EphemeralContainer{ec}
		}},
		{name: "add a second, reordered", old: []corev1.EphemeralContainer{debugContainer("a")}, mutate: func(p *corev1.Pod) {
			p.Spec.EphemeralContainers = []corev1.EphemeralContainer{debugContainer("b"), debugContainer("a")}
		}},
		{name: "remove", old: []corev1.EphemeralContainer{debugContainer("a")}, mutate: func(p *corev1.Pod) {
			p.Spec.EphemeralContainers = nil
		}, want: []want{{"spec.ephemeralContainers", field.ErrorTypeForbidden, `existing ephemeral containers "a" may not be removed`}}},
		{name: "change", old: []corev1.EphemeralContainer{debugContainer("a")}, mutate: func(p *corev1.Pod) {
			p.Spec.EphemeralContainers[0].Image = "nginx"
		}, want: []want{{"spec.ephemeralContainers", field.ErrorTypeForbidden, `existing ephemeral containers "a" may not be changed`}}},
		{name: "unknown target", mutate: func(p *corev1.Pod) {
			ec := debugContainer("dbg")
			ec.TargetContainerName = "nope"
			p.Spec.EphemeralContainers = []corev1.EphemeralContainer{ec}
		}, want: []want{{"spec.ephemeralContainers[0].targetContainerName", field.ErrorTypeNotFound, ""}}},
		{name: "name of the app container", mutate: func(p *corev1.Pod) {
			p.Spec.EphemeralContainers = []corev1.EphemeralContainer{debugContainer("app")}
		}, want: []want{{"spec.ephemeralContainers[0].name", field.ErrorTypeDuplicate, ""}}},
		{name: "fields not allowed", mutate: func(p *corev1.Pod) {
			ec := debugContainer("dbg")
			ec.Ports = []corev1.ContainerPort{{ContainerPort: 80, Protocol: corev1.ProtocolTCP}}
			ec.Resources.Limits = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")}
			ec.RestartPolicy = &always
			ec.ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}},
				TimeoutSeconds: 1, PeriodSeconds: 10, SuccessThreshold: 1, FailureThreshold: 3}
			ec.Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}}}
			p.Spec.EphemeralContainers = []corev1.EphemeralContainer{ec}
		}, want: []want{
			{"spec.ephemeralContainers[0].ports", field.ErrorTypeForbidden, notForEphemeral},
			{"spec.ephemeralContainers[0].resources", field.ErrorTypeForbidden, notForEphemeral},
			{"spec.ephemeralContainers[0].restartPolicy", field.ErrorTypeForbidden, notForEphemeral},
			{"spec.ephemeralContainers[0].readinessProbe", field.ErrorTypeForbidden, notForEphemeral},
			{"spec.ephemeralContainers[0].lifecycle", field.ErrorTypeForbidden, notForEphemeral},
		}},
		{name: "subPath", mutate: func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{{Name: "v", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
			ec := debugContainer("dbg")
			ec.VolumeMounts = []corev1.VolumeMount{{Name: "v", MountPath: "/v", SubPath: "x"}}
			p.Spec.EphemeralContainers = []corev1.EphemeralContainer{ec}
		}, want: []want{{"spec.ephemeralContainers[0].volumeMounts[0].subPath", field.ErrorTypeForbidden, notForEphemeral}}},
		{name: "static pod", mirror: true, mutate: func(p *corev1.Pod) {
			p.Spec.EphemeralContainers = []corev1.EphemeralContainer{debugContainer("dbg")}
		}, want: []want{{"[]", field.ErrorTypeForbidden, "static pods do not support ephemeral containers"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			old := validPod()
			old.Spec.NodeName = "n1"
			old.Spec.EphemeralContainers = tc.old
			if tc.mirror {
				old.Annotations = map[string]string{corev1.MirrorPodAnnotationKey: "x"}
			}
			p := old.DeepCopy()
			if tc.mutate != nil {
				tc.mutate(p)
			}
			checkErrs(t, ValidatePodEphemeralContainersUpdate(p, old), tc.want)
		})
	}
}

// A pod update through the main resource may not touch ephemeral containers.
func TestPodUpdateEphemeralContainersForbidden(t *testing.T) {
	old := validPod()
	p := old.DeepCopy()
	p.Spec.EphemeralContainers = []corev1.EphemeralContainer{debugContainer("dbg")}
	checkErrs(t, ValidateUpdate(p, old), []want{{"spec", field.ErrorTypeForbidden, podUpdateForbiddenPrefix}})
}
