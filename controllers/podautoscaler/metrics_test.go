package podautoscaler

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
	metricsfake "k8s.io/metrics/pkg/client/clientset/versioned/fake"
)

// TestAPIMetrics: pods' usage summed over containers (a pod missing a container's sample is
// left out) or one container's, from metrics.k8s.io's PodMetrics.
func TestAPIMetrics(t *testing.T) {
	usage := func(cpu string) corev1.ResourceList {
		return corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu)}
	}
	pm := func(name string, containers ...metricsv1beta1.ContainerMetrics) *metricsv1beta1.PodMetrics {
		return &metricsv1beta1.PodMetrics{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", Labels: map[string]string{"app": "web"}},
			Timestamp: metav1.NewTime(t0), Window: metav1.Duration{Duration: 30 * time.Second}, Containers: containers}
	}
	client := metricsfake.NewSimpleClientset()
	// PodMetrics are served as "pods" of metrics.k8s.io, which the tracker cannot guess.
	gvr := metricsv1beta1.SchemeGroupVersion.WithResource("pods")
	for _, p := range []*metricsv1beta1.PodMetrics{
		pm("a", metricsv1beta1.ContainerMetrics{Name: "web", Usage: usage("200m")}, metricsv1beta1.ContainerMetrics{Name: "side", Usage: usage("50m")}),
		pm("b", metricsv1beta1.ContainerMetrics{Name: "web", Usage: usage("100m")}, metricsv1beta1.ContainerMetrics{Name: "side", Usage: corev1.ResourceList{}}),
	} {
		if err := client.Tracker().Create(gvr, p, "ns"); err != nil {
			t.Fatal(err)
		}
	}
	m := APIMetrics{Client: client.MetricsV1beta1()}
	sel := labels.SelectorFromSet(labels.Set{"app": "web"})
	got, ts, err := m.ResourceMetric(context.Background(), corev1.ResourceCPU, "ns", sel, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got["a"].Value != 250 || got["a"].Window != 30*time.Second || !ts.Equal(t0) {
		t.Errorf("pods: %+v at %v", got, ts)
	}
	if got, _, err = m.ResourceMetric(context.Background(), corev1.ResourceCPU, "ns", sel, "web"); err != nil || got["a"].Value != 200 || got["b"].Value != 100 {
		t.Errorf("container web: %+v, %v", got, err)
	}
	if _, _, err := m.ResourceMetric(context.Background(), corev1.ResourceCPU, "ns", sel, "side"); err == nil ||
		!strings.Contains(err.Error(), "missing resource metric cpu for container side in pod ns/b") {
		t.Errorf("container side: %v", err)
	}
	if _, _, err := m.ResourceMetric(context.Background(), corev1.ResourceCPU, "other", sel, ""); err == nil || err.Error() != "no metrics returned from resource metrics API" {
		t.Errorf("no pods: %v", err)
	}
}
