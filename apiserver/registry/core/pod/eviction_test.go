package pod

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func evictionPod(phase corev1.PodPhase, ready bool) *corev1.Pod {
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", Labels: map[string]string{"app": "web"}},
		Status: corev1.PodStatus{Phase: phase, Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: status}}}}
}

func TestCanIgnoreBudget(t *testing.T) {
	deleting := evictionPod(corev1.PodRunning, true)
	deleting.DeletionTimestamp = &metav1.Time{}
	for _, tc := range []struct {
		name          string
		pod           *corev1.Pod
		ignore, rvSet bool
	}{
		{"running", evictionPod(corev1.PodRunning, true), false, true},
		{"pending", evictionPod(corev1.PodPending, false), true, true},
		{"succeeded", evictionPod(corev1.PodSucceeded, false), true, false},
		{"failed", evictionPod(corev1.PodFailed, false), true, false},
		{"being deleted", deleting, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := canIgnoreBudget(tc.pod); got != tc.ignore {
				t.Errorf("canIgnoreBudget = %v, want %v", got, tc.ignore)
			}
			if got := shouldEnforceResourceVersion(tc.pod); got != tc.rvSet {
				t.Errorf("shouldEnforceResourceVersion = %v, want %v", got, tc.rvSet)
			}
		})
	}
}

func TestBudgetsFor(t *testing.T) {
	pdb := func(name, ns string, sel *metav1.LabelSelector) policyv1.PodDisruptionBudget {
		return policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Spec: policyv1.PodDisruptionBudgetSpec{Selector: sel}}
	}
	web := &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}
	budgets := []policyv1.PodDisruptionBudget{
		pdb("match", "ns", web),
		pdb("other-ns", "other", web),
		pdb("other-app", "ns", &metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}}),
		pdb("nil", "ns", nil),
		pdb("empty", "ns", &metav1.LabelSelector{}),
		pdb("invalid", "ns", &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "app", Operator: "Bogus"}}}),
		pdb("expr", "ns", &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "app", Operator: metav1.LabelSelectorOpExists}}}),
	}
	got := budgetsFor(evictionPod(corev1.PodRunning, true), budgets)
	var names []string
	for _, b := range got {
		names = append(names, b.Name)
	}
	if len(names) != 2 || names[0] != "match" || names[1] != "expr" {
		t.Errorf("budgetsFor = %v, want [match expr]", names)
	}
}

