package nodelifecycle

import (
	"math"
	"sort"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Upstream's taint keys and condition texts.
const (
	TaintNotReady           = "node.kubernetes.io/not-ready"
	TaintUnreachable        = "node.kubernetes.io/unreachable"
	TaintUnschedulable      = "node.kubernetes.io/unschedulable"
	TaintMemoryPressure     = "node.kubernetes.io/memory-pressure"
	TaintDiskPressure       = "node.kubernetes.io/disk-pressure"
	TaintPIDPressure        = "node.kubernetes.io/pid-pressure"
	TaintNetworkUnavailable = "node.kubernetes.io/network-unavailable"

	ReasonNodeStatusUnknown      = "NodeStatusUnknown"
	MessageNodeStatusUnknown     = "Kubelet stopped posting node status."
	ReasonNodeStatusNeverUpdated = "NodeStatusNeverUpdated"
	MessageNodeStatusNeverUpdate = "Kubelet never posted node status."
)

// managedTaintKeys are the taints this controller owns.
var managedTaintKeys = map[string]bool{
	TaintNotReady: true, TaintUnreachable: true, TaintUnschedulable: true, TaintMemoryPressure: true,
	TaintDiskPressure: true, TaintPIDPressure: true, TaintNetworkUnavailable: true,
}

// conditionsMarkedUnknown are set to Unknown when the node stops reporting.
var conditionsMarkedUnknown = []corev1.NodeConditionType{
	corev1.NodeReady, corev1.NodeMemoryPressure, corev1.NodeDiskPressure, corev1.NodePIDPressure,
}

func condition(node *corev1.Node, t corev1.NodeConditionType) *corev1.NodeCondition {
	for i := range node.Status.Conditions {
		if node.Status.Conditions[i].Type == t {
			return &node.Status.Conditions[i]
		}
	}
	return nil
}

// readyStatus is the node's Ready condition status, "" when it has none.
func readyStatus(node *corev1.Node) corev1.ConditionStatus {
	if c := condition(node, corev1.NodeReady); c != nil {
		return c.Status
	}
	return ""
}

// markUnknown sets the health conditions of a node that stopped reporting to Unknown, as
// upstream's tryUpdateNodeHealth. It reports whether anything changed.
func markUnknown(node *corev1.Node, now time.Time) bool {
	changed := false
	ts := metav1.NewTime(now)
	for _, t := range conditionsMarkedUnknown {
		c := condition(node, t)
		if c == nil {
			node.Status.Conditions = append(node.Status.Conditions, corev1.NodeCondition{
				Type: t, Status: corev1.ConditionUnknown,
				Reason: ReasonNodeStatusNeverUpdated, Message: MessageNodeStatusNeverUpdate,
				LastHeartbeatTime: node.CreationTimestamp, LastTransitionTime: ts,
			})
			changed = true
			continue
		}
		if c.Status != corev1.ConditionUnknown {
			c.Status = corev1.ConditionUnknown
			c.Reason, c.Message = ReasonNodeStatusUnknown, MessageNodeStatusUnknown
			c.LastTransitionTime = ts
			changed = true
		}
	}
	return changed
}

// desiredTaints are the managed taints node's conditions and spec call for.
func desiredTaints(node *corev1.Node) []corev1.Taint {
	var out []corev1.Taint
	add := func(key string, effects ...corev1.TaintEffect) {
		for _, e := range effects {
			out = append(out, corev1.Taint{Key: key, Effect: e})
		}
	}
	switch readyStatus(node) {
	case corev1.ConditionFalse:
		add(TaintNotReady, corev1.TaintEffectNoSchedule, corev1.TaintEffectNoExecute)
	case corev1.ConditionUnknown:
		add(TaintUnreachable, corev1.TaintEffectNoSchedule, corev1.TaintEffectNoExecute)
	}
	for _, ct := range []struct {
		cond corev1.NodeConditionType
		key  string
	}{
		{corev1.NodeMemoryPressure, TaintMemoryPressure}, {corev1.NodeDiskPressure, TaintDiskPressure},
		{corev1.NodePIDPressure, TaintPIDPressure}, {corev1.NodeNetworkUnavailable, TaintNetworkUnavailable},
	} {
		if c := condition(node, ct.cond); c != nil && c.Status == corev1.ConditionTrue {
			add(ct.key, corev1.TaintEffectNoSchedule)
		}
	}
	if node.Spec.Unschedulable {
		add(TaintUnschedulable, corev1.TaintEffectNoSchedule)
	}
	return out
}

// reconcileTaints returns node's taints with the managed ones made to match its conditions:
// unmanaged taints and still-wanted managed ones are kept as they are, new NoExecute taints get
// TimeAdded. It reports whether the list changed.
func reconcileTaints(node *corev1.Node, now time.Time) ([]corev1.Taint, bool) {
	want := desiredTaints(node)
	wanted := func(t corev1.Taint) bool {
		for _, w := range want {
			if w.Key == t.Key && w.Effect == t.Effect {
				return true
			}
		}
		return false
	}
	var out []corev1.Taint
	changed := false
	for _, t := range node.Spec.Taints {
		if managedTaintKeys[t.Key] && !wanted(t) {
			changed = true
			continue
		}
		out = append(out, t)
	}
	for _, w := range want {
		found := false
		for _, t := range out {
			if t.Key == w.Key && t.Effect == w.Effect {
				found = true
				break
			}
		}
		if !found {
			if w.Effect == corev1.TaintEffectNoExecute {
				ts := metav1.NewTime(now)
				w.TimeAdded = &ts
			}
			out = append(out, w)
			changed = true
		}
	}
	return out, changed
}

func noExecuteTaints(node *corev1.Node) []corev1.Taint {
	var out []corev1.Taint
	for _, t := range node.Spec.Taints {
		if t.Effect == corev1.TaintEffectNoExecute {
			out = append(out, t)
		}
	}
	return out
}

// tolerationTime decides a pod's fate on a node with NoExecute taints, as upstream's taint
// eviction controller: evict at once if some taint is not tolerated, otherwise after the
// smallest tolerationSeconds among the tolerations used (the first tolerating each taint);
// forever when none of them sets tolerationSeconds. With no taints the pod stays forever.
func tolerationTime(taints []corev1.Taint, tolerations []corev1.Toleration) (d time.Duration, forever bool) {
	if len(taints) == 0 {
		return 0, true
	}
	minSeconds := int64(math.MaxInt64)
	for i := range taints {
		var used *corev1.Toleration
		for j := range tolerations {
			if tolerations[j].ToleratesTaint(logr.Discard(), &taints[i], false) {
				used = &tolerations[j]
				break
			}
		}
		if used == nil {
			return 0, false
		}
		if used.TolerationSeconds != nil {
			s := *used.TolerationSeconds
			if s <= 0 {
				return 0, false
			}
			minSeconds = min(minSeconds, s)
		}
	}
	if minSeconds == math.MaxInt64 {
		return 0, true
	}
	return time.Duration(minSeconds) * time.Second, false
}

// TerminatedPodsToDelete returns the terminated pods beyond threshold, as upstream's pod GC:
// the oldest first, evicted ones before the rest. Pods being deleted are not counted.
func TerminatedPodsToDelete(pods []*corev1.Pod, threshold int) []*corev1.Pod {
	if threshold <= 0 {
		return nil
	}
	var terminated []*corev1.Pod
	for _, p := range pods {
		if (p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed) && p.DeletionTimestamp == nil {
			terminated = append(terminated, p)
		}
	}
	n := len(terminated) - threshold
	if n <= 0 {
		return nil
	}
	evicted := func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodFailed && p.Status.Reason == "Evicted" }
	sort.SliceStable(terminated, func(i, j int) bool {
		if ei, ej := evicted(terminated[i]), evicted(terminated[j]); ei != ej {
			return ei
		}
		return terminated[i].CreationTimestamp.Before(&terminated[j].CreationTimestamp)
	})
	return terminated[:n]
}
