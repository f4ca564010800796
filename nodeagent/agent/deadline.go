package agent

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"

	"github.com/skiff-dev/skiff/nodeagent/status"
)

// The reason and message of a pod failed by its activeDeadlineSeconds (status package).
const (
	DeadlineExceededReason  = status.DeadlineExceededReason
	DeadlineExceededMessage = status.DeadlineExceededMessage
)

// deadlineCheckPeriod is how often pods are checked against their active deadline (upstream's
// sync loop ticks every second and asks its PodSyncLoopHandlers).
const deadlineCheckPeriod = time.Second

// deadlineExceeded records the DeadlineExceeded event once per pod and reports whether the pod
// is past its deadline (the status the agent last wrote gives the start time).
func (a *Agent) deadlineExceeded(pod *corev1.Pod) bool {
	if !status.PastActiveDeadline(pod, &a.oldStatus(pod).Status, a.cfg.Clock.Now()) {
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
		if status.PastActiveDeadline(pod, &a.oldStatus(pod).Status, now) {
			a.workers.UpdatePod(pod)
		}
	}
}

func (a *Agent) deadlineHitFor(uid types.UID) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.deadlineHit[uid]
}
