package podautoscaler

import (
	"errors"
	"fmt"
	"math"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"
)

// PodMetric is one pod's sample of a metric, in milli-units (CPU millicores, bytes*1000, ...),
// taken at Timestamp over Window, as upstream's metricsclient.PodMetric.
type PodMetric struct {
	Timestamp time.Time
	Window    time.Duration
	Value     int64
}

// PodMetrics are the samples of a metric by pod name.
type PodMetrics map[string]PodMetric

// Tolerances are how far the usage ratio may be from 1 before the controller scales (upstream's
// --horizontal-pod-autoscaler-tolerance, 0.1, or a behavior's own tolerance).
type Tolerances struct{ ScaleDown, ScaleUp float64 }

// DefaultTolerance is upstream's --horizontal-pod-autoscaler-tolerance.
const DefaultTolerance = 0.1

func (t Tolerances) isWithin(ratio float64) bool {
	return (1.0-t.ScaleDown) <= ratio && ratio <= (1.0+t.ScaleUp)
}

// Readiness holds upstream's two CPU readiness delays: --horizontal-pod-autoscaler-cpu-
// initialization-period (5 min) and --horizontal-pod-autoscaler-initial-readiness-delay (30 s).
type Readiness struct {
	CPUInitializationPeriod       time.Duration
	DelayOfInitialReadinessStatus time.Duration
}

// DefaultReadiness is upstream's defaults.
var DefaultReadiness = Readiness{CPUInitializationPeriod: 5 * time.Minute, DelayOfInitialReadinessStatus: 30 * time.Second}

// Calculator is upstream's ReplicaCalculator without its clients: the pods and samples are
// given, so every answer depends only on its inputs and Now.
type Calculator struct {
	Tolerances Tolerances
	Readiness  Readiness
	Now        time.Time
}

// ResourceUtilization is the answer for a Utilization target: the proposed replicas, the
// average utilization in percent of the requests and the raw average (milli-units).
type ResourceUtilization struct {
	Replicas    int32
	Utilization int32
	RawAverage  int64
}

// errNoPods is upstream's error when the target's selector matches no pod.
var errNoPods = errors.New("no pods returned by selector while calculating replica count")

// ResourceReplicas is upstream's GetResourceReplicas: the replicas for a Utilization target of
// resource (container: only that container's usage and requests) over pods and their samples.
// Pods that are pending, unready (CPU) or without samples are counted conservatively: missing
// ones as using 100% (scale down) or 0 (scale up), unready ones as 0 on scale up.
func (c Calculator) ResourceReplicas(current, targetUtilization int32, resource corev1.ResourceName, container string, pods []*corev1.Pod, samples PodMetrics) (ResourceUtilization, error) {
	metrics := clone(samples)
	if len(pods) == 0 {
		return ResourceUtilization{}, errNoPods
	}
	ready, unready, missing, ignored := c.groupPods(pods, metrics, resource)
	removeMetrics(metrics, ignored)
	removeMetrics(metrics, unready)
	if len(metrics) == 0 {
		return ResourceUtilization{}, errors.New("did not receive metrics for targeted pods (pods might be unready)")
	}
	requests, err := podRequests(pods, container, resource)
	if err != nil {
		return ResourceUtilization{}, err
	}
	ratio, utilization, raw, err := utilizationRatio(metrics, requests, targetUtilization)
	if err != nil {
		return ResourceUtilization{}, err
	}
	out := ResourceUtilization{Replicas: current, Utilization: utilization, RawAverage: raw}
	scaleUpWithUnready := len(unready) > 0 && ratio > 1.0
	if !scaleUpWithUnready && len(missing) == 0 {
		if !c.Tolerances.isWithin(ratio) {
			out.Replicas = int32(math.Ceil(ratio * float64(ready)))
		}
		return out, nil
	}
	if len(missing) > 0 {
		fallback := int64(max(100, targetUtilization))
		for name := range missing {
			if ratio < 1.0 {
				metrics[name] = PodMetric{Value: requests[name] * fallback / 100}
			} else if ratio > 1.0 {
				metrics[name] = PodMetric{Value: 0}
			}
		}
	}
	if scaleUpWithUnready {
		for name := range unready {
			metrics[name] = PodMetric{Value: 0}
		}
	}
	newRatio, _, _, err := utilizationRatio(metrics, requests, targetUtilization)
	if err != nil {
		return ResourceUtilization{}, err
	}
	out.Replicas = c.rebalanced(current, ratio, newRatio, len(metrics))
	return out, nil
}

// PlainReplicas is upstream's calcPlainMetricReplicas, for AverageValue targets of resources and
// of pods metrics: the replicas for a target average usage (milli-units) and the current average.
func (c Calculator) PlainReplicas(current int32, targetUsage int64, resource corev1.ResourceName, pods []*corev1.Pod, samples PodMetrics) (int32, int64, error) {
	metrics := clone(samples)
	if len(pods) == 0 {
		return 0, 0, errNoPods
	}
	ready, unready, missing, ignored := c.groupPods(pods, metrics, resource)
	removeMetrics(metrics, ignored)
	removeMetrics(metrics, unready)
	if len(metrics) == 0 {
		return 0, 0, errors.New("did not receive metrics for targeted pods (pods might be unready)")
	}
	ratio, usage := usageRatio(metrics, targetUsage)
	scaleUpWithUnready := len(unready) > 0 && ratio > 1.0
	if !scaleUpWithUnready && len(missing) == 0 {
		if c.Tolerances.isWithin(ratio) {
			return current, usage, nil
		}
		return int32(math.Ceil(ratio * float64(ready))), usage, nil
	}
	for name := range missing {
		if ratio < 1.0 {
			metrics[name] = PodMetric{Value: targetUsage}
		} else {
			metrics[name] = PodMetric{Value: 0}
		}
	}
	if scaleUpWithUnready {
		for name := range unready {
			metrics[name] = PodMetric{Value: 0}
		}
	}
	newRatio, _ := usageRatio(metrics, targetUsage)
	return c.rebalanced(current, ratio, newRatio, len(metrics)), usage, nil
}

