package podautoscaler

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/scale"
	metricsclient "k8s.io/metrics/pkg/client/clientset/versioned"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/skiff-dev/skiff/controllers"
)

// EventSource is the component of the controller's events, as upstream's.
const EventSource = "horizontal-pod-autoscaler"

// DefaultSyncPeriod is upstream's --horizontal-pod-autoscaler-sync-period.
const DefaultSyncPeriod = 15 * time.Second

// Settings are the controller's timings and tolerance, upstream's
// --horizontal-pod-autoscaler-* flags.
type Settings struct {
	// SyncPeriod is how often each autoscaler is evaluated (15 s).
	SyncPeriod time.Duration
	// Tolerance is how far from the target a metric may be without a rescale (0.1).
	Tolerance float64
	// DownscaleStabilization is the default scale-down stabilization window (5 min).
	DownscaleStabilization time.Duration
	// Readiness holds the CPU initialization period (5 min) and initial readiness delay (30 s).
	Readiness Readiness
}

// DefaultSettings is upstream's defaults.
func DefaultSettings() Settings {
	return Settings{SyncPeriod: DefaultSyncPeriod, Tolerance: DefaultTolerance, DownscaleStabilization: DefaultDownscaleStabilization, Readiness: DefaultReadiness}
}

// Controller scales the targets of HorizontalPodAutoscalers through their scale subresource,
// after upstream's HorizontalController.
type Controller struct {
	controllers.Base
	// Scales reads and writes the scale subresource of any kind; nil: client-go's scale client
	// over the manager's config with a discovery REST mapper.
	Scales scale.ScalesGetter
	// Mapper maps a target's kind to its resources; nil: a deferred discovery REST mapper.
	Mapper meta.RESTMapper
	// Metrics is the metrics source; nil: metrics.k8s.io (APIMetrics).
	Metrics MetricsSource
	// Clock is the clock of every decision; nil: the real one.
	Clock clock.PassiveClock
	// Settings are upstream's --horizontal-pod-autoscaler-* flags; zero fields take the defaults.
	Settings

	mu      sync.Mutex
	history map[types.NamespacedName]*History
	// selectors are the targets' pod selectors by autoscaler, for the ambiguity check.
	selectors map[types.NamespacedName]labels.Selector
}

// SetupWithManager completes the controller from mgr and registers it.
func (c *Controller) SetupWithManager(mgr ctrl.Manager) error {
	opts := c.Complete(mgr, EventSource)
	if c.Clock == nil {
		c.Clock = clock.RealClock{}
	}
	def := DefaultSettings()
	if c.SyncPeriod <= 0 {
		c.SyncPeriod = def.SyncPeriod
	}
	if c.Tolerance <= 0 {
		c.Tolerance = def.Tolerance
	}
	if c.Readiness == (Readiness{}) {
		c.Readiness = def.Readiness
	}
	if c.DownscaleStabilization <= 0 {
		c.DownscaleStabilization = def.DownscaleStabilization
	}
	if c.Mapper == nil || c.Scales == nil {
		dc, err := discovery.NewDiscoveryClientForConfig(mgr.GetConfig())
		if err != nil {
			return fmt.Errorf("discovery client: %w", err)
		}
		if c.Mapper == nil {
			c.Mapper = restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))
		}
		if c.Scales == nil {
			if c.Scales, err = scale.NewForConfig(mgr.GetConfig(), c.Mapper, dynamic.LegacyAPIPathResolverFunc, scale.NewDiscoveryScaleKindResolver(dc)); err != nil {
				return fmt.Errorf("scale client: %w", err)
			}
		}
	}
	if c.Metrics == nil {
		mc, err := metricsclient.NewForConfig(mgr.GetConfig())
		if err != nil {
			return fmt.Errorf("metrics client: %w", err)
		}
		c.Metrics = APIMetrics{Client: mc.MetricsV1beta1()}
	}
	c.history = map[types.NamespacedName]*History{}
	c.selectors = map[types.NamespacedName]labels.Selector{}
	return ctrl.NewControllerManagedBy(mgr).Named("horizontalpodautoscaler").WithOptions(opts).
		For(&autoscalingv2.HorizontalPodAutoscaler{}).Complete(c)
}

