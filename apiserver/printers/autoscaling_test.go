package printers

import (
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var hpaGR = schema.GroupResource{Group: "autoscaling", Resource: "horizontalpodautoscalers"}

func TestHorizontalPodAutoscalerRows(t *testing.T) {
	i32 := func(v int32) *int32 { return &v }
	q := resource.MustParse
	ptrQ := func(s string) *resource.Quantity { v := q(s); return &v }
	cpu := func(target int32) autoscalingv2.MetricSpec {
		return autoscalingv2.MetricSpec{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
			Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: i32(target)}}}
	}
	cpuNow := func(v int32) autoscalingv2.MetricStatus {
		return autoscalingv2.MetricStatus{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricStatus{
			Name: corev1.ResourceCPU, Current: autoscalingv2.MetricValueStatus{AverageUtilization: i32(v)}}}
	}
	memory := autoscalingv2.MetricSpec{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
		Name: corev1.ResourceMemory, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: ptrQ("1Gi")}}}
	pods := autoscalingv2.MetricSpec{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricSource{
		Metric: autoscalingv2.MetricIdentifier{Name: "qps"}, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: ptrQ("10")}}}
	external := autoscalingv2.MetricSpec{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricSource{
		Metric: autoscalingv2.MetricIdentifier{Name: "queue"}, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: ptrQ("30")}}}
	ref := autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"}
	tests := []struct {
		name string
		hpa  autoscalingv2.HorizontalPodAutoscaler
		want []any
	}{
		{"cpu, no status yet", autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: objMeta("web", 5*time.Minute),
			Spec: autoscalingv2.HorizontalPodAutoscalerSpec{ScaleTargetRef: ref, MinReplicas: i32(1), MaxReplicas: 5, Metrics: []autoscalingv2.MetricSpec{cpu(50)}}},
			[]any{"web", "Deployment/web", "cpu: <unknown>/50%", "1", int64(5), int64(0), "5m"}},
		{"cpu with status", autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: objMeta("web", time.Hour),
			Spec:   autoscalingv2.HorizontalPodAutoscalerSpec{ScaleTargetRef: ref, MinReplicas: i32(2), MaxReplicas: 10, Metrics: []autoscalingv2.MetricSpec{cpu(50)}},
			Status: autoscalingv2.HorizontalPodAutoscalerStatus{CurrentReplicas: 3, CurrentMetrics: []autoscalingv2.MetricStatus{cpuNow(10)}}},
			[]any{"web", "Deployment/web", "cpu: 10%/50%", "2", int64(10), int64(3), "60m"}},
		{"three metrics, no minReplicas", autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: objMeta("many", time.Minute),
			Spec: autoscalingv2.HorizontalPodAutoscalerSpec{ScaleTargetRef: ref, MaxReplicas: 3, Metrics: []autoscalingv2.MetricSpec{memory, pods, external}}},
			[]any{"many", "Deployment/web", "memory: <unknown>/1Gi, <unknown>/10 + 1 more...", "<unset>", int64(3), int64(0), "60s"}},
		{"external average", autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: objMeta("ext", time.Minute),
			Spec: autoscalingv2.HorizontalPodAutoscalerSpec{ScaleTargetRef: ref, MaxReplicas: 3, Metrics: []autoscalingv2.MetricSpec{external}}},
			[]any{"ext", "Deployment/web", "<unknown>/30 (avg)", "<unset>", int64(3), int64(0), "60s"}},
		{"no metrics", autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: objMeta("none", time.Minute),
			Spec: autoscalingv2.HorizontalPodAutoscalerSpec{ScaleTargetRef: ref, MaxReplicas: 3}},
			[]any{"none", "Deployment/web", "<none>", "<unset>", int64(3), int64(0), "60s"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkCells(t, rowCells(t, hpaGR, &tt.hpa), tt.want)
		})
	}
}
