package agent

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
)

// The reason and message of a pod failed by its activeDeadlineSeconds (upstream's
// pkg/kubelet/active_deadline.go).
const (
	DeadlineExceededReason  = "DeadlineExceeded"
	DeadlineExceededMessage = "Pod was active on the node longer than the specified deadline"
)

// deadlineCheckPeriod is how often pods are checked against their active deadline (upstream's
// sync loop ticks every second and asks its PodSyncLoopHandlers).
const deadlineCheckPeriod = time.Second

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

// deadlineExceeded records the DeadlineExceeded event once per pod and reports whether the pod
// is past its deadline (the status the agent last wrote gives the start time).
func (a *Agent) deadlineExceeded(pod *corev1.Pod) bool {
	if !PastActiveDeadline(pod, &a.oldStatus(pod).Status, a.cfg.Clock.Now()) {
		return false
	}
	a.mu.Lock()
	first := !a.deadlineHit[pod.UID]
	a.deadlineHit[pod.UID] = true
	a.mu.Unlock()
	if first {
		klog.V(2).InfoS("Pod past its active deadline", "pod", klog.KObj(pod), "activeDeadlineSeconds", *pod.Spec.ActiveDeadlineSeconds)
		a.podEvent(pod, corev1.EventTypeNormal, DeadlineExceededReason, DeadlineExceededMessage)
	}
	return true
}

// checkDeadlines hands the pods that passed their active deadline since their last sync to
// their workers (upstream's activeDeadlineHandler.ShouldSync).
func (a *Agent) checkDeadlines(context.Context) {
	if a.pods == nil {
		return
	}
	now := a.cfg.Clock.Now()
	for _, obj := range a.pods.List() {
		pod := obj.(*corev1.Pod)
		if pod.Spec.ActiveDeadlineSeconds == nil || isTerminalAPI(pod) || !a.known(pod.UID) || a.deadlineHitFor(pod.UID) {
			continue
		}
		if PastActiveDeadline(pod, &a.oldStatus(pod).Status, now) {
			a.workers.UpdatePod(pod)
		}
	}
}

func (a *Agent) deadlineHitFor(uid types.UID) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.deadlineHit[uid]
}
