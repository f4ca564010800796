package agent

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"

	"github.com/skiff-dev/skiff/apis/helper"
	"github.com/skiff-dev/skiff/nodeagent/eviction"
)

// Reason and message of a pod refused for its host ports, as the kubelet's NodePorts
// admission predicate.
const (
	ReasonNodePorts  = "NodePorts"
	MessageNodePorts = "node(s) didn't have free ports for the requested pod ports"
)

// admitPorts is the kubelet's NodePorts admission of a new pod against the pods this node
// runs: false when a host port it asks for is taken.
func admitPorts(pod *corev1.Pod, running []*corev1.Pod) bool {
	want := helper.PodHostPorts(&pod.Spec)
	if len(want) == 0 {
		return true
	}
	for _, other := range running {
		if other.UID == pod.UID || isTerminalAPI(other) {
			continue
		}
		for _, h := range helper.PodHostPorts(&other.Spec) {
			for _, w := range want {
				if w.Conflicts(h) {
					return false
				}
			}
		}
	}
	return true
}

// admit runs the node's admission for a pod it has not started: a refused pod is failed with
// the reason, as the kubelet's rejectPod, and never runs. It reports whether the pod may run.
func (a *Agent) admit(ctx context.Context, pod *corev1.Pod) bool {
	var running []*corev1.Pod
	for _, uid := range a.workers.Known() {
		if p := a.podByUID(uid); p != nil {
			running = append(running, p)
		}
	}
	// The kubelet's eviction admission comes first.
	if ok, msg := eviction.Admit(pod, a.pressure()); !ok {
		a.reject(ctx, pod, ReasonEvicted, msg)
		return false
	}
	if admitPorts(pod, running) {
		return true
	}
	a.reject(ctx, pod, ReasonNodePorts, MessageNodePorts)
	return false
}

// reject writes a refused pod's status: Failed with the reason and "Pod was rejected: ...".
func (a *Agent) reject(ctx context.Context, pod *corev1.Pod, reason, message string) {
	a.podEvent(pod, corev1.EventTypeWarning, reason, message)
	p := pod.DeepCopy()
	p.Status.Phase, p.Status.Reason, p.Status.Message = corev1.PodFailed, reason, "Pod was rejected: "+message
	pods := a.cfg.Client.CoreV1().Pods(pod.Namespace)
	_, err := pods.UpdateStatus(ctx, p, metav1.UpdateOptions{})
	if apierrors.IsConflict(err) {
		if cur, gerr := pods.Get(ctx, pod.Name, metav1.GetOptions{}); gerr == nil && cur.UID == pod.UID {
			cur.Status.Phase, cur.Status.Reason, cur.Status.Message = p.Status.Phase, p.Status.Reason, p.Status.Message
			_, err = pods.UpdateStatus(ctx, cur, metav1.UpdateOptions{})
		}
	}
	if err != nil && !apierrors.IsNotFound(err) {
		klog.FromContext(ctx).Error(fmt.Errorf("rejecting pod: %w", err), "Writing the status of a rejected pod failed", "pod", klog.KObj(pod))
	}
}
