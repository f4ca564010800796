package disruption

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	pdbhelper "k8s.io/component-helpers/apps/poddisruptionbudget"

	"github.com/skiff-dev/skiff/controllers/replicaset"
)

// This file holds the controller's decisions, free of side effects: how many pods a budget
// expects and wants healthy, how many are, which evictions are still pending, and the status
// that follows.

// DeletionTimeout is how long an eviction recorded in status.disruptedPods counts the pod as
// gone; after it the pod is counted again (upstream's DeletionTimeout).
const DeletionTimeout = 2 * time.Minute

// NeedsScale tells whether a budget is relative to its pods' controllers' scale (maxUnavailable,
// or minAvailable as a percentage) rather than to the pods present (an integer minAvailable).
func NeedsScale(pdb *policyv1.PodDisruptionBudget) bool {
	if pdb.Spec.MaxUnavailable != nil {
		return true
	}
	return pdb.Spec.MinAvailable != nil && pdb.Spec.MinAvailable.Type == intstr.String
}

// ExpectedAndDesired is upstream's getExpectedPodCount: the number of pods expected (scale, the
// sum of the controllers' desired replicas, when NeedsScale; otherwise the pods selected) and
// the number that must stay healthy. Percentages round up.
func ExpectedAndDesired(pdb *policyv1.PodDisruptionBudget, podCount int, scale int32) (expected, desired int32, err error) {
	switch {
	case pdb.Spec.MaxUnavailable != nil:
		maxUnavailable, err := intstr.GetScaledValueFromIntOrPercent(pdb.Spec.MaxUnavailable, int(scale), true)
		if err != nil {
			return 0, 0, fmt.Errorf("maxUnavailable: %w", err)
		}
		return scale, max(scale-int32(maxUnavailable), 0), nil
	case pdb.Spec.MinAvailable == nil:
		return 0, 0, nil
	case pdb.Spec.MinAvailable.Type == intstr.Int:
		return int32(podCount), pdb.Spec.MinAvailable.IntVal, nil
	}
	minAvailable, err := intstr.GetScaledValueFromIntOrPercent(pdb.Spec.MinAvailable, int(scale), true)
	if err != nil {
		return 0, 0, fmt.Errorf("minAvailable: %w", err)
	}
	return scale, int32(minAvailable), nil
}

// DisruptedPods is upstream's buildDisruptedPodMap: the entries of status.disruptedPods still
// pending at now (the pod exists, is not being deleted, and its eviction is younger than
// DeletionTimeout), the pods whose eviction expired without a delete, and when the earliest
// pending entry expires (nil: none).
func DisruptedPods(pods []*corev1.Pod, recorded map[string]metav1.Time, now time.Time) (pending map[string]metav1.Time, expired []*corev1.Pod, recheck *time.Time) {
	pending = map[string]metav1.Time{}
	for _, pod := range pods {
		if pod.DeletionTimestamp != nil {
			continue
		}
		at, found := recorded[pod.Name]
		if !found {
			continue
		}
		deadline := at.Add(DeletionTimeout)
		if deadline.Before(now) {
			expired = append(expired, pod)
			continue
		}
		if recheck == nil || deadline.Before(*recheck) {
			recheck = &deadline
		}
		pending[pod.Name] = at
	}
	return pending, expired, recheck
}

// CountHealthy is upstream's countHealthyPods: ready pods that are neither being deleted nor
// about to be (a pending eviction).
func CountHealthy(pods []*corev1.Pod, pending map[string]metav1.Time, now time.Time) int32 {
	var n int32
	for _, pod := range pods {
		if pod.DeletionTimestamp != nil {
			continue
		}
		if at, found := pending[pod.Name]; found && at.Add(DeletionTimeout).After(now) {
			continue
		}
		if replicaset.IsPodReady(pod) {
			n++
		}
	}
	return n
}

// Status is upstream's updatePdbStatus decision: the budget's new status, and whether it differs
// from the stored one. No disruption is allowed while no pod is expected, so that a budget
// whose first pods appear is safe before the controller counts them.
func Status(pdb *policyv1.PodDisruptionBudget, currentHealthy, desiredHealthy, expected int32, pending map[string]metav1.Time) (policyv1.PodDisruptionBudgetStatus, bool) {
	allowed := currentHealthy - desiredHealthy
	if expected <= 0 || allowed <= 0 {
		allowed = 0
	}
	s := pdb.Status
	if s.CurrentHealthy == currentHealthy && s.DesiredHealthy == desiredHealthy && s.ExpectedPods == expected &&
		s.DisruptionsAllowed == allowed && apiequality.Semantic.DeepEqual(s.DisruptedPods, pending) &&
		s.ObservedGeneration == pdb.Generation && pdbhelper.ConditionsAreUpToDate(pdb) {
		return s, false
	}
	out := pdb.DeepCopy()
	out.Status = policyv1.PodDisruptionBudgetStatus{
		CurrentHealthy:     currentHealthy,
		DesiredHealthy:     desiredHealthy,
		ExpectedPods:       expected,
		DisruptionsAllowed: allowed,
		DisruptedPods:      pending,
		ObservedGeneration: pdb.Generation,
		Conditions:         out.Status.Conditions,
	}
	pdbhelper.UpdateDisruptionAllowedCondition(out)
	return out.Status, true
}

// FailSafeStatus is upstream's failSafe: when the status cannot be computed, no disruption is
// allowed and DisruptionAllowed is False with reason SyncFailed and the error.
func FailSafeStatus(pdb *policyv1.PodDisruptionBudget, err error) policyv1.PodDisruptionBudgetStatus {
	s := *pdb.Status.DeepCopy()
	s.DisruptionsAllowed = 0
	if s.Conditions == nil {
		s.Conditions = []metav1.Condition{}
	}
	apimeta.SetStatusCondition(&s.Conditions, metav1.Condition{
		Type:               policyv1.DisruptionAllowedCondition,
		Status:             metav1.ConditionFalse,
		Reason:             policyv1.SyncFailedReason,
		Message:            err.Error(),
		ObservedGeneration: s.ObservedGeneration,
	})
	return s
}

// StalePodDisruptionTimeout is how long a DisruptionTarget condition may stay True on a pod that
// is not being deleted before the controller resets it (upstream's stalePodDisruptionTimeout).
const StalePodDisruptionTimeout = 2 * time.Minute

// StaleDisruption is upstream's nonTerminatingPodHasStaleDisruptionCondition: whether the pod
// carries a DisruptionTarget=True condition that no delete followed, and how long until it is
// stale (0: now). Pods being deleted or terminal, and the kubelet's own condition, are left alone.
func StaleDisruption(pod *corev1.Pod, now time.Time) (has bool, wait time.Duration) {
	if pod.DeletionTimestamp != nil || pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return false, 0
	}
	for _, c := range pod.Status.Conditions {
		if c.Type != corev1.DisruptionTarget {
			continue
		}
		if c.Status != corev1.ConditionTrue || c.Reason == corev1.PodReasonTerminationByKubelet {
			return false, 0
		}
		return true, max(StalePodDisruptionTimeout-now.Sub(c.LastTransitionTime.Time), 0)
	}
	return false, 0
}
