package disruption

import (
	"errors"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

var now = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

func budget(minAvailable, maxUnavailable *intstr.IntOrString) *policyv1.PodDisruptionBudget {
	return &policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Name: "b", Generation: 1},
		Spec: policyv1.PodDisruptionBudgetSpec{MinAvailable: minAvailable, MaxUnavailable: maxUnavailable}}
}

func count(n int32) *intstr.IntOrString    { v := intstr.FromInt32(n); return &v }
func percent(p string) *intstr.IntOrString { v := intstr.FromString(p); return &v }

func pod(name string, ready bool) *corev1.Pod {
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: status}}}}
}

func deleting(p *corev1.Pod) *corev1.Pod {
	p.DeletionTimestamp = &metav1.Time{Time: now}
	return p
}

func TestExpectedAndDesired(t *testing.T) {
	for _, tc := range []struct {
		name              string
		pdb               *policyv1.PodDisruptionBudget
		pods              int
		scale             int32
		needsScale        bool
		expected, desired int32
		err               bool
	}{
		{name: "minAvailable count: the pods present", pdb: budget(count(2), nil), pods: 3, scale: 10, expected: 3, desired: 2},
		{name: "minAvailable count above the pods", pdb: budget(count(5), nil), pods: 3, expected: 3, desired: 5},
		{name: "minAvailable percent rounds up", pdb: budget(percent("50%"), nil), pods: 2, scale: 5, needsScale: true, expected: 5, desired: 3},
		{name: "minAvailable 100%", pdb: budget(percent("100%"), nil), scale: 4, needsScale: true, expected: 4, desired: 4},
		{name: "maxUnavailable count", pdb: budget(nil, count(1)), pods: 3, scale: 3, needsScale: true, expected: 3, desired: 2},
		{name: "maxUnavailable above scale", pdb: budget(nil, count(5)), scale: 3, needsScale: true, expected: 3, desired: 0},
		{name: "maxUnavailable percent rounds up", pdb: budget(nil, percent("30%")), scale: 5, needsScale: true, expected: 5, desired: 3},
		{name: "maxUnavailable 0%", pdb: budget(nil, percent("0%")), scale: 4, needsScale: true, expected: 4, desired: 4},
		{name: "neither", pdb: budget(nil, nil), pods: 2, expected: 0, desired: 0},
		{name: "bad percent", pdb: budget(percent("x%"), nil), scale: 2, needsScale: true, err: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := NeedsScale(tc.pdb); got != tc.needsScale {
				t.Errorf("NeedsScale = %v, want %v", got, tc.needsScale)
			}
			expected, desired, err := ExpectedAndDesired(tc.pdb, tc.pods, tc.scale)
			if (err != nil) != tc.err {
				t.Fatalf("err = %v, want error %v", err, tc.err)
			}
			if !tc.err && (expected != tc.expected || desired != tc.desired) {
				t.Errorf("expected, desired = %d, %d; want %d, %d", expected, desired, tc.expected, tc.desired)
			}
		})
	}
}

func TestDisruptedPodsAndHealthy(t *testing.T) {
	recorded := map[string]metav1.Time{
		"fresh":    metav1.NewTime(now.Add(-30 * time.Second)),
		"fresher":  metav1.NewTime(now.Add(-10 * time.Second)),
		"stale":    metav1.NewTime(now.Add(-DeletionTimeout - time.Second)),
		"deleting": metav1.NewTime(now.Add(-10 * time.Second)),
		"gone":     metav1.NewTime(now.Add(-10 * time.Second)),
	}
	pods := []*corev1.Pod{pod("fresh", true), pod("fresher", true), pod("stale", true), deleting(pod("deleting", true)),
		pod("ready", true), pod("unready", false)}
	pending, expired, recheck := DisruptedPods(pods, recorded, now)
	if len(pending) != 2 || pending["fresh"] != recorded["fresh"] || pending["fresher"] != recorded["fresher"] {
		t.Errorf("pending = %v, want fresh and fresher", pending)
	}
	if len(expired) != 1 || expired[0].Name != "stale" {
		t.Errorf("expired = %v, want [stale]", expired)
	}
	if want := recorded["fresh"].Add(DeletionTimeout); recheck == nil || !recheck.Equal(want) {
		t.Errorf("recheck = %v, want %v", recheck, want)
	}
	// stale and ready count; fresh and fresher are about to go, deleting is going, unready is not ready.
	if got := CountHealthy(pods, pending, now); got != 2 {
		t.Errorf("CountHealthy = %d, want 2", got)
	}
	if pending, expired, recheck := DisruptedPods(pods, nil, now); len(pending) != 0 || expired != nil || recheck != nil {
		t.Errorf("nothing recorded: %v %v %v", pending, expired, recheck)
	}
}

