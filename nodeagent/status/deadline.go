package status

import (
	"time"

	corev1 "k8s.io/api/core/v1"
)

// The reason and message of a pod failed by its activeDeadlineSeconds (upstream's
// pkg/kubelet/active_deadline.go).
const (
	DeadlineExceededReason  = "DeadlineExceeded"
	DeadlineExceededMessage = "Pod was active on the node longer than the specified deadline"
)

// PastActiveDeadline reports whether the pod has been active on the node (since its status'
// startTime) for at least spec.activeDeadlineSeconds, as upstream's pastActiveDeadline. The
// deadline is read from the pod each time, so an update (it can only decrease) takes effect.
func PastActiveDeadline(pod *corev1.Pod, st *corev1.PodStatus, now time.Time) bool {
	if pod.Spec.ActiveDeadlineSeconds == nil || st == nil || st.StartTime == nil || st.StartTime.IsZero() {
		return false
	}
	return now.Sub(st.StartTime.Time) >= time.Duration(*pod.Spec.ActiveDeadlineSeconds)*time.Second
}

// ApplyActiveDeadline turns a status generated for a pod past its deadline into upstream's
// eviction: phase Failed, reason DeadlineExceeded. A pod the API already shows Succeeded keeps
// its phase (no transition out of a terminal phase). It reports whether it applied.
func ApplyActiveDeadline(pod *corev1.Pod, st *corev1.PodStatus, now time.Time) bool {
	if pod.Status.Phase == corev1.PodSucceeded || !PastActiveDeadline(pod, st, now) {
		return false
	}
	st.Phase = corev1.PodFailed
	st.Reason = DeadlineExceededReason
	st.Message = DeadlineExceededMessage
	return true
}
