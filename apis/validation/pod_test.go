package validation

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func int64p(v int64) *int64 { return &v }

func TestPodCreate(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(*corev1.Pod)
		want   []want
	}{
		{"valid", func(*corev1.Pod) {}, nil},
		{"bad name", func(p *corev1.Pod) { p.Name = "Web_1" }, []want{{"metadata.name", field.ErrorTypeInvalid, "RFC 1123 subdomain"}}},
		{"no containers", func(p *corev1.Pod) { p.Spec.Containers = nil }, []want{{"spec.containers", field.ErrorTypeRequired, ""}}},
		{"missing image", func(p *corev1.Pod) { p.Spec.Containers[0].Image = "" }, []want{{"spec.containers[0].image", field.ErrorTypeRequired, ""}}},
		{"image whitespace", func(p *corev1.Pod) { p.Spec.Containers[0].Image = " nginx" }, []want{{"spec.containers[0].image", field.ErrorTypeInvalid, "must not have leading or trailing whitespace"}}},
		{"bad container name", func(p *corev1.Pod) { p.Spec.Containers[0].Name = "App" }, []want{{"spec.containers[0].name", field.ErrorTypeInvalid, "RFC 1123 label"}}},
		{"missing container name", func(p *corev1.Pod) { p.Spec.Containers[0].Name = "" }, []want{{"spec.containers[0].name", field.ErrorTypeRequired, ""}}},
		{"duplicate container names", func(p *corev1.Pod) {
			p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "app", Image: "x", ImagePullPolicy: "Always", TerminationMessagePolicy: "File"})
		}, []want{{"spec.containers[1].name", field.ErrorTypeDuplicate, ""}}},
		{"init name collides with container", func(p *corev1.Pod) {
			p.Spec.InitContainers = []corev1.Container{{Name: "app", Image: "x", ImagePullPolicy: "Always", TerminationMessagePolicy: "File"}}
		}, []want{{"spec.initContainers[0].name", field.ErrorTypeDuplicate, ""}}},
		{"init probe forbidden", func(p *corev1.Pod) {
			p.Spec.InitContainers = []corev1.Container{{Name: "init", Image: "x", ImagePullPolicy: "Always", TerminationMessagePolicy: "File",
				LivenessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}}, SuccessThreshold: 1}}}
		}, []want{{"spec.initContainers[0].livenessProbe", field.ErrorTypeForbidden, "may not be set for init containers without restartPolicy=Always"}}},
		{"container port zero", func(p *corev1.Pod) { p.Spec.Containers[0].Ports[0].ContainerPort = 0 }, []want{{"spec.containers[0].ports[0].containerPort", field.ErrorTypeRequired, ""}}},
		{"container port too big", func(p *corev1.Pod) { p.Spec.Containers[0].Ports[0].ContainerPort = 70000 }, []want{{"spec.containers[0].ports[0].containerPort", field.ErrorTypeInvalid, "between 1 and 65535"}}},
		{"bad protocol", func(p *corev1.Pod) { p.Spec.Containers[0].Ports[0].Protocol = "HTTP" }, []want{{"spec.containers[0].ports[0].protocol", field.ErrorTypeNotSupported, `"SCTP", "TCP", "UDP"`}}},
		{"bad port name", func(p *corev1.Pod) { p.Spec.Containers[0].Ports[0].Name = "http_port" }, []want{{"spec.containers[0].ports[0].name", field.ErrorTypeInvalid, ""}}},
		{"duplicate port name", func(p *corev1.Pod) {
			p.Spec.Containers[0].Ports = append(p.Spec.Containers[0].Ports, corev1.ContainerPort{Name: "http", ContainerPort: 81, Protocol: "TCP"})
		}, []want{{"spec.containers[0].ports[1].name", field.ErrorTypeDuplicate, ""}}},
		{"env name missing", func(p *corev1.Pod) { p.Spec.Containers[0].Env = []corev1.EnvVar{{Value: "x"}} }, []want{{"spec.containers[0].env[0].name", field.ErrorTypeRequired, ""}}},
		{"env name with equals", func(p *corev1.Pod) { p.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "A=B"}} }, []want{{"spec.containers[0].env[0].name", field.ErrorTypeInvalid, ""}}},
		{"env valueFrom and value", func(p *corev1.Pod) {
			p.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "A", Value: "x", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.name"}}}}
		}, []want{{"spec.containers[0].env[0].valueFrom", field.ErrorTypeInvalid, "may not be specified when `value` is not empty"}}},
		{"env bad fieldPath", func(p *corev1.Pod) {
			p.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "A", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "spec.foo"}}}}
		}, []want{{"spec.containers[0].env[0].valueFrom.fieldRef.fieldPath", field.ErrorTypeNotSupported, ""}}},
		{"requests exceed limits", func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources = corev1.ResourceRequirements{
				Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")},
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("200m")},
			}
		}, []want{{"spec.containers[0].resources.requests", field.ErrorTypeInvalid, "must be less than or equal to cpu limit of 100m"}}},
		{"negative quantity", func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources.Requests = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("-1")}
		}, []want{{"spec.containers[0].resources.requests[memory]", field.ErrorTypeInvalid, "must be greater than or equal to 0"}}},
		{"unknown resource", func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources.Requests = corev1.ResourceList{"foo": resource.MustParse("1")}
		}, []want{
			{"spec.containers[0].resources.requests[foo]", field.ErrorTypeInvalid, "must be a standard resource type or fully qualified"},
			{"spec.containers[0].resources.requests[foo]", field.ErrorTypeInvalid, "must be a standard resource for containers"},
		}},
		{"extended resource needs limit", func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources.Requests = corev1.ResourceList{"example.com/gpu": resource.MustParse("1")}
		}, []want{{"spec.containers[0].resources.limits", field.ErrorTypeRequired, "Limit must be set for non overcommitable resources"}}},
		{"volume mount not found", func(p *corev1.Pod) {
			p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}
		}, []want{{"spec.containers[0].volumeMounts[0].name", field.ErrorTypeNotFound, ""}}},
		{"volume mount ok", func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
			p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}
		}, nil},
		{"mount path missing", func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
			p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "data"}}
		}, []want{{"spec.containers[0].volumeMounts[0].mountPath", field.ErrorTypeRequired, ""}}},
		{"duplicate volume", func(p *corev1.Pod) {
			v := corev1.Volume{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}
			p.Spec.Volumes = []corev1.Volume{v, v}
		}, []want{{"spec.volumes[1].name", field.ErrorTypeDuplicate, ""}}},
		{"two volume types", func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{
				EmptyDir: &corev1.EmptyDirVolumeSource{}, HostPath: &corev1.HostPathVolumeSource{Path: "/x"}}}}
		}, []want{{"spec.volumes[0].hostPath", field.ErrorTypeForbidden, "may not specify more than 1 volume type"}}},
		{"secret volume name required", func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{{Name: "s", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{}}}}
		}, []want{{"spec.volumes[0].secret.secretName", field.ErrorTypeRequired, ""}}},
		{"configmap bad mode", func(p *corev1.Pod) {
			m := int32(01000)
			p.Spec.Volumes = []corev1.Volume{{Name: "c", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
				LocalObjectReference: corev1.LocalObjectReference{Name: "cm"}, DefaultMode: &m}}}}
		}, []want{{"spec.volumes[0].configMap.defaultMode", field.ErrorTypeInvalid, "must be a number between 0 and 0777"}}},
		{"restartPolicy", func(p *corev1.Pod) { p.Spec.RestartPolicy = "Sometimes" }, []want{{"spec.restartPolicy", field.ErrorTypeNotSupported, `"Always", "OnFailure", "Never"`}}},
		{"dnsPolicy", func(p *corev1.Pod) { p.Spec.DNSPolicy = "Custom" }, []want{{"spec.dnsPolicy", field.ErrorTypeNotSupported, ""}}},
		{"dnsPolicy None needs config", func(p *corev1.Pod) { p.Spec.DNSPolicy = corev1.DNSNone }, []want{{"spec.dnsConfig", field.ErrorTypeRequired, "must provide `dnsConfig` when `dnsPolicy` is None"}}},
		{"negative grace period", func(p *corev1.Pod) { p.Spec.TerminationGracePeriodSeconds = int64p(-1) }, nil},
		{"missing grace period", func(p *corev1.Pod) { p.Spec.TerminationGracePeriodSeconds = nil }, []want{{"spec.terminationGracePeriodSeconds", field.ErrorTypeRequired, ""}}},
		{"activeDeadlineSeconds zero", func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = int64p(0) }, []want{{"spec.activeDeadlineSeconds", field.ErrorTypeInvalid, "must be between 1 and 2147483647, inclusive"}}},
		{"probe without handler", func(p *corev1.Pod) {
			p.Spec.Containers[0].LivenessProbe = &corev1.Probe{SuccessThreshold: 1}
		}, []want{{"spec.containers[0].livenessProbe", field.ErrorTypeRequired, "must specify a handler type"}}},
		{"liveness successThreshold", func(p *corev1.Pod) {
			p.Spec.Containers[0].LivenessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(80)}}, SuccessThreshold: 2}
		}, []want{{"spec.containers[0].livenessProbe.successThreshold", field.ErrorTypeInvalid, "must be 1"}}},
		{"probe negative period", func(p *corev1.Pod) {
			p.Spec.Containers[0].ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/", Port: intstr.FromString("http"), Scheme: "HTTP"}}, PeriodSeconds: -1}
		}, []want{{"spec.containers[0].readinessProbe.periodSeconds", field.ErrorTypeInvalid, "must be greater than or equal to 0"}}},
		{"probe two handlers", func(p *corev1.Pod) {
			p.Spec.Containers[0].ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{
				Exec: &corev1.ExecAction{Command: []string{"true"}}, TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(80)}}}
		}, []want{{"spec.containers[0].readinessProbe.tcpSocket", field.ErrorTypeForbidden, "may not specify more than 1 handler type"}}},
		{"nodeSelector bad label", func(p *corev1.Pod) { p.Spec.NodeSelector = map[string]string{"bad key": "v"} }, []want{{"spec.nodeSelector", field.ErrorTypeInvalid, ""}}},
		{"toleration empty key needs Exists", func(p *corev1.Pod) {
			p.Spec.Tolerations = []corev1.Toleration{{Operator: corev1.TolerationOpEqual, Value: "x"}}
		}, []want{{"spec.tolerations[0].operator", field.ErrorTypeInvalid, "operator must be Exists when `key` is empty"}}},
		{"toleration bad effect", func(p *corev1.Pod) {
			p.Spec.Tolerations = []corev1.Toleration{{Key: "k", Operator: corev1.TolerationOpExists, Effect: "Never"}}
		}, []want{{"spec.tolerations[0].effect", field.ErrorTypeNotSupported, ""}}},
		{"toleration seconds without NoExecute", func(p *corev1.Pod) {
			p.Spec.Tolerations = []corev1.Toleration{{Key: "k", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule, TolerationSeconds: int64p(5)}}
		}, []want{{"spec.tolerations[0].effect", field.ErrorTypeInvalid, "effect must be 'NoExecute' when `tolerationSeconds` is set"}}},
		{"node affinity without terms", func(p *corev1.Pod) {
			p.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{}}}
		}, []want{{"spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms", field.ErrorTypeRequired, ""}}},
		{"pod affinity empty topologyKey", func(p *corev1.Pod) {
			p.Spec.Affinity = &corev1.Affinity{PodAffinity: &corev1.PodAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{}}}}
		}, []want{
			{"spec.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey", field.ErrorTypeRequired, "can not be empty"},
			{"spec.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey", field.ErrorTypeInvalid, "name part must be non-empty"},
			{"spec.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey", field.ErrorTypeInvalid, "name part must consist of"},
		}},
		{"ephemeral containers on create", func(p *corev1.Pod) {
			p.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "dbg", Image: "busybox", ImagePullPolicy: "Always", TerminationMessagePolicy: "File"}}}
		}, []want{{"spec.ephemeralContainers", field.ErrorTypeForbidden, "cannot be set on create"}}},
		{"hostNetwork port mismatch", func(p *corev1.Pod) {
			p.Spec.HostNetwork = true
			p.Spec.Containers[0].Ports[0].HostPort = 8080
		}, []want{{"spec.containers[0].ports[0].hostPort", field.ErrorTypeInvalid, "must match `containerPort` when `hostNetwork` is true"}}},
		{"runAsUser negative", func(p *corev1.Pod) {
			p.Spec.SecurityContext.RunAsUser = int64p(-1)
		}, []want{{"spec.securityContext.runAsUser", field.ErrorTypeInvalid, ""}}},
		{"serviceAccountName invalid", func(p *corev1.Pod) { p.Spec.ServiceAccountName = "Bad_SA" }, []want{{"spec.serviceAccountName", field.ErrorTypeInvalid, ""}}},
		{"hostPort duplicate", func(p *corev1.Pod) {
			p.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 80, HostPort: 80, Protocol: "TCP"}, {ContainerPort: 81, HostPort: 80, Protocol: "TCP"}}
		}, []want{{"spec.containers[0].ports[1].hostPort", field.ErrorTypeDuplicate, ""}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := validPod()
			tc.mutate(p)
			checkErrs(t, ValidateCreate(p), tc.want)
		})
	}
}