// Reconcile evaluates one autoscaler and looks again after the sync period.
func (c *Controller) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	hpa := &autoscalingv2.HorizontalPodAutoscaler{}
	if err := c.Client.Get(ctx, req.NamespacedName, hpa); err != nil {
		if apierrors.IsNotFound(err) {
			c.mu.Lock()
			delete(c.history, req.NamespacedName)
			delete(c.selectors, req.NamespacedName)
			c.mu.Unlock()
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, err
	}
	if hpa.DeletionTimestamp != nil {
		return ctrl.Result{}, nil
	}
	err := c.reconcile(ctx, hpa)
	if err != nil {
		log.FromContext(ctx).Info("Autoscaler not evaluated", "error", err.Error())
	}
	// Upstream re-evaluates every sync period whether or not this one failed.
	return ctrl.Result{RequeueAfter: c.SyncPeriod}, nil
}

// reconcile is upstream's reconcileAutoscaler.
func (c *Controller) reconcile(ctx context.Context, stored *autoscalingv2.HorizontalPodAutoscaler) error {
	hpa := stored.DeepCopy()
	now := c.Clock.Now()
	key := types.NamespacedName{Namespace: hpa.Namespace, Name: hpa.Name}
	ref := hpa.Spec.ScaleTargetRef
	reference := fmt.Sprintf("%s/%s/%s", ref.Kind, hpa.Namespace, ref.Name)

	failGetScale := func(err error, format string) error {
		c.Recorder.Event(hpa, corev1.EventTypeWarning, "FailedGetScale", err.Error())
		setCondition(hpa, Condition{autoscalingv2.AbleToScale, corev1.ConditionFalse, "FailedGetScale",
			fmt.Sprintf("the HPA controller was unable to get the target's current scale: %v", err)}, now)
		c.updateStatus(ctx, stored, hpa)
		return fmt.Errorf(format, err)
	}
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	if err != nil {
		return failGetScale(err, "invalid API version in scale target reference: %w")
	}
	gk := schema.GroupKind{Group: gv.Group, Kind: ref.Kind}
	mappings, err := c.Mapper.RESTMappings(gk)
	if err != nil {
		if r, ok := c.Mapper.(meta.ResettableRESTMapper); ok {
			r.Reset()
		}
		return failGetScale(err, "unable to determine resource for scale target reference: %w")
	}
	sc, gr, err := c.scaleOf(ctx, hpa.Namespace, ref.Name, mappings)
	if err != nil {
		return failGetScale(err, "failed to query scale subresource for "+reference+": %w")
	}
	setCondition(hpa, Condition{autoscalingv2.AbleToScale, corev1.ConditionTrue, "SucceededGetScale", "the HPA controller was able to get the target's current scale"}, now)
	current := sc.Spec.Replicas

	c.mu.Lock()
	h := c.history[key]
	if h == nil {
		h = &History{Recommendations: []Recommendation{{Replicas: current, At: now}}}
		c.history[key] = h
	}
	c.mu.Unlock()

	minReplicas := int32(1)
	if hpa.Spec.MinReplicas != nil {
		minReplicas = *hpa.Spec.MinReplicas
	}
	var (
		desired  int32
		reason   string
		statuses []autoscalingv2.MetricStatus
		retErr   error
		rescale  = true
	)
	switch {
	case current == 0 && minReplicas != 0:
		rescale = false
		setCondition(hpa, Condition{autoscalingv2.ScalingActive, corev1.ConditionFalse, "ScalingDisabled", "scaling is disabled since the replica count of the target is zero"}, now)
	case current > hpa.Spec.MaxReplicas:
		reason, desired = "Current number of replicas above Spec.MaxReplicas", hpa.Spec.MaxReplicas
	case current < minReplicas:
		reason, desired = "Current number of replicas below Spec.MinReplicas", minReplicas
	default:
		proposal, metricName, sts, err := c.replicasForMetrics(ctx, hpa, sc, now)
		statuses = sts
		if err != nil && proposal == -1 {
			setReplicasAndMetrics(hpa, current, statuses)
			c.updateStatus(ctx, stored, hpa)
			c.Recorder.Event(hpa, corev1.EventTypeWarning, "FailedComputeMetricsReplicas", err.Error())
			return fmt.Errorf("failed to compute desired number of replicas based on listed metrics for %s: %w", reference, err)
		}
		retErr = err
		if proposal > desired {
			desired = proposal
		}
		if desired > current {
			reason = metricName + " above target"
		}
		if desired < current {
			reason = "All metrics below target"
		}
		c.mu.Lock()
		n := Normalize(hpa.Spec.Behavior, h, Limits{Min: minReplicas, Max: hpa.Spec.MaxReplicas, DownscaleStabilization: c.DownscaleStabilization}, current, desired, now)
		c.mu.Unlock()
		setCondition(hpa, n.AbleToScale, now)
		setCondition(hpa, n.ScalingLimited, now)
		desired = n.Replicas
		rescale = desired != current
	}

	if rescale {
		sc.Spec.Replicas = desired
		if _, err := c.Scales.Scales(hpa.Namespace).Update(ctx, gr, sc, metav1.UpdateOptions{}); err != nil {
			c.Recorder.Eventf(hpa, corev1.EventTypeWarning, "FailedRescale", "New size: %d; reason: %s; error: %v", desired, reason, err.Error())
			setCondition(hpa, Condition{autoscalingv2.AbleToScale, corev1.ConditionFalse, "FailedUpdateScale",
				fmt.Sprintf("the HPA controller was unable to update the target scale: %v", err)}, now)
			setReplicasAndMetrics(hpa, current, statuses)
			c.updateStatus(ctx, stored, hpa)
			return fmt.Errorf("failed to rescale %s: %w", reference, err)
		}
		setCondition(hpa, Condition{autoscalingv2.AbleToScale, corev1.ConditionTrue, "SucceededRescale",
			fmt.Sprintf("the HPA controller was able to update the target scale to %d", desired)}, now)
		c.Recorder.Eventf(hpa, corev1.EventTypeNormal, "SuccessfulRescale", "New size: %d; reason: %s", desired, reason)
		c.mu.Lock()
		RecordScale(hpa.Spec.Behavior, h, current, desired, now)
		c.mu.Unlock()
		log.FromContext(ctx).Info("Successfully rescaled", "currentReplicas", current, "desiredReplicas", desired, "reason", reason)
	} else {
		desired = current
	}
	hpa.Status.CurrentReplicas, hpa.Status.DesiredReplicas, hpa.Status.CurrentMetrics = current, desired, statuses
	if rescale {
		t := metav1.NewTime(now)
		hpa.Status.LastScaleTime = &t
	}
	c.updateStatus(ctx, stored, hpa)
	return retErr
}

