// Package conversion converts between the served versions of a kind whose versions differ in
// shape, where the k8s.io/api types cannot simply be their own internal version: autoscaling/v1
// HorizontalPodAutoscalers to and from autoscaling/v2, the storage (and internal) version, as
// upstream's pkg/apis/autoscaling/v1 conversion does: v1's targetCPUUtilizationPercentage is v2's
// CPU Utilization metric, and what v1 cannot express (other metrics, their status, behavior,
// conditions) rides in the autoscaling.alpha.kubernetes.io/* annotations. It imports only
// k8s.io/apimachinery and k8s.io/api.
package conversion
