package printers

import (
	"fmt"
	"strings"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func init() {
	register(schema.GroupResource{Group: autoscalingv2.GroupName, Resource: "horizontalpodautoscalers"},
		newConvertor(horizontalPodAutoscalerColumns, func(l *autoscalingv2.HorizontalPodAutoscalerList) []autoscalingv2.HorizontalPodAutoscaler {
			return l.Items
		}, printHorizontalPodAutoscaler))
}

var (
	hpaSpecDoc   = autoscalingv2.HorizontalPodAutoscalerSpec{}.SwaggerDoc()
	hpaStatusDoc = autoscalingv2.HorizontalPodAutoscalerStatus{}.SwaggerDoc()

	horizontalPodAutoscalerColumns = []metav1.TableColumnDefinition{
		nameColumn,
		{Name: "Reference", Type: "string", Description: hpaSpecDoc["scaleTargetRef"]},
		{Name: "Targets", Type: "string", Description: hpaSpecDoc["metrics"]},
		{Name: "MinPods", Type: "string", Description: hpaSpecDoc["minReplicas"]},
		{Name: "MaxPods", Type: "string", Description: hpaSpecDoc["maxReplicas"]},
		{Name: "Replicas", Type: "string", Description: hpaStatusDoc["currentReplicas"]},
		ageColumn,
	}
)

func printHorizontalPodAutoscaler(hpa *autoscalingv2.HorizontalPodAutoscaler) metav1.TableRow {
	reference := fmt.Sprintf("%s/%s", hpa.Spec.ScaleTargetRef.Kind, hpa.Spec.ScaleTargetRef.Name)
	minPods := "<unset>"
	if hpa.Spec.MinReplicas != nil {
		minPods = fmt.Sprintf("%d", *hpa.Spec.MinReplicas)
	}
	return cells(hpa.Name, reference, formatHPAMetrics(hpa.Spec.Metrics, hpa.Status.CurrentMetrics), minPods,
		int64(hpa.Spec.MaxReplicas), int64(hpa.Status.CurrentReplicas), translateTimestampSince(hpa.CreationTimestamp))
}

// formatHPAMetrics is upstream's TARGETS cell: "current/target" per metric, the current value
// taken from the status at the same index ("<unknown>" without one), at most two then "+ N
// more...".
func formatHPAMetrics(specs []autoscalingv2.MetricSpec, statuses []autoscalingv2.MetricStatus) string {
	if len(specs) == 0 {
		return "<none>"
	}
	const maximum = 2
	var list []string
	for i, spec := range specs {
		var st *autoscalingv2.MetricStatus
		if len(statuses) > i {
			st = &statuses[i]
		}
		current := "<unknown>"
		switch spec.Type {
		case autoscalingv2.ExternalMetricSourceType:
			if spec.External.Target.AverageValue != nil {
				if st != nil && st.External != nil && st.External.Current.AverageValue != nil {
					current = st.External.Current.AverageValue.String()
				}
				list = append(list, fmt.Sprintf("%s/%s (avg)", current, spec.External.Target.AverageValue.String()))
			} else {
				if st != nil && st.External != nil {
					current = st.External.Current.Value.String()
				}
				list = append(list, fmt.Sprintf("%s/%s", current, spec.External.Target.Value.String()))
			}
		case autoscalingv2.PodsMetricSourceType:
			if st != nil && st.Pods != nil {
				current = st.Pods.Current.AverageValue.String()
			}
			list = append(list, fmt.Sprintf("%s/%s", current, spec.Pods.Target.AverageValue.String()))
		case autoscalingv2.ObjectMetricSourceType:
			if spec.Object.Target.AverageValue != nil {
				if st != nil && st.Object != nil && st.Object.Current.AverageValue != nil {
					current = st.Object.Current.AverageValue.String()
				}
				list = append(list, fmt.Sprintf("%s/%s (avg)", current, spec.Object.Target.AverageValue.String()))
			} else {
				if st != nil && st.Object != nil {
					current = st.Object.Current.Value.String()
				}
				list = append(list, fmt.Sprintf("%s/%s", current, spec.Object.Target.Value.String()))
			}
		case autoscalingv2.ResourceMetricSourceType:
			var cur *autoscalingv2.MetricValueStatus
			if st != nil && st.Resource != nil {
				cur = &st.Resource.Current
			}
			list = append(list, formatResourceTarget(spec.Resource.Name.String(), spec.Resource.Target, cur))
		case autoscalingv2.ContainerResourceMetricSourceType:
			var cur *autoscalingv2.MetricValueStatus
			if st != nil && st.ContainerResource != nil {
				cur = &st.ContainerResource.Current
			}
			list = append(list, formatResourceTarget(spec.ContainerResource.Name.String(), spec.ContainerResource.Target, cur))
		default:
			list = append(list, "<unknown type>")
		}
	}
	count := len(list)
	if count > maximum {
		return fmt.Sprintf("%s + %d more...", strings.Join(list[:maximum], ", "), count-maximum)
	}
	return strings.Join(list, ", ")
}

// formatResourceTarget prints "cpu: 10%/50%" for utilization targets, "memory: 1Gi/2Gi" for
// average values.
func formatResourceTarget(name string, target autoscalingv2.MetricTarget, cur *autoscalingv2.MetricValueStatus) string {
	current := "<unknown>"
	if target.AverageValue != nil {
		if cur != nil {
			current = cur.AverageValue.String()
		}
		return fmt.Sprintf("%s: %s/%s", name, current, target.AverageValue.String())
	}
	if cur != nil && cur.AverageUtilization != nil {
		current = fmt.Sprintf("%d%%", *cur.AverageUtilization)
	}
	want := "<auto>"
	if target.AverageUtilization != nil {
		want = fmt.Sprintf("%d%%", *target.AverageUtilization)
	}
	return fmt.Sprintf("%s: %s/%s", name, current, want)
}
