package defaults

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func TestPodDefaults(t *testing.T) {
	pod := &corev1.Pod{Spec: corev1.PodSpec{
		Containers: []corev1.Container{{
			Name: "app", Image: "nginx",
			Ports:          []corev1.ContainerPort{{ContainerPort: 80}},
			LivenessProbe:  &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Port: intstr.FromInt32(80)}}},
			Resources:      corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m")}},
			Env:            []corev1.EnvVar{{Name: "N", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}}},
			ReadinessProbe: &corev1.Probe{PeriodSeconds: 5},
		}},
		Volumes: []corev1.Volume{
			{Name: "empty"},
			{Name: "cfg", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{}}},
			{Name: "sec", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{}}},
		},
	}}
	Default(pod)
	s := pod.Spec
	if s.RestartPolicy != corev1.RestartPolicyAlways || s.DNSPolicy != corev1.DNSClusterFirst || s.SchedulerName != "default-scheduler" {
		t.Errorf("spec defaults: %q %q %q", s.RestartPolicy, s.DNSPolicy, s.SchedulerName)
	}
	if s.TerminationGracePeriodSeconds == nil || *s.TerminationGracePeriodSeconds != 30 {
		t.Errorf("terminationGracePeriodSeconds: %v", s.TerminationGracePeriodSeconds)
	}
	if s.SecurityContext == nil || s.EnableServiceLinks == nil || !*s.EnableServiceLinks {
		t.Errorf("securityContext/enableServiceLinks not defaulted")
	}
	c := s.Containers[0]
	if c.ImagePullPolicy != corev1.PullAlways || c.TerminationMessagePath != "/dev/termination-log" || c.TerminationMessagePolicy != corev1.TerminationMessageReadFile {
		t.Errorf("container defaults: %q %q %q", c.ImagePullPolicy, c.TerminationMessagePath, c.TerminationMessagePolicy)
	}
	if c.Ports[0].Protocol != corev1.ProtocolTCP {
		t.Errorf("port protocol %q", c.Ports[0].Protocol)
	}
	p := c.LivenessProbe
	if p.TimeoutSeconds != 1 || p.PeriodSeconds != 10 || p.SuccessThreshold != 1 || p.FailureThreshold != 3 || p.HTTPGet.Scheme != corev1.URISchemeHTTP || p.HTTPGet.Path != "/" {
		t.Errorf("probe defaults: %+v", p)
	}
	if c.ReadinessProbe.PeriodSeconds != 5 {
		t.Errorf("explicit periodSeconds overwritten")
	}
	if q := c.Resources.Requests[corev1.ResourceCPU]; q.String() != "500m" {
		t.Errorf("requests not defaulted from limits: %v", c.Resources.Requests)
	}
	if c.Env[0].ValueFrom.FieldRef.APIVersion != "v1" {
		t.Errorf("fieldRef apiVersion not defaulted")
	}
	if s.Volumes[0].EmptyDir == nil || *s.Volumes[1].ConfigMap.DefaultMode != 0644 || *s.Volumes[2].Secret.DefaultMode != 0644 {
		t.Errorf("volume defaults wrong: %+v", s.Volumes)
	}
}

func TestImagePullPolicy(t *testing.T) {
	for image, want := range map[string]corev1.PullPolicy{
		"nginx":                      corev1.PullAlways,
		"nginx:latest":               corev1.PullAlways,
		"nginx:1.25":                 corev1.PullIfNotPresent,
		"registry:5000/nginx":        corev1.PullAlways,
		"registry:5000/nginx:1.0":    corev1.PullIfNotPresent,
		"nginx@sha256:" + sha:        corev1.PullIfNotPresent,
		"nginx:latest@sha256:" + sha: corev1.PullAlways,
		"":                           corev1.PullIfNotPresent,
		"registry.k8s.io/pause:3.10": corev1.PullIfNotPresent,
		"ghcr.io/org/app:latest":     corev1.PullAlways,
	} {
		pod := &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Image: image}}}}
		Default(pod)
		if got := pod.Spec.Containers[0].ImagePullPolicy; got != want {
			t.Errorf("%q: got %q, want %q", image, got, want)
		}
	}
}

const sha = "0000000000000000000000000000000000000000000000000000000000000000"

