package podautoscaler

import (
	"context"
	"fmt"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
	metricsclient "k8s.io/metrics/pkg/client/clientset/versioned/typed/metrics/v1beta1"
)

// MetricsSource is where the controller reads metrics, as upstream's MetricsClient: resource
// metrics (metrics.k8s.io), per-pod and per-object custom metrics (custom.metrics.k8s.io) and
// external metrics (external.metrics.k8s.io). Tests give their own.
type MetricsSource interface {
	// ResourceMetric returns the usage of resource by the pods of namespace that selector
	// matches (only that container's when container is set) and the samples' time.
	ResourceMetric(ctx context.Context, resource corev1.ResourceName, namespace string, selector labels.Selector, container string) (PodMetrics, time.Time, error)
	// PodsMetric returns a custom metric of the selected pods.
	PodsMetric(ctx context.Context, name, namespace string, selector, metricSelector labels.Selector) (PodMetrics, time.Time, error)
	// ObjectMetric returns a custom metric of one object.
	ObjectMetric(ctx context.Context, name, namespace string, object autoscalingv2.CrossVersionObjectReference, metricSelector labels.Selector) (int64, time.Time, error)
	// ExternalMetric returns the values of an external metric.
	ExternalMetric(ctx context.Context, name, namespace string, selector labels.Selector) ([]int64, time.Time, error)
}

// APIMetrics reads resource metrics from metrics.k8s.io through k8s.io/metrics' clientset, as
// upstream's resource metrics client. Skiff serves no custom.metrics.k8s.io nor
// external.metrics.k8s.io, so Pods, Object and External metrics fail as upstream's clients do
// when those APIs are not registered.
type APIMetrics struct {
	Client metricsclient.PodMetricsesGetter
}

var _ MetricsSource = APIMetrics{}

// ResourceMetric is upstream's resourceMetricsClient.GetResourceMetric.
func (m APIMetrics) ResourceMetric(ctx context.Context, resource corev1.ResourceName, namespace string, selector labels.Selector, container string) (PodMetrics, time.Time, error) {
	list, err := m.Client.PodMetricses(namespace).List(ctx, metav1.ListOptions{LabelSelector: selector.String()})
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("unable to fetch metrics from resource metrics API: %w", err)
	}
	if len(list.Items) == 0 {
		return nil, time.Time{}, fmt.Errorf("no metrics returned from resource metrics API")
	}
	out, err := podMetricsOf(list.Items, resource, container)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("failed to get container metrics: %w", err)
	}
	return out, list.Items[0].Timestamp.Time, nil
}

// podMetricsOf sums each pod's containers' usage of resource (a pod missing one container's
// sample is left out), or takes the one container's (whose missing sample is an error).
func podMetricsOf(items []metricsv1beta1.PodMetrics, resource corev1.ResourceName, container string) (PodMetrics, error) {
	out := PodMetrics{}
	for _, pm := range items {
		var sum int64
		complete := true
		for _, c := range pm.Containers {
			if container != "" && c.Name != container {
				continue
			}
			usage, ok := c.Usage[resource]
			if !ok {
				if container != "" {
					return nil, fmt.Errorf("missing resource metric %v for container %s in pod %s/%s", resource, container, pm.Namespace, pm.Name)
				}
				complete = false
				break
			}
			sum += usage.MilliValue()
		}
		if complete {
			out[pm.Name] = PodMetric{Timestamp: pm.Timestamp.Time, Window: pm.Window.Duration, Value: sum}
		}
	}
	return out, nil
}

// errNoCustomMetrics is what upstream's custom metrics client answers without the API.
var errNoCustomMetrics = fmt.Errorf("unable to fetch metrics from custom metrics API: no custom metrics API (custom.metrics.k8s.io) registered")

func (APIMetrics) PodsMetric(context.Context, string, string, labels.Selector, labels.Selector) (PodMetrics, time.Time, error) {
	return nil, time.Time{}, errNoCustomMetrics
}

func (APIMetrics) ObjectMetric(context.Context, string, string, autoscalingv2.CrossVersionObjectReference, labels.Selector) (int64, time.Time, error) {
	return 0, time.Time{}, errNoCustomMetrics
}

func (APIMetrics) ExternalMetric(_ context.Context, name, _ string, _ labels.Selector) ([]int64, time.Time, error) {
	return nil, time.Time{}, fmt.Errorf("unable to fetch metrics from external metrics API: the server could not find the requested resource (get %s.external.metrics.k8s.io)", name)
}
