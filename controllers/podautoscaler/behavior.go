package podautoscaler

import (
	"math"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"

	"github.com/skiff-dev/skiff/apis/defaults"
)

// History is what the controller remembers of one autoscaler between syncs, as upstream's
// recommendations and scale events: the unstabilized recommendations with their times and the
// recent scale-ups and scale-downs (for the rate policies).
type History struct {
	Recommendations []Recommendation
	ScaleUps        []ScaleEvent
	ScaleDowns      []ScaleEvent
}

// Recommendation is one unstabilized replica recommendation.
type Recommendation struct {
	Replicas int32
	At       time.Time
}

// ScaleEvent is one rescale by Change replicas (positive either way).
type ScaleEvent struct {
	Change   int32
	At       time.Time
	Outdated bool
}

// Condition is a condition to set on the autoscaler.
type Condition struct {
	Type    autoscalingv2.HorizontalPodAutoscalerConditionType
	Status  corev1.ConditionStatus
	Reason  string
	Message string
}

// Normalized is the result of Normalize: the replicas to scale to and the AbleToScale and
// ScalingLimited conditions that explain them.
type Normalized struct {
	Replicas       int32
	AbleToScale    Condition
	ScalingLimited Condition
}

// DefaultDownscaleStabilization is upstream's --horizontal-pod-autoscaler-downscale-
// stabilization (5 minutes): the scale-down window of autoscalers without behavior, or whose
// behavior leaves it unset.
const DefaultDownscaleStabilization = 5 * time.Minute

// Limits are the bounds Normalize keeps the replicas within.
type Limits struct {
	Min, Max int32
	// DownscaleStabilization is the default scale-down stabilization window.
	DownscaleStabilization time.Duration
}

// Normalize is upstream's normalizeDesiredReplicas (no behavior: the highest recommendation of
// the downscale window, at most twice the current replicas or 4, within min and max) and
// normalizeDesiredReplicasWithBehaviors (the scale-up and scale-down stabilization windows,
// then the rate policies of the direction). It records desired in h and returns what to scale to.
func Normalize(behavior *autoscalingv2.HorizontalPodAutoscalerBehavior, h *History, lim Limits, current, desired int32, now time.Time) Normalized {
	if behavior == nil {
		stabilized := stabilize(h, desired, now, lim.DownscaleStabilization)
		out := Normalized{AbleToScale: Condition{autoscalingv2.AbleToScale, corev1.ConditionTrue, "ReadyForNewScale", "recommended size matches current size"}}
		if stabilized != desired {
			out.AbleToScale = Condition{autoscalingv2.AbleToScale, corev1.ConditionTrue, "ScaleDownStabilized", "recent recommendations were higher than current one, applying the highest recent recommendation"}
		}
		var reason, message string
		out.Replicas, reason, message = limitWithoutBehavior(current, stabilized, lim.Min, lim.Max)
		out.ScalingLimited = limitedCondition(out.Replicas != stabilized, reason, message)
		return out
	}
	// Rules completed with the defaults (a v1 autoscaler's behavior annotation is not
	// defaulted); an unset scale-down window is the controller's default.
	up, down := defaults.ScaleUpRules(behavior.ScaleUp.DeepCopy()), defaults.ScaleDownRules(behavior.ScaleDown.DeepCopy())
	if down.StabilizationWindowSeconds == nil {
		down.StabilizationWindowSeconds = ptrTo(int32(lim.DownscaleStabilization / time.Second))
	}
	stabilized, reason, message := stabilizeWithBehavior(h, up, down, current, desired, now)
	out := Normalized{AbleToScale: Condition{autoscalingv2.AbleToScale, corev1.ConditionTrue, "ReadyForNewScale", "recommended size matches current size"}}
	if stabilized != desired {
		out.AbleToScale = Condition{autoscalingv2.AbleToScale, corev1.ConditionTrue, reason, message}
	}
	out.Replicas, reason, message = limitWithBehavior(h, up, down, lim, current, stabilized, now)
	out.ScalingLimited = limitedCondition(out.Replicas != stabilized, reason, message)
	return out
}

func limitedCondition(limited bool, reason, message string) Condition {
	status := corev1.ConditionFalse
	if limited {
		status = corev1.ConditionTrue
	}
	return Condition{autoscalingv2.ScalingLimited, status, reason, message}
}

