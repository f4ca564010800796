package podautoscaler

import (
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

func rules(window int32, sel autoscalingv2.ScalingPolicySelect, policies ...autoscalingv2.HPAScalingPolicy) *autoscalingv2.HPAScalingRules {
	return &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: &window, SelectPolicy: &sel, Policies: policies}
}

func podsPolicy(n, period int32) autoscalingv2.HPAScalingPolicy {
	return autoscalingv2.HPAScalingPolicy{Type: autoscalingv2.PodsScalingPolicy, Value: n, PeriodSeconds: period}
}

func percentPolicy(n, period int32) autoscalingv2.HPAScalingPolicy {
	return autoscalingv2.HPAScalingPolicy{Type: autoscalingv2.PercentScalingPolicy, Value: n, PeriodSeconds: period}
}

// TestNormalize pins upstream's stabilization and rate limits, one decision each, on a history
// given at fixed times before now (t0).
func TestNormalize(t *testing.T) {
	lim := Limits{Min: 1, Max: 20, DownscaleStabilization: DefaultDownscaleStabilization}
	ago := func(d time.Duration) time.Time { return t0.Add(-d) }
	up := func(change int32, d time.Duration) []ScaleEvent { return []ScaleEvent{{Change: change, At: ago(d)}} }
	tests := []struct {
		name                string
		behavior            *autoscalingv2.HorizontalPodAutoscalerBehavior
		lim                 *Limits
		history             History
		current, desired    int32
		want                int32
		wantAble, wantLimit string
		wantLimited         bool
	}{
		{name: "no behavior: scale down held by a higher recommendation within 5 minutes",
			history: History{Recommendations: []Recommendation{{8, ago(4 * time.Minute)}, {9, ago(6 * time.Minute)}}},
			current: 8, desired: 3, want: 8, wantAble: "ScaleDownStabilized", wantLimit: "DesiredWithinRange"},
		{name: "no behavior: old recommendations do not hold",
			history: History{Recommendations: []Recommendation{{9, ago(6 * time.Minute)}}},
			current: 8, desired: 3, want: 3, wantAble: "ReadyForNewScale", wantLimit: "DesiredWithinRange"},
		{name: "no behavior: scale up at most twice",
			current: 3, desired: 10, want: 6, wantAble: "ReadyForNewScale", wantLimit: "ScaleUpLimit", wantLimited: true},
		{name: "no behavior: at least 4",
			current: 1, desired: 10, want: 4, wantAble: "ReadyForNewScale", wantLimit: "ScaleUpLimit", wantLimited: true},
		{name: "no behavior: max replicas",
			lim:     &Limits{Min: 1, Max: 5, DownscaleStabilization: DefaultDownscaleStabilization},
			current: 4, desired: 7, want: 5, wantAble: "ReadyForNewScale", wantLimit: "TooManyReplicas", wantLimited: true},
		{name: "no behavior: min replicas",
			lim:     &Limits{Min: 2, Max: 5, DownscaleStabilization: time.Second},
			current: 4, desired: 1, want: 2, wantAble: "ReadyForNewScale", wantLimit: "TooFewReplicas", wantLimited: true},
		{name: "default scale-up: the larger of 4 pods and 100% per 15 s",
			behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{}, lim: &Limits{Min: 1, Max: 30},
			current: 10, desired: 50, want: 20, wantAble: "ReadyForNewScale", wantLimit: "ScaleUpLimit", wantLimited: true},
		{name: "scale-up Pods policy counts the period's earlier scale-ups",
			behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleUp: rules(0, autoscalingv2.MaxChangePolicySelect, podsPolicy(2, 60))},
			history:  History{ScaleUps: up(2, 30*time.Second)},
			current:  5, desired: 10, want: 5, wantAble: "ReadyForNewScale", wantLimit: "ScaleUpLimit", wantLimited: true},
		{name: "scale-up Pods policy: earlier scale-up outside the period",
			behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleUp: rules(0, autoscalingv2.MaxChangePolicySelect, podsPolicy(2, 60))},
			history:  History{ScaleUps: up(2, 90*time.Second)},
			current:  5, desired: 10, want: 7, wantAble: "ReadyForNewScale", wantLimit: "ScaleUpLimit", wantLimited: true},
		{name: "selectPolicy Min takes the smaller change",
			behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleUp: rules(0, autoscalingv2.MinChangePolicySelect, podsPolicy(4, 15), percentPolicy(10, 15))},
			current:  10, desired: 20, want: 11, wantAble: "ReadyForNewScale", wantLimit: "ScaleUpLimit", wantLimited: true},
		{name: "scale-up Disabled",
			behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleUp: rules(0, autoscalingv2.DisabledPolicySelect, podsPolicy(4, 15))},
			current:  3, desired: 6, want: 3, wantAble: "ReadyForNewScale", wantLimit: "ScaleUpLimit", wantLimited: true},
		{name: "scale-up stabilization applies the lowest recent recommendation",
			behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleUp: rules(60, autoscalingv2.MaxChangePolicySelect, podsPolicy(10, 15))},
			history:  History{Recommendations: []Recommendation{{4, ago(30 * time.Second)}}},
			current:  3, desired: 8, want: 4, wantAble: "ScaleUpStabilized", wantLimit: "DesiredWithinRange"},
		{name: "scale-down window from behavior",
			behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleDown: rules(10, autoscalingv2.MaxChangePolicySelect, percentPolicy(100, 15))},
			history:  History{Recommendations: []Recommendation{{8, ago(20 * time.Second)}}},
			current:  8, desired: 2, want: 2, wantAble: "ReadyForNewScale", wantLimit: "DesiredWithinRange"},
		{name: "scale-down unset window is the controller's 5 minutes",
			behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleDown: &autoscalingv2.HPAScalingRules{}},
			history:  History{Recommendations: []Recommendation{{8, ago(4 * time.Minute)}}},
			current:  8, desired: 2, want: 8, wantAble: "ScaleDownStabilized", wantLimit: "DesiredWithinRange"},
		{name: "scale-down Percent policy rounds down the remaining replicas",
			behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleDown: rules(0, autoscalingv2.MaxChangePolicySelect, percentPolicy(50, 60))},
			current:  9, desired: 1, want: 4, wantAble: "ReadyForNewScale", wantLimit: "ScaleDownLimit", wantLimited: true},
		{name: "scale-down Pods policy with an earlier scale-down in the period",
			behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleDown: rules(0, autoscalingv2.MaxChangePolicySelect, podsPolicy(2, 60))},
			history:  History{ScaleDowns: up(1, 10*time.Second)},
			current:  8, desired: 1, want: 7, wantAble: "ReadyForNewScale", wantLimit: "ScaleDownLimit", wantLimited: true},
		{name: "scale-down Disabled",
			behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleDown: rules(0, autoscalingv2.DisabledPolicySelect, podsPolicy(2, 60))},
			current:  8, desired: 1, want: 8, wantAble: "ReadyForNewScale", wantLimit: "ScaleDownLimit", wantLimited: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := lim
			if tt.lim != nil {
				l = *tt.lim
			}
			h := tt.history
			got := Normalize(tt.behavior, &h, l, tt.current, tt.desired, t0)
			if got.Replicas != tt.want || got.AbleToScale.Reason != tt.wantAble || got.ScalingLimited.Reason != tt.wantLimit ||
				(got.ScalingLimited.Status == "True") != tt.wantLimited {
				t.Errorf("got %d (%s, %s %s), want %d (%s, %s limited=%v)", got.Replicas, got.AbleToScale.Reason, got.ScalingLimited.Reason,
					got.ScalingLimited.Status, tt.want, tt.wantAble, tt.wantLimit, tt.wantLimited)
			}
			if last := h.Recommendations[len(h.Recommendations)-1]; !last.At.Equal(t0) && !recorded(h, tt.desired) {
				t.Errorf("recommendation %d not recorded: %+v", tt.desired, h.Recommendations)
			}
		})
	}
}

