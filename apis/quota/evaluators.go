package quota

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	quota "k8s.io/apiserver/pkg/quota/v1"
	"k8s.io/apiserver/pkg/quota/v1/generic"
	"k8s.io/utils/clock"
)

// ListFor returns the function listing the objects of a resource in a namespace; nil means
// the evaluator is used only for admission (no usage stats).
type ListFor func(gvr schema.GroupVersionResource) generic.ListFuncByNamespace

// legacyCounts are the object counts quota knows by a plain name as well as count/<resource>.
var legacyCounts = map[schema.GroupResource]corev1.ResourceName{
	{Resource: "configmaps"}:             corev1.ResourceConfigMaps,
	{Resource: "resourcequotas"}:         corev1.ResourceQuotas,
	{Resource: "replicationcontrollers"}: corev1.ResourceReplicationControllers,
	{Resource: "secrets"}:                corev1.ResourceSecrets,
}

// Evaluators returns the evaluators with special knowledge: pods, services, claims and the
// legacy object counts. Any other resource is counted by generic.NewObjectCountEvaluator.
func Evaluators(list ListFor, clk clock.PassiveClock) []quota.Evaluator {
	lister := func(gvr schema.GroupVersionResource) generic.ListFuncByNamespace {
		if list == nil {
			return nil
		}
		return list(gvr)
	}
	out := []quota.Evaluator{
		NewPodEvaluator(lister(corev1.SchemeGroupVersion.WithResource("pods")), clk),
		NewServiceEvaluator(lister(corev1.SchemeGroupVersion.WithResource("services"))),
		NewClaimEvaluator(lister(corev1.SchemeGroupVersion.WithResource("persistentvolumeclaims"))),
	}
	for gr, alias := range legacyCounts {
		out = append(out, generic.NewObjectCountEvaluator(gr, lister(corev1.SchemeGroupVersion.WithResource(gr.Resource)), alias))
	}
	return out
}

// Configuration is the quota configuration of the admission plugin: the evaluators above, and
// events are never charged (as upstream).
func Configuration(list ListFor, clk clock.PassiveClock) quota.Configuration {
	return generic.NewConfiguration(Evaluators(list, clk), IgnoredResources)
}

// IgnoredResources are never charged to a quota.
var IgnoredResources = map[schema.GroupResource]struct{}{
	{Group: "", Resource: "events"}:              {},
	{Group: "events.k8s.io", Resource: "events"}: {},
}