// stabilize is upstream's stabilizeRecommendation: the highest recommendation within the window
// (a sample older than it is replaced by this one).
func stabilize(h *History, desired int32, now time.Time, window time.Duration) int32 {
	highest := desired
	old := -1
	cutoff := now.Add(-window)
	for i, r := range h.Recommendations {
		if r.At.Before(cutoff) {
			old = i
		} else if r.Replicas > highest {
			highest = r.Replicas
		}
	}
	record(h, desired, now, old)
	return highest
}

func record(h *History, desired int32, now time.Time, old int) {
	if old >= 0 {
		h.Recommendations[old] = Recommendation{desired, now}
		return
	}
	h.Recommendations = append(h.Recommendations, Recommendation{desired, now})
}

// stabilizeWithBehavior is upstream's stabilizeRecommendationWithBehaviors: the current replicas
// brought up to the lowest recommendation of the scale-up window and down to the highest of the
// scale-down window.
func stabilizeWithBehavior(h *History, up, down *autoscalingv2.HPAScalingRules, current, desired int32, now time.Time) (int32, string, string) {
	upRec, downRec := desired, desired
	upCutoff := now.Add(-time.Duration(*up.StabilizationWindowSeconds) * time.Second)
	downCutoff := now.Add(-time.Duration(*down.StabilizationWindowSeconds) * time.Second)
	old := -1
	for i, r := range h.Recommendations {
		if r.At.After(upCutoff) {
			upRec = min(upRec, r.Replicas)
		}
		if r.At.After(downCutoff) {
			downRec = max(downRec, r.Replicas)
		}
		if r.At.Before(upCutoff) && r.At.Before(downCutoff) {
			old = i
		}
	}
	rec := current
	if rec < upRec {
		rec = upRec
	}
	if rec > downRec {
		rec = downRec
	}
	record(h, desired, now, old)
	if desired >= current {
		return rec, "ScaleUpStabilized", "recent recommendations were lower than current one, applying the lowest recent recommendation"
	}
	return rec, "ScaleDownStabilized", "recent recommendations were higher than current one, applying the highest recent recommendation"
}

// limitWithoutBehavior is upstream's convertDesiredReplicasWithRules.
func limitWithoutBehavior(current, desired, minReplicas, maxReplicas int32) (int32, string, string) {
	upLimit := int32(math.Max(2*float64(current), 4))
	maxAllowed, reason, message := maxReplicas, "TooManyReplicas", "the desired replica count is more than the maximum replica count"
	if maxReplicas > upLimit {
		maxAllowed, reason, message = upLimit, "ScaleUpLimit", "the desired replica count is increasing faster than the maximum scale rate"
	}
	if desired < minReplicas {
		return minReplicas, "TooFewReplicas", "the desired replica count is less than the minimum replica count"
	}
	if desired > maxAllowed {
		return maxAllowed, reason, message
	}
	return desired, "DesiredWithinRange", "the desired count is within the acceptable range"
}

// limitWithBehavior is upstream's convertDesiredReplicasWithBehaviorRate.
func limitWithBehavior(h *History, up, down *autoscalingv2.HPAScalingRules, lim Limits, current, desired int32, now time.Time) (int32, string, string) {
	switch {
	case desired > current:
		upLimit := max(scaleUpLimit(current, h.ScaleUps, h.ScaleDowns, up, now), current)
		maxAllowed, reason, message := lim.Max, "TooManyReplicas", "the desired replica count is more than the maximum replica count"
		if maxAllowed > upLimit {
			maxAllowed, reason, message = upLimit, "ScaleUpLimit", "the desired replica count is increasing faster than the maximum scale rate"
		}
		if desired > maxAllowed {
			return maxAllowed, reason, message
		}
	case desired < current:
		downLimit := min(scaleDownLimit(current, h.ScaleUps, h.ScaleDowns, down, now), current)
		minAllowed, reason, message := lim.Min, "TooFewReplicas", "the desired replica count is less than the minimum replica count"
		if minAllowed < downLimit {
			minAllowed, reason, message = downLimit, "ScaleDownLimit", "the desired replica count is decreasing faster than the maximum scale rate"
		}
		if desired < minAllowed {
			return minAllowed, reason, message
		}
	}
	return desired, "DesiredWithinRange", "the desired count is within the acceptable range"
}

// changeInPeriod is upstream's getReplicasChangePerPeriod.
func changeInPeriod(periodSeconds int32, events []ScaleEvent, now time.Time) int32 {
	cutoff := now.Add(-time.Duration(periodSeconds) * time.Second)
	var n int32
	for _, e := range events {
		if e.At.After(cutoff) {
			n += e.Change
		}
	}
	return n
}