// scaleOf is upstream's scaleForResourceMappings: the Scale of the first mapping that has one.
func (c *Controller) scaleOf(ctx context.Context, ns, name string, mappings []*meta.RESTMapping) (*autoscalingv1.Scale, schema.GroupResource, error) {
	var first error
	for i, m := range mappings {
		gr := m.Resource.GroupResource()
		sc, err := c.Scales.Scales(ns).Get(ctx, gr, name, metav1.GetOptions{})
		if err == nil {
			return sc, gr, nil
		}
		if i == 0 {
			first = err
		}
	}
	if first == nil {
		first = errors.New("no scale subresource found")
	}
	return nil, schema.GroupResource{}, first
}

// setReplicasAndMetrics is upstream's setCurrentReplicasAndMetricsInStatus: the desired
// replicas stay what they were.
func setReplicasAndMetrics(hpa *autoscalingv2.HorizontalPodAutoscaler, current int32, statuses []autoscalingv2.MetricStatus) {
	hpa.Status.CurrentReplicas, hpa.Status.CurrentMetrics = current, statuses
}

// updateStatus writes hpa's status when it differs from the stored one.
func (c *Controller) updateStatus(ctx context.Context, stored, hpa *autoscalingv2.HorizontalPodAutoscaler) {
	if apiequality.Semantic.DeepEqual(stored.Status, hpa.Status) {
		return
	}
	if err := c.Client.Status().Update(ctx, hpa); err != nil {
		c.Recorder.Event(hpa, corev1.EventTypeWarning, "FailedUpdateStatus", err.Error())
		log.FromContext(ctx).Info("Autoscaler status not updated", "error", err.Error())
	}
}