func TestPodExactMessages(t *testing.T) {
	p := validPod()
	p.Spec.Containers[0].Image = ""
	errs := ValidateCreate(p)
	if len(errs) != 1 || errs[0].Error() != "spec.containers[0].image: Required value" {
		t.Fatalf("got %v", errs)
	}
	p = validPod()
	p.Spec.RestartPolicy = "Sometimes"
	errs = ValidateCreate(p)
	if got, exp := errs.ToAggregate().Error(), `spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"`; got != exp {
		t.Fatalf("got %q, want %q", got, exp)
	}
}

func TestPodUpdate(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(*corev1.Pod)
		want   []want
	}{
		{"no change", func(*corev1.Pod) {}, nil},
		{"image change allowed", func(p *corev1.Pod) { p.Spec.Containers[0].Image = "nginx:1.26" }, nil},
		{"labels change allowed", func(p *corev1.Pod) { p.Labels = map[string]string{"a": "b"} }, nil},
		{"activeDeadlineSeconds set", func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = int64p(30) }, nil},
		{"toleration added", func(p *corev1.Pod) {
			p.Spec.Tolerations = []corev1.Toleration{{Key: "k", Operator: corev1.TolerationOpExists}}
		}, nil},
		{"port change forbidden", func(p *corev1.Pod) { p.Spec.Containers[0].Ports[0].ContainerPort = 81 }, []want{{"spec", field.ErrorTypeForbidden, podUpdateForbiddenPrefix}}},
		{"restartPolicy change forbidden", func(p *corev1.Pod) { p.Spec.RestartPolicy = corev1.RestartPolicyNever }, []want{{"spec", field.ErrorTypeForbidden, podUpdateForbiddenPrefix}}},
		{"add container forbidden", func(p *corev1.Pod) {
			p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "b", Image: "x", ImagePullPolicy: "Always", TerminationMessagePolicy: "File"})
		}, []want{{"spec.containers", field.ErrorTypeForbidden, "pod updates may not add or remove containers"}}},
		{"image cleared", func(p *corev1.Pod) { p.Spec.Containers[0].Image = "" }, []want{
			{"spec.containers[0].image", field.ErrorTypeRequired, ""}, {"spec.containers[0].image", field.ErrorTypeRequired, ""}}},
		{"name change", func(p *corev1.Pod) { p.Name = "other" }, []want{{"metadata.name", field.ErrorTypeInvalid, "field is immutable"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			old := validPod()
			p := old.DeepCopy()
			tc.mutate(p)
			checkErrs(t, ValidateUpdate(p, old), tc.want)
		})
	}
}