// rebalanced is the end of upstream's calculations once missing and unready pods were given
// their conservative values: no change when that flips the direction or brings the ratio within
// tolerance, nor when the new count goes against the direction.
func (c Calculator) rebalanced(current int32, ratio, newRatio float64, count int) int32 {
	if c.Tolerances.isWithin(newRatio) || (ratio < 1.0 && newRatio > 1.0) || (ratio > 1.0 && newRatio < 1.0) {
		return current
	}
	replicas := int32(math.Ceil(newRatio * float64(count)))
	if (newRatio < 1.0 && replicas > current) || (newRatio > 1.0 && replicas < current) {
		return current
	}
	return replicas
}

// groupPods is upstream's groupPods: ready pods counted, pending ones unready, deleted and
// failed ones ignored, pods without a sample missing; for CPU, a pod is unready while it is
// not Ready, or within its initialization period until a full sample after it became Ready.
func (c Calculator) groupPods(pods []*corev1.Pod, metrics PodMetrics, resource corev1.ResourceName) (ready int, unready, missing, ignored sets.Set[string]) {
	unready, missing, ignored = sets.New[string](), sets.New[string](), sets.New[string]()
	for _, pod := range pods {
		if pod.DeletionTimestamp != nil || pod.Status.Phase == corev1.PodFailed {
			ignored.Insert(pod.Name)
			continue
		}
		if pod.Status.Phase == corev1.PodPending {
			unready.Insert(pod.Name)
			continue
		}
		metric, found := metrics[pod.Name]
		if !found {
			missing.Insert(pod.Name)
			continue
		}
		if resource == corev1.ResourceCPU {
			cond := readyCondition(pod)
			var isUnready bool
			switch {
			case cond == nil || pod.Status.StartTime == nil:
				isUnready = true
			case pod.Status.StartTime.Add(c.Readiness.CPUInitializationPeriod).After(c.Now):
				isUnready = cond.Status == corev1.ConditionFalse || metric.Timestamp.Before(cond.LastTransitionTime.Add(metric.Window))
			default:
				isUnready = cond.Status == corev1.ConditionFalse && pod.Status.StartTime.Add(c.Readiness.DelayOfInitialReadinessStatus).After(cond.LastTransitionTime.Time)
			}
			if isUnready {
				unready.Insert(pod.Name)
				continue
			}
		}
		ready++
	}
	return ready, unready, missing, ignored
}

func readyCondition(pod *corev1.Pod) *corev1.PodCondition {
	for i := range pod.Status.Conditions {
		if pod.Status.Conditions[i].Type == corev1.PodReady {
			return &pod.Status.Conditions[i]
		}
	}
	return nil
}

// podRequests is upstream's calculatePodRequests: each pod's request of resource (in milli-
// units), of one container when container is set; a container without the request is an error.
func podRequests(pods []*corev1.Pod, container string, resource corev1.ResourceName) (map[string]int64, error) {
	requests := make(map[string]int64, len(pods))
	for _, pod := range pods {
		var sum int64
		for _, ctr := range pod.Spec.Containers {
			if container != "" && ctr.Name != container {
				continue
			}
			req, ok := ctr.Resources.Requests[resource]
			if !ok {
				return nil, fmt.Errorf("missing request for %s in container %s of Pod %s", resource, ctr.Name, pod.Name)
			}
			sum += req.MilliValue()
		}
		requests[pod.Name] = sum
	}
	return requests, nil
}

// utilizationRatio is upstream's GetResourceUtilizationRatio.
func utilizationRatio(metrics PodMetrics, requests map[string]int64, targetUtilization int32) (ratio float64, utilization int32, rawAverage int64, err error) {
	var metricsTotal, requestsTotal, n int64
	for name, m := range metrics {
		req, ok := requests[name]
		if !ok {
			continue
		}
		metricsTotal += m.Value
		requestsTotal += req
		n++
	}
	if requestsTotal == 0 {
		return 0, 0, 0, errors.New("no metrics returned matched known pods")
	}
	utilization = int32(metricsTotal * 100 / requestsTotal)
	return float64(utilization) / float64(targetUtilization), utilization, metricsTotal / n, nil
}

// usageRatio is upstream's GetMetricUsageRatio: the average usage over the target.
func usageRatio(metrics PodMetrics, target int64) (float64, int64) {
	var total int64
	for _, m := range metrics {
		total += m.Value
	}
	usage := total / int64(len(metrics))
	return float64(usage) / float64(target), usage
}

func clone(m PodMetrics) PodMetrics {
	out := make(PodMetrics, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func removeMetrics(m PodMetrics, names sets.Set[string]) {
	for name := range names {
		delete(m, name)
	}
}