// selectingAutoscalers records hpa's target selector and returns, as upstream's
// hpasControllingPodsUnderSelector, the autoscalers (name and namespace, sorted) whose selectors
// match any of pods: more than one is an ambiguous selector.
func (c *Controller) selectingAutoscalers(hpa *autoscalingv2.HorizontalPodAutoscaler, selector labels.Selector, pods []*corev1.Pod) []autoscalerKey {
	c.mu.Lock()
	defer c.mu.Unlock()
	self := types.NamespacedName{Namespace: hpa.Namespace, Name: hpa.Name}
	c.selectors[self] = selector
	var out []autoscalerKey
	for key, sel := range c.selectors {
		if key.Namespace != hpa.Namespace {
			continue
		}
		for _, p := range pods {
			if sel.Matches(labels.Set(p.Labels)) {
				out = append(out, autoscalerKey{Name: key.Name, Namespace: key.Namespace})
				break
			}
		}
	}
	slices.SortFunc(out, func(a, b autoscalerKey) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// autoscalerKey prints as upstream's selectors.Key: {name namespace}.
type autoscalerKey struct{ Name, Namespace string }

// setCondition is upstream's setCondition: the transition time changes with the status only.
func setCondition(hpa *autoscalingv2.HorizontalPodAutoscaler, cond Condition, now time.Time) {
	for i := range hpa.Status.Conditions {
		existing := &hpa.Status.Conditions[i]
		if existing.Type != cond.Type {
			continue
		}
		if existing.Status != cond.Status {
			existing.LastTransitionTime = metav1.NewTime(now)
		}
		existing.Status, existing.Reason, existing.Message = cond.Status, cond.Reason, cond.Message
		return
	}
	hpa.Status.Conditions = append(hpa.Status.Conditions, autoscalingv2.HorizontalPodAutoscalerCondition{Type: cond.Type, Status: cond.Status,
		LastTransitionTime: metav1.NewTime(now), Reason: cond.Reason, Message: cond.Message})
}

// replicasForMetrics is upstream's computeReplicasForMetrics: the largest proposal of the
// metrics; -1 with the first metric's error when every metric failed, or when some failed and
// the others would scale down.
func (c *Controller) replicasForMetrics(ctx context.Context, hpa *autoscalingv2.HorizontalPodAutoscaler, sc *autoscalingv1.Scale, now time.Time) (int32, string, []autoscalingv2.MetricStatus, error) {
	if sc.Status.Selector == "" {
		msg := "selector is required"
		c.Recorder.Event(hpa, corev1.EventTypeWarning, "SelectorRequired", msg)
		setCondition(hpa, Condition{autoscalingv2.ScalingActive, corev1.ConditionFalse, "InvalidSelector", "the HPA target's scale is missing a selector"}, now)
		return -1, "", nil, errors.New(msg)
	}
	selector, err := labels.Parse(sc.Status.Selector)
	if err != nil {
		msg := fmt.Sprintf("couldn't convert selector into a corresponding internal selector object: %v", err)
		c.Recorder.Event(hpa, corev1.EventTypeWarning, "InvalidSelector", msg)
		setCondition(hpa, Condition{autoscalingv2.ScalingActive, corev1.ConditionFalse, "InvalidSelector", msg}, now)
		return -1, "", nil, errors.New(msg)
	}
	podList := &corev1.PodList{}
	if err := c.Client.List(ctx, podList, client.InNamespace(hpa.Namespace), client.MatchingLabelsSelector{Selector: selector}); err != nil {
		return -1, "", nil, fmt.Errorf("unable to get pods while calculating replica count: %w", err)
	}
	pods := make([]*corev1.Pod, len(podList.Items))
	for i := range podList.Items {
		pods[i] = &podList.Items[i]
	}
	if owners := c.selectingAutoscalers(hpa, selector, pods); len(owners) > 1 {
		msg := fmt.Sprintf("pods by selector %v are controlled by multiple HPAs: %v", sc.Status.Selector, owners)
		c.Recorder.Event(hpa, corev1.EventTypeWarning, "AmbiguousSelector", msg)
		setCondition(hpa, Condition{autoscalingv2.ScalingActive, corev1.ConditionFalse, "AmbiguousSelector", msg}, now)
		return -1, "", nil, errors.New(msg)
	}
	calc := Calculator{Tolerances: ToleranceOf(hpa.Spec.Behavior, c.Tolerance), Readiness: c.Readiness, Now: now}
	statuses := make([]autoscalingv2.MetricStatus, len(hpa.Spec.Metrics))
	var (
		replicas       int32
		metric         string
		invalid        int
		firstErr       error
		firstCondition Condition
	)
	for i, spec := range hpa.Spec.Metrics {
		proposal, name, failed := c.replicasForMetric(ctx, calc, hpa, spec, sc.Spec.Replicas, selector, pods, &statuses[i])
		if failed != nil {
			c.Recorder.Event(hpa, corev1.EventTypeWarning, failed.Reason, failed.Cause.Error())
			if invalid == 0 {
				firstErr = failed.Err
				firstCondition = Condition{autoscalingv2.ScalingActive, corev1.ConditionFalse, failed.Reason,
					fmt.Sprintf("the HPA was unable to compute the replica count: %v", failed.Cause)}
			}
			invalid++
			continue
		}
		if replicas == 0 || proposal > replicas {
			replicas, metric = proposal, name
		}
	}
	if firstErr != nil {
		firstErr = fmt.Errorf("invalid metrics (%v invalid out of %v), first error is: %w", invalid, len(hpa.Spec.Metrics), firstErr)
	}
	if invalid >= len(hpa.Spec.Metrics) || (invalid > 0 && replicas < sc.Spec.Replicas) {
		setCondition(hpa, firstCondition, now)
		return -1, "", statuses, firstErr
	}
	setCondition(hpa, Condition{autoscalingv2.ScalingActive, corev1.ConditionTrue, "ValidMetricFound",
		fmt.Sprintf("the HPA was able to successfully calculate a replica count from %s", metric)}, now)
	return replicas, metric, statuses, firstErr
}

// metricFailure is why one metric gave no proposal: Reason and Cause make the event and the
// ScalingActive condition, Err (Cause with the metric's prefix) the error of the evaluation.
type metricFailure struct {
	Reason     string
	Cause, Err error
}

func failure(reason string, cause error, prefix string) *metricFailure {
	return &metricFailure{Reason: reason, Cause: cause, Err: fmt.Errorf("%s: %w", prefix, cause)}
}

// replicasForMetric is upstream's computeReplicasForMetric: one metric's proposal and status, or
// why it has none.
func (c *Controller) replicasForMetric(ctx context.Context, calc Calculator, hpa *autoscalingv2.HorizontalPodAutoscaler, spec autoscalingv2.MetricSpec,
	current int32, selector labels.Selector, pods []*corev1.Pod, status *autoscalingv2.MetricStatus) (int32, string, *metricFailure) {
	switch {
	case spec.Type == autoscalingv2.ResourceMetricSourceType && spec.Resource != nil:
		n, name, value, err := c.resourceReplicas(ctx, calc, hpa.Namespace, spec.Resource.Name, "", spec.Resource.Target, current, selector, pods)
		if err != nil {
			return 0, "", failure("FailedGetResourceMetric", err, fmt.Sprintf("failed to get %s resource metric value", spec.Resource.Name))
		}
		*status = autoscalingv2.MetricStatus{Type: spec.Type, Resource: &autoscalingv2.ResourceMetricStatus{Name: spec.Resource.Name, Current: value}}
		return n, name, nil
	case spec.Type == autoscalingv2.ContainerResourceMetricSourceType && spec.ContainerResource != nil:
		cr := spec.ContainerResource
		n, name, value, err := c.resourceReplicas(ctx, calc, hpa.Namespace, cr.Name, cr.Container, cr.Target, current, selector, pods)
		if err != nil {
			return 0, "", failure("FailedGetContainerResourceMetric", err, fmt.Sprintf("failed to get %s container metric value", cr.Container))
		}
		*status = autoscalingv2.MetricStatus{Type: spec.Type, ContainerResource: &autoscalingv2.ContainerResourceMetricStatus{Name: cr.Name, Container: cr.Container, Current: value}}
		return n, name, nil
	case spec.Type == autoscalingv2.PodsMetricSourceType && spec.Pods != nil:
		metricSelector, err := metav1.LabelSelectorAsSelector(spec.Pods.Metric.Selector)
		if err == nil {
			_, _, err = c.Metrics.PodsMetric(ctx, spec.Pods.Metric.Name, hpa.Namespace, selector, metricSelector)
			err = fmt.Errorf("unable to get metric %s: %w", spec.Pods.Metric.Name, unsupported(err, "pods"))
		}
		return 0, "", failure("FailedGetPodsMetric", err, "failed to get pods metric value")
	case spec.Type == autoscalingv2.ObjectMetricSourceType && spec.Object != nil:
		obj := spec.Object
		metricSelector, err := metav1.LabelSelectorAsSelector(obj.Metric.Selector)
		if err == nil {
			_, _, err = c.Metrics.ObjectMetric(ctx, obj.Metric.Name, hpa.Namespace, obj.DescribedObject, metricSelector)
			err = fmt.Errorf("unable to get metric %s: %w on %s %s/%s", obj.Metric.Name, unsupported(err, "object"), obj.DescribedObject.Kind, hpa.Namespace, obj.DescribedObject.Name)
		}
		return 0, "", failure("FailedGetObjectMetric", err, "failed to get object metric value")
	case spec.Type == autoscalingv2.ExternalMetricSourceType && spec.External != nil:
		metricSelector, err := metav1.LabelSelectorAsSelector(spec.External.Metric.Selector)
		if err == nil {
			_, _, err = c.Metrics.ExternalMetric(ctx, spec.External.Metric.Name, hpa.Namespace, metricSelector)
			err = fmt.Errorf("unable to get external metric %s/%s/%+v: %w", hpa.Namespace, spec.External.Metric.Name, metricSelector, unsupported(err, "external"))
		}
		return 0, "", failure("FailedGetExternalMetric", err, fmt.Sprintf("failed to get %s external metric value", spec.External.Metric.Name))
	}
	err := fmt.Errorf("unknown metric source type %q", string(spec.Type))
	return 0, "", &metricFailure{Reason: "InvalidMetricSourceType", Cause: err, Err: err}
}

// unsupported is err, or, when a metrics source answered, that Skiff computes no replicas from
// such metrics yet.
func unsupported(err error, kind string) error {
	if err != nil {
		return err
	}
	return fmt.Errorf("%s metrics are not supported", kind)
}

// resourceReplicas is upstream's computeStatusForResourceMetricGeneric: an AverageValue target
// through PlainReplicas, a Utilization target through ResourceReplicas.
func (c *Controller) resourceReplicas(ctx context.Context, calc Calculator, ns string, res corev1.ResourceName, container string, target autoscalingv2.MetricTarget,
	current int32, selector labels.Selector, pods []*corev1.Pod) (int32, string, autoscalingv2.MetricValueStatus, error) {
	if target.AverageValue == nil && target.AverageUtilization == nil {
		return 0, "", autoscalingv2.MetricValueStatus{}, errors.New("invalid resource metric source: neither an average utilization target nor an average value (usage) target was set")
	}
	samples, _, err := c.Metrics.ResourceMetric(ctx, res, ns, selector, container)
	if err != nil {
		err = fmt.Errorf("unable to get metrics for resource %s: %w", res, err)
	}
	if target.AverageValue != nil {
		if err != nil {
			return 0, "", autoscalingv2.MetricValueStatus{}, fmt.Errorf("failed to get %s usage: %w", res, err)
		}
		n, usage, err := calc.PlainReplicas(current, target.AverageValue.MilliValue(), res, pods, samples)
		if err != nil {
			return 0, "", autoscalingv2.MetricValueStatus{}, fmt.Errorf("failed to get %s usage: %w", res, err)
		}
		return n, fmt.Sprintf("%s resource", res), autoscalingv2.MetricValueStatus{AverageValue: resource.NewMilliQuantity(usage, resource.DecimalSI)}, nil
	}
	if err != nil {
		return 0, "", autoscalingv2.MetricValueStatus{}, fmt.Errorf("failed to get %s utilization: %w", res, err)
	}
	u, err := calc.ResourceReplicas(current, *target.AverageUtilization, res, container, pods, samples)
	if err != nil {
		return 0, "", autoscalingv2.MetricValueStatus{}, fmt.Errorf("failed to get %s utilization: %w", res, err)
	}
	name := fmt.Sprintf("%s resource utilization (percentage of request)", res)
	if container != "" {
		name = fmt.Sprintf("%s container resource utilization (percentage of request)", res)
	}
	return u.Replicas, name, autoscalingv2.MetricValueStatus{AverageUtilization: ptrTo(u.Utilization),
		AverageValue: resource.NewMilliQuantity(u.RawAverage, resource.DecimalSI)}, nil
}
