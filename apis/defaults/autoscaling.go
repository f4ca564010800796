package defaults

import (
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// defaultAutoscaling applies upstream's autoscaling defaults; false for other kinds.
func defaultAutoscaling(obj runtime.Object) bool {
	switch o := obj.(type) {
	case *autoscalingv1.HorizontalPodAutoscaler:
		// v1's CPU target default is applied by the conversion, which sees every metric.
		if o.Spec.MinReplicas == nil {
			o.Spec.MinReplicas = ptrTo(int32(1))
		}
	case *autoscalingv2.HorizontalPodAutoscaler:
		DefaultHorizontalPodAutoscaler(o)
	default:
		return false
	}
	return true
}

// DefaultCPUUtilization is the CPU target of an autoscaler without metrics.
const DefaultCPUUtilization = 80

// DefaultHorizontalPodAutoscaler is upstream's v2 SetDefaults_HorizontalPodAutoscaler: minReplicas
// 1, a CPU Utilization target of 80% without metrics, and a given behavior completed with the
// default scaling rules.
func DefaultHorizontalPodAutoscaler(hpa *autoscalingv2.HorizontalPodAutoscaler) {
	if hpa.Spec.MinReplicas == nil {
		hpa.Spec.MinReplicas = ptrTo(int32(1))
	}
	if len(hpa.Spec.Metrics) == 0 {
		hpa.Spec.Metrics = []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
			Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptrTo(int32(DefaultCPUUtilization))}}}}
	}
	if b := hpa.Spec.Behavior; b != nil {
		b.ScaleUp = ScaleUpRules(b.ScaleUp)
		b.ScaleDown = ScaleDownRules(b.ScaleDown)
	}
}

// ScaleUpRules is upstream's GenerateHPAScaleUpRules: the given rules completed with the default
// scale-up ones (no stabilization; the larger of 4 pods and 100% per 15 seconds).
func ScaleUpRules(given *autoscalingv2.HPAScalingRules) *autoscalingv2.HPAScalingRules {
	return completeRules(given, &autoscalingv2.HPAScalingRules{
		StabilizationWindowSeconds: ptrTo(int32(0)),
		SelectPolicy:               ptrTo(autoscalingv2.MaxChangePolicySelect),
		Policies: []autoscalingv2.HPAScalingPolicy{
			{Type: autoscalingv2.PodsScalingPolicy, Value: 4, PeriodSeconds: 15},
			{Type: autoscalingv2.PercentScalingPolicy, Value: 100, PeriodSeconds: 15},
		},
	})
}

// ScaleDownRules is upstream's GenerateHPAScaleDownRules: the given rules completed with the
// default scale-down ones (100% per 15 seconds; the stabilization window stays unset, for the
// controller's own default of 5 minutes).
func ScaleDownRules(given *autoscalingv2.HPAScalingRules) *autoscalingv2.HPAScalingRules {
	return completeRules(given, &autoscalingv2.HPAScalingRules{
		SelectPolicy: ptrTo(autoscalingv2.MaxChangePolicySelect),
		Policies:     []autoscalingv2.HPAScalingPolicy{{Type: autoscalingv2.PercentScalingPolicy, Value: 100, PeriodSeconds: 15}},
	})
}

func completeRules(from, to *autoscalingv2.HPAScalingRules) *autoscalingv2.HPAScalingRules {
	if from == nil {
		return to
	}
	if from.SelectPolicy != nil {
		to.SelectPolicy = from.SelectPolicy
	}
	if from.StabilizationWindowSeconds != nil {
		to.StabilizationWindowSeconds = from.StabilizationWindowSeconds
	}
	if from.Policies != nil {
		to.Policies = from.Policies
	}
	if from.Tolerance != nil {
		to.Tolerance = from.Tolerance
	}
	return to
}