func TestUnhealthyMayGo(t *testing.T) {
	budget := func(policy *policyv1.UnhealthyPodEvictionPolicyType, current, desired int32) *policyv1.PodDisruptionBudget {
		return &policyv1.PodDisruptionBudget{Spec: policyv1.PodDisruptionBudgetSpec{UnhealthyPodEvictionPolicy: policy},
			Status: policyv1.PodDisruptionBudgetStatus{CurrentHealthy: current, DesiredHealthy: desired}}
	}
	always, ifHealthy := ptr.To(policyv1.AlwaysAllow), ptr.To(policyv1.IfHealthyBudget)
	for _, tc := range []struct {
		name  string
		ready bool
		pdb   *policyv1.PodDisruptionBudget
		want  bool
	}{
		{"ready pod takes a disruption", true, budget(always, 0, 2), false},
		{"AlwaysAllow", false, budget(always, 0, 2), true},
		{"default, budget met", false, budget(nil, 2, 2), true},
		{"IfHealthyBudget, budget met", false, budget(ifHealthy, 3, 2), true},
		{"IfHealthyBudget, budget not met", false, budget(ifHealthy, 1, 2), false},
		{"desired 0", false, budget(nil, 0, 0), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := unhealthyMayGo(evictionPod(corev1.PodRunning, tc.ready), tc.pdb); got != tc.want {
				t.Errorf("unhealthyMayGo = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestTakeDisruption(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	budget := func(generation, observed int64, allowed int32) *policyv1.PodDisruptionBudget {
		return &policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Name: "b", Generation: generation},
			Status: policyv1.PodDisruptionBudgetStatus{ObservedGeneration: observed, DisruptionsAllowed: allowed, CurrentHealthy: 2, DesiredHealthy: 2}}
	}
	tooBig := budget(1, 1, 1)
	tooBig.Status.DisruptedPods = map[string]metav1.Time{}
	for i := 0; i <= MaxDisruptedPodSize; i++ {
		tooBig.Status.DisruptedPods[fmt.Sprintf("p%d", i)] = metav1.NewTime(now)
	}
	for _, tc := range []struct {
		name        string
		pdb         *policyv1.PodDisruptionBudget
		dryRun      bool
		code        int32
		cause       string
		wantAllowed int32
		wantRecord  bool
		wantCond    metav1.ConditionStatus
	}{
		{name: "generation not observed", pdb: budget(2, 1, 1), code: http.StatusTooManyRequests, cause: "The disruption budget b is still being processed by the server."},
		{name: "none allowed", pdb: budget(1, 1, 0), code: http.StatusTooManyRequests, cause: "The disruption budget b needs 2 healthy pods and has 2 currently"},
		{name: "negative", pdb: budget(1, 1, -1), code: http.StatusForbidden},
		{name: "too many disrupted", pdb: tooBig, code: http.StatusForbidden},
		{name: "last one", pdb: budget(1, 1, 1), wantAllowed: 0, wantRecord: true, wantCond: metav1.ConditionFalse},
		{name: "two left", pdb: budget(1, 1, 2), wantAllowed: 1, wantRecord: true},
		{name: "dry run records nothing", pdb: budget(1, 1, 2), dryRun: true, wantAllowed: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := tc.pdb.DeepCopy()
			got, err := takeDisruption(tc.pdb, "p", now, tc.dryRun)
			if tc.code != 0 {
				status, ok := err.(apierrors.APIStatus)
				if !ok || status.Status().Code != tc.code {
					t.Fatalf("err = %v, want code %d", err, tc.code)
				}
				if tc.code == http.StatusTooManyRequests {
					s := status.Status()
					if s.Message != "Cannot evict pod as it would violate the pod's disruption budget." {
						t.Errorf("message = %q", s.Message)
					}
					if len(s.Details.Causes) != 1 || s.Details.Causes[0].Type != policyv1.DisruptionBudgetCause || s.Details.Causes[0].Message != tc.cause {
						t.Errorf("causes = %+v", s.Details.Causes)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Status.DisruptionsAllowed != tc.wantAllowed {
				t.Errorf("disruptionsAllowed = %d, want %d", got.Status.DisruptionsAllowed, tc.wantAllowed)
			}
			if at, ok := got.Status.DisruptedPods["p"]; ok != tc.wantRecord || (ok && !at.Time.Equal(now)) {
				t.Errorf("disruptedPods = %v, want recorded %v", got.Status.DisruptedPods, tc.wantRecord)
			}
			if tc.wantCond != "" {
				c := got.Status.Conditions
				if len(c) != 1 || c[0].Type != policyv1.DisruptionAllowedCondition || c[0].Status != tc.wantCond || c[0].Reason != policyv1.InsufficientPodsReason {
					t.Errorf("conditions = %+v", c)
				}
			}
			if before.Status.DisruptionsAllowed != tc.pdb.Status.DisruptionsAllowed {
				t.Errorf("the input budget changed")
			}
		})
	}
}

func TestEvictionDeleteOptions(t *testing.T) {
	all := []string{metav1.DryRunAll}
	for _, tc := range []struct {
		name    string
		body    *metav1.DeleteOptions
		request []string
		want    []string
		err     bool
	}{
		{name: "none", want: nil},
		{name: "request dry-run", request: all, want: all},
		{name: "body dry-run", body: &metav1.DeleteOptions{DryRun: all}, want: all},
		{name: "both", body: &metav1.DeleteOptions{DryRun: all}, request: all, want: all},
		{name: "mismatch", body: &metav1.DeleteOptions{DryRun: []string{"x"}}, request: all, err: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := evictionDeleteOptions(&policyv1.Eviction{DeleteOptions: tc.body}, &metav1.CreateOptions{DryRun: tc.request})
			if tc.err {
				if !apierrors.IsBadRequest(err) {
					t.Fatalf("err = %v, want 400", err)
				}
				return
			}
			if err != nil || len(got.DryRun) != len(tc.want) {
				t.Errorf("got %v, %v; want dry-run %v", got, err, tc.want)
			}
		})
	}
}