func TestTemplateDoesNotGetPodOnlyDefaults(t *testing.T) {
	d := &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
		Containers: []corev1.Container{{Name: "a", Image: "x:1", Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")}}}},
	}}}}
	Default(d)
	ts := d.Spec.Template.Spec
	if ts.EnableServiceLinks != nil || ts.Containers[0].Resources.Requests != nil {
		t.Errorf("template got pod-only defaults")
	}
	if ts.RestartPolicy != corev1.RestartPolicyAlways || ts.Containers[0].ImagePullPolicy != corev1.PullIfNotPresent {
		t.Errorf("template podspec defaults missing")
	}
	if *d.Spec.Replicas != 1 || *d.Spec.RevisionHistoryLimit != 10 || *d.Spec.ProgressDeadlineSeconds != 600 {
		t.Errorf("deployment defaults: %v %v %v", *d.Spec.Replicas, *d.Spec.RevisionHistoryLimit, *d.Spec.ProgressDeadlineSeconds)
	}
	if d.Spec.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType ||
		d.Spec.Strategy.RollingUpdate.MaxSurge.String() != "25%" || d.Spec.Strategy.RollingUpdate.MaxUnavailable.String() != "25%" {
		t.Errorf("strategy defaults: %+v", d.Spec.Strategy)
	}
	rec := &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Strategy: appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}}}
	Default(rec)
	if rec.Spec.Strategy.RollingUpdate != nil {
		t.Errorf("Recreate got rollingUpdate")
	}
	rs := &appsv1.ReplicaSet{}
	Default(rs)
	if *rs.Spec.Replicas != 1 || rs.Spec.Selector != nil {
		t.Errorf("replicaset defaults: %+v", rs.Spec)
	}
}

func TestServiceDefaults(t *testing.T) {
	svc := &corev1.Service{Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}, {Port: 443, TargetPort: intstr.FromString("https")}}}}
	Default(svc)
	s := svc.Spec
	if s.Type != corev1.ServiceTypeClusterIP || s.SessionAffinity != corev1.ServiceAffinityNone {
		t.Errorf("type/affinity: %q %q", s.Type, s.SessionAffinity)
	}
	if s.Ports[0].Protocol != corev1.ProtocolTCP || s.Ports[0].TargetPort != intstr.FromInt32(80) || s.Ports[1].TargetPort != intstr.FromString("https") {
		t.Errorf("ports: %+v", s.Ports)
	}
	if s.InternalTrafficPolicy == nil || *s.InternalTrafficPolicy != corev1.ServiceInternalTrafficPolicyCluster {
		t.Errorf("internalTrafficPolicy")
	}
	if s.IPFamilyPolicy == nil || *s.IPFamilyPolicy != corev1.IPFamilyPolicySingleStack || len(s.IPFamilies) != 1 || s.IPFamilies[0] != corev1.IPv4Protocol {
		t.Errorf("ip families: %v %v", s.IPFamilyPolicy, s.IPFamilies)
	}
	if s.ExternalTrafficPolicy != "" {
		t.Errorf("ClusterIP got externalTrafficPolicy")
	}
	lb := &corev1.Service{Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer}}
	Default(lb)
	if lb.Spec.ExternalTrafficPolicy != corev1.ServiceExternalTrafficPolicyCluster || lb.Spec.AllocateLoadBalancerNodePorts == nil || !*lb.Spec.AllocateLoadBalancerNodePorts {
		t.Errorf("LoadBalancer defaults: %+v", lb.Spec)
	}
	ext := &corev1.Service{Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "example.com"}}
	Default(ext)
	if ext.Spec.InternalTrafficPolicy != nil || ext.Spec.IPFamilyPolicy != nil {
		t.Errorf("ExternalName got cluster IP defaults")
	}
}

func TestOtherDefaults(t *testing.T) {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team"}}
	Default(ns)
	// Upstream adds the "kubernetes" finalizer on create, not in defaults: finalize must be able to empty it.
	if ns.Status.Phase != corev1.NamespaceActive || len(ns.Spec.Finalizers) != 0 || ns.Labels["kubernetes.io/metadata.name"] != "team" {
		t.Errorf("namespace defaults: %+v", ns)
	}
	sec := &corev1.Secret{}
	Default(sec)
	if sec.Type != corev1.SecretTypeOpaque {
		t.Errorf("secret type %q", sec.Type)
	}
	ep := &corev1.Endpoints{Subsets: []corev1.EndpointSubset{{Ports: []corev1.EndpointPort{{Port: 80}}}}}
	Default(ep)
	if ep.Subsets[0].Ports[0].Protocol != corev1.ProtocolTCP {
		t.Errorf("endpoints port protocol")
	}
	es := &discoveryv1.EndpointSlice{Ports: []discoveryv1.EndpointPort{{}}}
	Default(es)
	if es.Ports[0].Protocol == nil || *es.Ports[0].Protocol != corev1.ProtocolTCP || es.Ports[0].Name == nil {
		t.Errorf("endpointslice port defaults")
	}
	node := &corev1.Node{Status: corev1.NodeStatus{Capacity: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4")}}}
	Default(node)
	if q := node.Status.Allocatable[corev1.ResourceCPU]; q.String() != "4" {
		t.Errorf("allocatable not defaulted from capacity")
	}
	// Unknown and zero objects are left alone without panicking.
	Default(&corev1.PodList{Items: []corev1.Pod{{}}})
	Default(&metav1.Status{})
}