func recorded(h History, desired int32) bool {
	for _, r := range h.Recommendations {
		if r.Replicas == desired && r.At.Equal(t0) {
			return true
		}
	}
	return false
}

// TestScaleDownOverTime runs one autoscaler with a short scale-down window and a 1-pod-per-
// 30-s policy on the injected clock: the drop waits out the window, then goes one pod per period.
func TestScaleDownOverTime(t *testing.T) {
	b := &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleDown: rules(30, autoscalingv2.MaxChangePolicySelect, podsPolicy(1, 30))}
	lim := Limits{Min: 1, Max: 10, DownscaleStabilization: DefaultDownscaleStabilization}
	h := &History{Recommendations: []Recommendation{{5, t0}}}
	current := int32(5)
	var got []int32
	for s := 0; s <= 120; s += 15 {
		now := t0.Add(time.Duration(s) * time.Second)
		n := Normalize(b, h, lim, current, 2, now)
		if n.Replicas != current {
			RecordScale(b, h, current, n.Replicas, now)
			current = n.Replicas
		}
		got = append(got, current)
	}
	// A sample exactly one window (or period) old no longer counts, as upstream's After(cutoff).
	want := []int32{5, 5, 4, 4, 3, 3, 2, 2, 2}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("replicas every 15 s: got %v, want %v", got, want)
		}
	}
}

// TestTolerances: a behavior's own tolerance per direction (HPAConfigurableTolerance), else the
// controller's default.
func TestTolerances(t *testing.T) {
	zero, five := resource.MustParse("0"), resource.MustParse("500m")
	tol := ToleranceOf(&autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleUp: &autoscalingv2.HPAScalingRules{Tolerance: &zero},
		ScaleDown: &autoscalingv2.HPAScalingRules{Tolerance: &five}}, DefaultTolerance)
	if tol != (Tolerances{ScaleDown: 0.5, ScaleUp: 0}) {
		t.Fatalf("tolerances %+v", tol)
	}
	calc := Calculator{Tolerances: tol, Readiness: DefaultReadiness, Now: t0}
	// 105% of the target scales up with no up tolerance; 60% stays within the down tolerance.
	if got, _ := calc.ResourceReplicas(4, 100, corev1.ResourceCPU, "", pods(4, 1000, nil), samples(1050, 1050, 1050, 1050)); got.Replicas != 5 {
		t.Errorf("scale up at 105%%: %d", got.Replicas)
	}
	if got, _ := calc.ResourceReplicas(4, 100, corev1.ResourceCPU, "", pods(4, 1000, nil), samples(600, 600, 600, 600)); got.Replicas != 4 {
		t.Errorf("scale down at 60%%: %d", got.Replicas)
	}
	if d := ToleranceOf(nil, DefaultTolerance); d != (Tolerances{0.1, 0.1}) {
		t.Errorf("default %+v", d)
	}
}
