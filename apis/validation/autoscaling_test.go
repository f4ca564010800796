package validation

import (
	"testing"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// TestHorizontalPodAutoscaler pins upstream's HorizontalPodAutoscaler validation (cases after
// pkg/apis/autoscaling/validation's tests) on defaulted v2 objects.
func TestHorizontalPodAutoscaler(t *testing.T) {
	q := func(s string) *resource.Quantity { v := resource.MustParse(s); return &v }
	cpu := func(target autoscalingv2.MetricTarget) autoscalingv2.MetricSpec {
		return autoscalingv2.MetricSpec{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{Name: corev1.ResourceCPU, Target: target}}
	}
	hpa := func(mutate func(*autoscalingv2.HorizontalPodAutoscaler)) *autoscalingv2.HorizontalPodAutoscaler {
		h := &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: objMeta("web"), Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"}, MaxReplicas: 5}}
		mutate(h)
		return defaulted(h)
	}
	behavior := func(up *autoscalingv2.HPAScalingRules) func(*autoscalingv2.HorizontalPodAutoscaler) {
		return func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.Spec.Behavior = &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleUp: up}
		}
	}
	const m0 = "spec.metrics[0]"
	for _, tc := range []struct {
		name string
		obj  *autoscalingv2.HorizontalPodAutoscaler
		want []want
	}{
		{"valid, defaulted to 80% CPU", hpa(func(*autoscalingv2.HorizontalPodAutoscaler) {}), nil},
		{"valid behavior", hpa(behavior(&autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: ptr(int32(60)), Tolerance: q("50m")})), nil},
		{"replica bounds", hpa(func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.Spec.MinReplicas, h.Spec.MaxReplicas = ptr(int32(0)), 0
		}),
			[]want{{"spec.minReplicas", field.ErrorTypeInvalid, "must be greater than or equal to 1"},
				{"spec.maxReplicas", field.ErrorTypeInvalid, "must be greater than 0"},
				{"spec.metrics", field.ErrorTypeForbidden, "must specify at least one Object or External metric to support scaling to zero replicas"}}},
		{"max below min", hpa(func(h *autoscalingv2.HorizontalPodAutoscaler) { h.Spec.MinReplicas = ptr(int32(7)) }),
			[]want{{"spec.maxReplicas", field.ErrorTypeInvalid, "must be greater than or equal to `minReplicas`"}}},
		{"scale target reference", hpa(func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.Spec.ScaleTargetRef = autoscalingv2.CrossVersionObjectReference{Name: "a/b"}
		}), []want{{"spec.scaleTargetRef.kind", field.ErrorTypeRequired, ""}, {"spec.scaleTargetRef.name", field.ErrorTypeInvalid, "may not contain '/'"}}},
		{"utilization and value together", hpa(func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.Spec.Metrics = []autoscalingv2.MetricSpec{cpu(autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr(int32(0)), AverageValue: q("100m")})}
		}), []want{{m0 + ".resource.target.averageUtilization", field.ErrorTypeInvalid, "must be greater than 0"},
			{m0 + ".resource.target.averageValue", field.ErrorTypeForbidden, "may not set both a target raw value and a target utilization"}}},
		{"no target", hpa(func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.Spec.Metrics = []autoscalingv2.MetricSpec{cpu(autoscalingv2.MetricTarget{Type: "Bogus"})}
		}), []want{{m0 + ".resource.target.type", field.ErrorTypeInvalid, "must be either Utilization, Value, or AverageValue"},
			{m0 + ".resource.target.averageUtilization", field.ErrorTypeRequired, "must set either a target raw value or a target utilization"}}},
		// One source given, of another type: only the missing one is reported, as upstream.
		{"type without its source", hpa(func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.Spec.Metrics = []autoscalingv2.MetricSpec{{Type: autoscalingv2.PodsMetricSourceType, Resource: cpu(autoscalingv2.MetricTarget{
				Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr(int32(50))}).Resource}}
		}), []want{{m0 + ".pods", field.ErrorTypeRequired, "must populate information for the given metric source"}}},
		{"two sources", hpa(func(h *autoscalingv2.HorizontalPodAutoscaler) {
			m := cpu(autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr(int32(50))})
			m.Pods = &autoscalingv2.PodsMetricSource{Metric: autoscalingv2.MetricIdentifier{Name: "qps"},
				Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: q("1")}}
			h.Spec.Metrics = []autoscalingv2.MetricSpec{m}
		}), []want{{m0 + ".pods", field.ErrorTypeForbidden, "must populate the given metric source only"}}},
		{"unknown type", hpa(func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.Spec.Metrics = []autoscalingv2.MetricSpec{{Type: "Bogus"}}
		}), []want{{m0 + ".type", field.ErrorTypeNotSupported, `"ContainerResource", "External", "Object", "Pods", "Resource"`},
			{m0 + ".type", field.ErrorTypeNotSupported, ""}}},
		{"pods metric", hpa(func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.Spec.Metrics = []autoscalingv2.MetricSpec{{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricSource{
				Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType}}}}
		}), []want{{m0 + ".pods.metric.name", field.ErrorTypeRequired, "must specify a metric name"},
			{m0 + ".pods.target.averageValue", field.ErrorTypeRequired, "must specify a positive target averageValue"}}},
		{"external metric with both targets", hpa(func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.Spec.Metrics = []autoscalingv2.MetricSpec{{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricSource{
				Metric: autoscalingv2.MetricIdentifier{Name: "queue"}, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.ValueMetricType, Value: q("1"), AverageValue: q("-1")}}}}
		}), []want{{m0 + ".external.target.averageValue", field.ErrorTypeInvalid, "must be positive"},
			{m0 + ".external.target.value", field.ErrorTypeForbidden, "may not set both a target value for metric and a per-pod target"}}},
		{"container resource", hpa(func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.Spec.Metrics = []autoscalingv2.MetricSpec{{Type: autoscalingv2.ContainerResourceMetricSourceType, ContainerResource: &autoscalingv2.ContainerResourceMetricSource{
				Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr(int32(50))}}}}
		}), []want{{m0 + ".containerResource.container", field.ErrorTypeRequired, "must specify a container"}}},
		{"behavior rules", hpa(behavior(&autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: ptr(int32(3601)),
			SelectPolicy: ptr(autoscalingv2.ScalingPolicySelect("Sometimes")), Tolerance: q("-1"),
			Policies: []autoscalingv2.HPAScalingPolicy{{Type: "Replicas", Value: 0, PeriodSeconds: 1801}}})),
			[]want{{"spec.behavior.scaleUp.stabilizationWindowSeconds", field.ErrorTypeInvalid, "must be less than or equal to 3600"},
				{"spec.behavior.scaleUp.selectPolicy", field.ErrorTypeNotSupported, `"Disabled", "Max", "Min"`},
				{"spec.behavior.scaleUp.tolerance", field.ErrorTypeInvalid, "must be greater than or equal to zero"},
				{"spec.behavior.scaleUp.policies[0].type", field.ErrorTypeNotSupported, `"Percent", "Pods"`},
				{"spec.behavior.scaleUp.policies[0].value", field.ErrorTypeInvalid, "must be greater than zero"},
				{"spec.behavior.scaleUp.policies[0].periodSeconds", field.ErrorTypeInvalid, "must be less than or equal to 1800"}}},
		{"behavior without policies", hpa(behavior(&autoscalingv2.HPAScalingRules{Policies: []autoscalingv2.HPAScalingPolicy{}})),
			[]want{{"spec.behavior.scaleUp.policies", field.ErrorTypeRequired, "must specify at least one Policy"}}},
	} {
		t.Run(tc.name, func(t *testing.T) { checkErrs(t, ValidateCreate(tc.obj), tc.want) })
	}

	t.Run("update keeps a stored minReplicas 0", func(t *testing.T) {
		old := hpa(func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.Spec.MinReplicas = ptr(int32(0))
			h.Spec.Metrics = []autoscalingv2.MetricSpec{{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricSource{
				Metric: autoscalingv2.MetricIdentifier{Name: "queue"}, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: q("10")}}}}
		})
		old.ResourceVersion = "1"
		h := old.DeepCopy()
		h.Spec.MaxReplicas = 9
		checkErrs(t, ValidateUpdate(h, old), nil)
	})
	t.Run("status", func(t *testing.T) {
		old := hpa(func(*autoscalingv2.HorizontalPodAutoscaler) {})
		old.ResourceVersion = "1"
		h := old.DeepCopy()
		h.Status.CurrentReplicas, h.Status.DesiredReplicas = -1, -2
		checkErrs(t, ValidateStatusUpdate(h, old), []want{{"status.currentReplicas", field.ErrorTypeInvalid, ""}, {"status.desiredReplicas", field.ErrorTypeInvalid, ""}})
	})
}
