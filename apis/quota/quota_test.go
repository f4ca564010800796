package quota

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	quota "k8s.io/apiserver/pkg/quota/v1"
	clocktesting "k8s.io/utils/clock/testing"
)

func rl(pairs ...string) corev1.ResourceList {
	out := corev1.ResourceList{}
	for i := 0; i+1 < len(pairs); i += 2 {
		out[corev1.ResourceName(pairs[i])] = resource.MustParse(pairs[i+1])
	}
	return out
}

func podWith(req, lim corev1.ResourceList) *corev1.Pod {
	return &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Resources: corev1.ResourceRequirements{Requests: req, Limits: lim}}}}}
}

func TestPodUsage(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	e := NewPodEvaluator(nil, clocktesting.NewFakeClock(now))
	running := podWith(rl("cpu", "250m", "memory", "64Mi", "example.com/gpu", "1"), rl("cpu", "1", "memory", "128Mi"))
	running.Spec.InitContainers = []corev1.Container{{Name: "init", Resources: corev1.ResourceRequirements{Requests: rl("cpu", "2")}}}
	failed := running.DeepCopy()
	failed.Status.Phase = corev1.PodFailed
	gone := running.DeepCopy()
	grace := int64(30)
	gone.DeletionTimestamp, gone.DeletionGracePeriodSeconds = &metav1.Time{Time: now.Add(-time.Minute)}, &grace
	tests := []struct {
		name string
		pod  *corev1.Pod
		want corev1.ResourceList
	}{
		// Init containers run first: the pod requests the larger of their max and the sum.
		{"running", running, rl("count/pods", "1", "pods", "1", "cpu", "2", "requests.cpu", "2", "limits.cpu", "1",
			"memory", "64Mi", "requests.memory", "64Mi", "limits.memory", "128Mi", "requests.example.com/gpu", "1")},
		{"terminal", failed, rl("count/pods", "1")},
		{"past its grace period", gone, rl("count/pods", "1")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := e.Usage(tc.pod)
			if err != nil {
				t.Fatal(err)
			}
			if !quota.Equals(got, tc.want) {
				t.Errorf("usage %v, want %v", got, tc.want)
			}
		})
	}
}

func TestPodConstraintsAndScopes(t *testing.T) {
	e := NewPodEvaluator(nil, nil)
	err := e.Constraints([]corev1.ResourceName{"requests.cpu", "limits.memory", "pods"}, podWith(rl("memory", "1Gi"), nil))
	if err == nil || err.Error() != "must specify limits.memory for: app; requests.cpu for: app" {
		t.Errorf("constraints: %v", err)
	}
	if err := e.Constraints([]corev1.ResourceName{"requests.cpu"}, podWith(rl("cpu", "1"), nil)); err != nil {
		t.Errorf("constraints met: %v", err)
	}
	bestEffort := podWith(nil, nil)
	burstable := podWith(rl("cpu", "1"), nil)
	deadline := int64(10)
	terminating := podWith(nil, nil)
	terminating.Spec.ActiveDeadlineSeconds = &deadline
	priority := podWith(nil, nil)
	priority.Spec.PriorityClassName = "high"
	scope := func(name corev1.ResourceQuotaScope, op corev1.ScopeSelectorOperator, values ...string) corev1.ScopedResourceSelectorRequirement {
		return corev1.ScopedResourceSelectorRequirement{ScopeName: name, Operator: op, Values: values}
	}
	tests := []struct {
		name  string
		pod   *corev1.Pod
		scope corev1.ScopedResourceSelectorRequirement
		want  bool
	}{
		{"best effort", bestEffort, scope(corev1.ResourceQuotaScopeBestEffort, corev1.ScopeSelectorOpExists), true},
		{"burstable is not best effort", burstable, scope(corev1.ResourceQuotaScopeBestEffort, corev1.ScopeSelectorOpExists), false},
		{"not best effort", burstable, scope(corev1.ResourceQuotaScopeNotBestEffort, corev1.ScopeSelectorOpExists), true},
		{"terminating", terminating, scope(corev1.ResourceQuotaScopeTerminating, corev1.ScopeSelectorOpExists), true},
		{"not terminating", bestEffort, scope(corev1.ResourceQuotaScopeNotTerminating, corev1.ScopeSelectorOpExists), true},
		{"priority in", priority, scope(corev1.ResourceQuotaScopePriorityClass, corev1.ScopeSelectorOpIn, "high", "mid"), true},
		{"priority not in", priority, scope(corev1.ResourceQuotaScopePriorityClass, corev1.ScopeSelectorOpNotIn, "high"), false},
		{"no priority class", bestEffort, scope(corev1.ResourceQuotaScopePriorityClass, corev1.ScopeSelectorOpExists), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := podMatchesScope(tc.scope, tc.pod)
			if err != nil || got != tc.want {
				t.Errorf("got %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

func TestServiceUsage(t *testing.T) {
	e := NewServiceEvaluator(nil)
	no := false
	ports := []corev1.ServicePort{{Port: 80}, {Port: 443, NodePort: 30443}}
	tests := []struct {
		name string
		spec corev1.ServiceSpec
		want corev1.ResourceList
	}{
		{"cluster IP", corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, Ports: ports},
			rl("count/services", "1", "services", "1", "services.nodeports", "0", "services.loadbalancers", "0")},
		{"node port", corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Ports: ports},
			rl("count/services", "1", "services", "1", "services.nodeports", "2", "services.loadbalancers", "0")},
		{"load balancer without node ports", corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, Ports: ports, AllocateLoadBalancerNodePorts: &no},
			rl("count/services", "1", "services", "1", "services.nodeports", "1", "services.loadbalancers", "1")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := e.Usage(&corev1.Service{Spec: tc.spec})
			if err != nil {
				t.Fatal(err)
			}
			if !quota.Equals(got, tc.want) {
				t.Errorf("usage %v, want %v", got, tc.want)
			}
		})
	}
}
