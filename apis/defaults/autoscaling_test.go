package defaults

import (
	"testing"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
)

// TestHorizontalPodAutoscalerDefaults pins upstream's v2 and v1 defaults.
func TestHorizontalPodAutoscalerDefaults(t *testing.T) {
	h := &autoscalingv2.HorizontalPodAutoscaler{}
	Default(h)
	if *h.Spec.MinReplicas != 1 || len(h.Spec.Metrics) != 1 || *h.Spec.Metrics[0].Resource.Target.AverageUtilization != 80 || h.Spec.Behavior != nil {
		t.Errorf("empty v2: %+v", h.Spec)
	}

	window := int32(30)
	h = &autoscalingv2.HorizontalPodAutoscaler{Spec: autoscalingv2.HorizontalPodAutoscalerSpec{Behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{
		ScaleDown: &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: &window}}}}
	Default(h)
	up, down := h.Spec.Behavior.ScaleUp, h.Spec.Behavior.ScaleDown
	if *up.StabilizationWindowSeconds != 0 || *up.SelectPolicy != autoscalingv2.MaxChangePolicySelect || len(up.Policies) != 2 ||
		up.Policies[0] != (autoscalingv2.HPAScalingPolicy{Type: autoscalingv2.PodsScalingPolicy, Value: 4, PeriodSeconds: 15}) ||
		up.Policies[1] != (autoscalingv2.HPAScalingPolicy{Type: autoscalingv2.PercentScalingPolicy, Value: 100, PeriodSeconds: 15}) {
		t.Errorf("scale up: %+v", up)
	}
	if *down.StabilizationWindowSeconds != 30 || *down.SelectPolicy != autoscalingv2.MaxChangePolicySelect ||
		len(down.Policies) != 1 || down.Policies[0] != (autoscalingv2.HPAScalingPolicy{Type: autoscalingv2.PercentScalingPolicy, Value: 100, PeriodSeconds: 15}) {
		t.Errorf("scale down: %+v", down)
	}
	if ScaleDownRules(nil).StabilizationWindowSeconds != nil {
		t.Error("the default scale-down window must stay unset (the controller's flag)")
	}

	v1 := &autoscalingv1.HorizontalPodAutoscaler{}
	Default(v1)
	if *v1.Spec.MinReplicas != 1 || v1.Spec.TargetCPUUtilizationPercentage != nil {
		t.Errorf("v1: %+v", v1.Spec)
	}
}