func TestPodUpdateMessage(t *testing.T) {
	old := validPod()
	p := old.DeepCopy()
	p.Spec.Containers[0].Ports[0].ContainerPort = 81
	errs := ValidateUpdate(p, old)
	if len(errs) != 1 {
		t.Fatalf("got %v", errs)
	}
	exp := "spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)\n"
	if got := errs[0].Error(); !strings.HasPrefix(got, exp) || !strings.Contains(got, "81") {
		t.Fatalf("got %q", got)
	}
}

func TestPodStatusUpdate(t *testing.T) {
	old := validPod()
	p := old.DeepCopy()
	p.Status.Phase = corev1.PodRunning
	p.Status.PodIP = "10.0.0.1"
	p.Status.PodIPs = []corev1.PodIP{{IP: "10.0.0.1"}}
	checkErrs(t, ValidateStatusUpdate(p, old), nil)

	p = old.DeepCopy()
	p.Spec.NodeName = "node-1"
	checkErrs(t, ValidateStatusUpdate(p, old), []want{{"status.nodeName", field.ErrorTypeForbidden, "may not be changed directly"}})

	p = old.DeepCopy()
	p.Status.PodIPs = []corev1.PodIP{{IP: "not-an-ip"}}
	checkErrs(t, ValidateStatusUpdate(p, old), []want{{"status.podIPs[0]", field.ErrorTypeInvalid, ""}})
}

func TestBinding(t *testing.T) {
	b := &corev1.Binding{ObjectMeta: objMeta("web")}
	checkErrs(t, ValidateCreate(b), []want{{"target.name", field.ErrorTypeRequired, ""}})
	b.Target = corev1.ObjectReference{Kind: "Pod", Name: "n1"}
	checkErrs(t, ValidateCreate(b), []want{{"target.kind", field.ErrorTypeNotSupported, `"Node", "<empty>"`}})
	b.Target = corev1.ObjectReference{Kind: "Node", Name: "n1"}
	checkErrs(t, ValidateCreate(b), nil)
}
