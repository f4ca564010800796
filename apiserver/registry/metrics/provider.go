package metrics

import (
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	apitypes "k8s.io/apimachinery/pkg/types"
	"k8s.io/apiserver/pkg/registry/rest"
	v1listers "k8s.io/client-go/listers/core/v1"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
	"k8s.io/utils/clock"

	"github.com/skiff-dev/skiff/apiserver/registry"
	"github.com/skiff-dev/skiff/apiserver/resourcemetrics"
)

// Source gives the nodes' and pods' usage (resourcemetrics.Store).
type Source interface {
	Node(name string) (resourcemetrics.NodeUsage, bool)
	Pod(pod apitypes.NamespacedName) (resourcemetrics.PodUsage, bool)
}

// Provider builds metrics.k8s.io/v1beta1: nodes and pods.
type Provider struct {
	Source Source
	// Nodes and Pods list the objects whose metrics are served (the API server's informers).
	Nodes v1listers.NodeLister
	Pods  v1listers.PodLister
	// Clock stamps the metrics' creationTimestamp (the real clock when nil).
	Clock clock.PassiveClock
}

func (Provider) GroupName() string { return metricsv1beta1.GroupName }

func (p Provider) NewRESTStorage(*registry.Context) (map[string]map[string]rest.Storage, error) {
	if p.Source == nil || p.Nodes == nil || p.Pods == nil {
		return nil, fmt.Errorf("metrics.k8s.io needs a metrics source and node and pod listers")
	}
	clk := p.Clock
	if clk == nil {
		clk = clock.RealClock{}
	}
	return map[string]map[string]rest.Storage{metricsv1beta1.SchemeGroupVersion.Version: {
		"nodes": &nodeMetricsREST{source: p.Source, nodes: p.Nodes, clock: clk},
		"pods":  &podMetricsREST{source: p.Source, pods: p.Pods, clock: clk},
	}}, nil
}

// AddToScheme registers metrics.k8s.io/v1beta1 and, as Skiff does for every group, the same
// types as its internal version (no conversion).
func AddToScheme(scheme *runtime.Scheme) error {
	if err := metricsv1beta1.AddToScheme(scheme); err != nil {
		return fmt.Errorf("registering %s: %w", metricsv1beta1.SchemeGroupVersion, err)
	}
	internal := schema.GroupVersion{Group: metricsv1beta1.GroupName, Version: runtime.APIVersionInternal}
	scheme.AddKnownTypeWithName(internal.WithKind("NodeMetrics"), &metricsv1beta1.NodeMetrics{})
	scheme.AddKnownTypeWithName(internal.WithKind("NodeMetricsList"), &metricsv1beta1.NodeMetricsList{})
	scheme.AddKnownTypeWithName(internal.WithKind("PodMetrics"), &metricsv1beta1.PodMetrics{})
	scheme.AddKnownTypeWithName(internal.WithKind("PodMetricsList"), &metricsv1beta1.PodMetricsList{})
	return nil
}