func TestStatus(t *testing.T) {
	condition := func(s policyv1.PodDisruptionBudgetStatus) (metav1.ConditionStatus, string) {
		if len(s.Conditions) != 1 || s.Conditions[0].Type != policyv1.DisruptionAllowedCondition {
			return "", ""
		}
		return s.Conditions[0].Status, s.Conditions[0].Reason
	}
	for _, tc := range []struct {
		name                       string
		current, desired, expected int32
		allowed                    int32
		cond                       metav1.ConditionStatus
		reason                     string
	}{
		{"sufficient", 3, 2, 3, 1, metav1.ConditionTrue, policyv1.SufficientPodsReason},
		{"exactly met", 2, 2, 3, 0, metav1.ConditionFalse, policyv1.InsufficientPodsReason},
		{"below", 1, 2, 3, 0, metav1.ConditionFalse, policyv1.InsufficientPodsReason},
		{"no pods expected", 2, 0, 0, 0, metav1.ConditionFalse, policyv1.InsufficientPodsReason},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pdb := budget(count(tc.desired), nil)
			s, changed := Status(pdb, tc.current, tc.desired, tc.expected, map[string]metav1.Time{})
			if !changed {
				t.Fatal("a new budget's status did not change")
			}
			if s.DisruptionsAllowed != tc.allowed || s.CurrentHealthy != tc.current || s.DesiredHealthy != tc.desired ||
				s.ExpectedPods != tc.expected || s.ObservedGeneration != 1 {
				t.Errorf("status = %+v", s)
			}
			if c, r := condition(s); c != tc.cond || r != tc.reason {
				t.Errorf("condition = %s %s, want %s %s", c, r, tc.cond, tc.reason)
			}
			// Computing again from the written status changes nothing.
			pdb.Status = s
			if _, changed := Status(pdb, tc.current, tc.desired, tc.expected, map[string]metav1.Time{}); changed {
				t.Error("status not stable")
			}
			// A new generation is a change.
			pdb.Generation = 2
			if again, changed := Status(pdb, tc.current, tc.desired, tc.expected, map[string]metav1.Time{}); !changed || again.ObservedGeneration != 2 {
				t.Errorf("new generation: changed %v, observed %d", changed, again.ObservedGeneration)
			}
		})
	}
}

func TestFailSafeStatus(t *testing.T) {
	pdb := budget(count(1), nil)
	pdb.Status = policyv1.PodDisruptionBudgetStatus{DisruptionsAllowed: 3, CurrentHealthy: 4, ObservedGeneration: 1}
	s := FailSafeStatus(pdb, errors.New("found no controllers for pod \"p\""))
	if s.DisruptionsAllowed != 0 || s.CurrentHealthy != 4 {
		t.Errorf("status = %+v", s)
	}
	if len(s.Conditions) != 1 || s.Conditions[0].Status != metav1.ConditionFalse || s.Conditions[0].Reason != policyv1.SyncFailedReason ||
		s.Conditions[0].Message != "found no controllers for pod \"p\"" {
		t.Errorf("conditions = %+v", s.Conditions)
	}
	if pdb.Status.DisruptionsAllowed != 3 {
		t.Error("the input budget changed")
	}
}

func TestStaleDisruption(t *testing.T) {
	marked := func(status corev1.ConditionStatus, reason string, age time.Duration) *corev1.Pod {
		p := pod("p", true)
		p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: corev1.DisruptionTarget, Status: status,
			Reason: reason, LastTransitionTime: metav1.NewTime(now.Add(-age))})
		return p
	}
	terminal := marked(corev1.ConditionTrue, "EvictionByEvictionAPI", time.Hour)
	terminal.Status.Phase = corev1.PodFailed
	for _, tc := range []struct {
		name string
		pod  *corev1.Pod
		has  bool
		wait time.Duration
	}{
		{"no condition", pod("p", true), false, 0},
		{"fresh mark", marked(corev1.ConditionTrue, "EvictionByEvictionAPI", 30*time.Second), true, 90 * time.Second},
		{"stale mark", marked(corev1.ConditionTrue, "EvictionByEvictionAPI", 3*time.Minute), true, 0},
		{"already reset", marked(corev1.ConditionFalse, "", time.Hour), false, 0},
		{"kubelet's own", marked(corev1.ConditionTrue, corev1.PodReasonTerminationByKubelet, time.Hour), false, 0},
		{"being deleted", deleting(marked(corev1.ConditionTrue, "EvictionByEvictionAPI", time.Hour)), false, 0},
		{"terminal", terminal, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			has, wait := StaleDisruption(tc.pod, now)
			if has != tc.has || wait != tc.wait {
				t.Errorf("StaleDisruption = %v, %v; want %v, %v", has, wait, tc.has, tc.wait)
			}
		})
	}
}
