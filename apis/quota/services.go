package quota

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/admission"
	quota "k8s.io/apiserver/pkg/quota/v1"
	"k8s.io/apiserver/pkg/quota/v1/generic"
)

var servicesGR = corev1.SchemeGroupVersion.WithResource("services").GroupResource()

var serviceCountName = generic.ObjectCountQuotaResourceNameFor(servicesGR)

var serviceResources = []corev1.ResourceName{
	serviceCountName, corev1.ResourceServices, corev1.ResourceServicesNodePorts, corev1.ResourceServicesLoadBalancers,
}

// ServiceEvaluator measures services: the count, node ports and load balancers.
type ServiceEvaluator struct {
	list generic.ListFuncByNamespace
}

var _ quota.Evaluator = &ServiceEvaluator{}

// NewServiceEvaluator returns the service evaluator; list may be nil for admission-only use.
func NewServiceEvaluator(list generic.ListFuncByNamespace) *ServiceEvaluator {
	return &ServiceEvaluator{list: list}
}

// Constraints has none for services.
func (e *ServiceEvaluator) Constraints([]corev1.ResourceName, runtime.Object) error { return nil }

// GroupResource is core services.
func (e *ServiceEvaluator) GroupResource() schema.GroupResource { return servicesGR }

// Handles creates and updates (a type change can add node ports or a load balancer).
func (e *ServiceEvaluator) Handles(a admission.Attributes) bool {
	op := a.GetOperation()
	return a.GetSubresource() == "" && (op == admission.Create || op == admission.Update)
}

// Matches tells whether the quota covers the service.
func (e *ServiceEvaluator) Matches(q *corev1.ResourceQuota, item runtime.Object) (bool, error) {
	return generic.Matches(q, item, e.MatchingResources, generic.MatchesNoScopeFunc)
}

// MatchingResources returns the resources of input that services use.
func (e *ServiceEvaluator) MatchingResources(input []corev1.ResourceName) []corev1.ResourceName {
	return quota.Intersection(input, serviceResources)
}

// MatchingScopes: services have no scopes.
func (e *ServiceEvaluator) MatchingScopes(runtime.Object, []corev1.ScopedResourceSelectorRequirement) ([]corev1.ScopedResourceSelectorRequirement, error) {
	return []corev1.ScopedResourceSelectorRequirement{}, nil
}

// UncoveredQuotaScopes: services have no scopes.
func (e *ServiceEvaluator) UncoveredQuotaScopes(_, _ []corev1.ScopedResourceSelectorRequirement) ([]corev1.ScopedResourceSelectorRequirement, error) {
	return []corev1.ScopedResourceSelectorRequirement{}, nil
}

// Usage counts the service, its node ports (NodePort and LoadBalancer types; a LoadBalancer
// without node port allocation counts only the ports naming one) and its load balancer.
func (e *ServiceEvaluator) Usage(item runtime.Object) (corev1.ResourceList, error) {
	svc, ok := item.(*corev1.Service)
	if !ok || svc == nil {
		return corev1.ResourceList{}, fmt.Errorf("expected *v1.Service, got %T", item)
	}
	one := *resource.NewQuantity(1, resource.DecimalSI)
	result := corev1.ResourceList{
		serviceCountName:                     one,
		corev1.ResourceServices:              one,
		corev1.ResourceServicesLoadBalancers: {Format: resource.DecimalSI},
		corev1.ResourceServicesNodePorts:     {Format: resource.DecimalSI},
	}
	ports := int64(len(svc.Spec.Ports))
	switch svc.Spec.Type {
	case corev1.ServiceTypeNodePort:
		result[corev1.ResourceServicesNodePorts] = *resource.NewQuantity(ports, resource.DecimalSI)
	case corev1.ServiceTypeLoadBalancer:
		if a := svc.Spec.AllocateLoadBalancerNodePorts; a != nil && !*a {
			n := int64(0)
			for _, p := range svc.Spec.Ports {
				if p.NodePort != 0 {
					n++
				}
			}
			ports = n
		}
		result[corev1.ResourceServicesNodePorts] = *resource.NewQuantity(ports, resource.DecimalSI)
		result[corev1.ResourceServicesLoadBalancers] = one
	}
	return result, nil
}

// UsageStats sums the usage of the namespace's services.
func (e *ServiceEvaluator) UsageStats(options quota.UsageStatsOptions) (quota.UsageStats, error) {
	if e.list == nil {
		return quota.UsageStats{}, fmt.Errorf("service evaluator has no lister")
	}
	return generic.CalculateUsageStats(options, e.list, generic.MatchesNoScopeFunc, e.Usage)
}