// scaleUpLimit is upstream's calculateScaleUpLimitWithScalingRules: per policy, the replicas at
// the start of its period plus what it allows; the largest (Max), smallest (Min) or current
// (Disabled).
func scaleUpLimit(current int32, ups, downs []ScaleEvent, rules *autoscalingv2.HPAScalingRules, now time.Time) int32 {
	if *rules.SelectPolicy == autoscalingv2.DisabledPolicySelect {
		return current
	}
	pick, result := maxInt32, int32(math.MinInt32)
	if *rules.SelectPolicy == autoscalingv2.MinChangePolicySelect {
		pick, result = minInt32, math.MaxInt32
	}
	for _, p := range rules.Policies {
		start := current - changeInPeriod(p.PeriodSeconds, ups, now) + changeInPeriod(p.PeriodSeconds, downs, now)
		var proposed int32
		switch p.Type {
		case autoscalingv2.PodsScalingPolicy:
			proposed = start + p.Value
		case autoscalingv2.PercentScalingPolicy:
			proposed = int32(math.Ceil(float64(start) * (1 + float64(p.Value)/100)))
		}
		result = pick(result, proposed)
	}
	return result
}

// scaleDownLimit is upstream's calculateScaleDownLimitWithBehaviors.
func scaleDownLimit(current int32, ups, downs []ScaleEvent, rules *autoscalingv2.HPAScalingRules, now time.Time) int32 {
	if *rules.SelectPolicy == autoscalingv2.DisabledPolicySelect {
		return current
	}
	pick, result := minInt32, int32(math.MaxInt32)
	if *rules.SelectPolicy == autoscalingv2.MinChangePolicySelect {
		pick, result = maxInt32, math.MinInt32
	}
	for _, p := range rules.Policies {
		start := current - changeInPeriod(p.PeriodSeconds, ups, now) + changeInPeriod(p.PeriodSeconds, downs, now)
		var proposed int32
		switch p.Type {
		case autoscalingv2.PodsScalingPolicy:
			proposed = start - p.Value
		case autoscalingv2.PercentScalingPolicy:
			proposed = int32(float64(start) * (1 - float64(p.Value)/100))
		}
		result = pick(result, proposed)
	}
	return result
}

// RecordScale is upstream's storeScaleEvent: a rescale of an autoscaler with behavior is kept
// for the rate policies, replacing an event older than the longest policy period.
func RecordScale(behavior *autoscalingv2.HorizontalPodAutoscalerBehavior, h *History, from, to int32, now time.Time) {
	if behavior == nil || from == to {
		return
	}
	store := func(events []ScaleEvent, rules *autoscalingv2.HPAScalingRules, change int32) []ScaleEvent {
		var longest int32
		if rules != nil {
			for _, p := range rules.Policies {
				longest = max(longest, p.PeriodSeconds)
			}
		}
		cutoff := now.Add(-time.Duration(longest) * time.Second)
		for i := range events {
			if events[i].At.Before(cutoff) {
				events[i].Outdated = true
			}
		}
		e := ScaleEvent{Change: change, At: now}
		for i := range events {
			if events[i].Outdated {
				events[i] = e
				return events
			}
		}
		return append(events, e)
	}
	if to > from {
		h.ScaleUps = store(h.ScaleUps, behavior.ScaleUp, to-from)
	} else {
		h.ScaleDowns = store(h.ScaleDowns, behavior.ScaleDown, from-to)
	}
}

// ToleranceOf is the tolerances of an autoscaler: its behavior's own (HPAConfigurableTolerance)
// or the default.
func ToleranceOf(behavior *autoscalingv2.HorizontalPodAutoscalerBehavior, def float64) Tolerances {
	t := Tolerances{ScaleDown: def, ScaleUp: def}
	if behavior == nil {
		return t
	}
	if r := behavior.ScaleDown; r != nil && r.Tolerance != nil {
		t.ScaleDown = r.Tolerance.AsApproximateFloat64()
	}
	if r := behavior.ScaleUp; r != nil && r.Tolerance != nil {
		t.ScaleUp = r.Tolerance.AsApproximateFloat64()
	}
	return t
}

func ptrTo[T any](v T) *T { return &v }

func minInt32(a, b int32) int32 { return min(a, b) }
func maxInt32(a, b int32) int32 { return max(a, b) }
