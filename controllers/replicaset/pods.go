package replicaset

import (
	"math"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// PodDeletionCostAnnotation lets users prefer some pods for deletion (lower cost goes first).
const PodDeletionCostAnnotation = "controller.kubernetes.io/pod-deletion-cost"

// IsPodActive reports whether a pod still counts: not terminal and not being deleted.
func IsPodActive(p *corev1.Pod) bool {
	return p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed &&
		p.DeletionTimestamp == nil
}

// podReadyCondition returns the pod's Ready condition, or nil.
func podReadyCondition(p *corev1.Pod) *corev1.PodCondition {
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == corev1.PodReady {
			return &p.Status.Conditions[i]
		}
	}
	return nil
}

// IsPodReady reports whether the pod's Ready condition is True.
func IsPodReady(p *corev1.Pod) bool {
	c := podReadyCondition(p)
	return c != nil && c.Status == corev1.ConditionTrue
}

// IsPodAvailable reports whether the pod has been ready for at least minReadySeconds at now.
func IsPodAvailable(p *corev1.Pod, minReadySeconds int32, now time.Time) bool {
	c := podReadyCondition(p)
	if c == nil || c.Status != corev1.ConditionTrue {
		return false
	}
	if minReadySeconds == 0 {
		return true
	}
	d := time.Duration(minReadySeconds) * time.Second
	return !c.LastTransitionTime.IsZero() && c.LastTransitionTime.Add(d).Before(now)
}

// availableIn returns how long until a ready pod becomes available (0 if it already is or
// never will by waiting).
func availableIn(p *corev1.Pod, minReadySeconds int32, now time.Time) time.Duration {
	c := podReadyCondition(p)
	if minReadySeconds == 0 || c == nil || c.Status != corev1.ConditionTrue || c.LastTransitionTime.IsZero() {
		return 0
	}
	at := c.LastTransitionTime.Add(time.Duration(minReadySeconds) * time.Second)
	if !at.After(now) {
		return 0
	}
	return at.Sub(now)
}

var podPhaseOrdinal = map[corev1.PodPhase]int{corev1.PodPending: 0, corev1.PodUnknown: 1, corev1.PodRunning: 2}

// RankedPods sorts pods so the ones to delete first come first, as upstream's
// ActivePodsWithRanks: unscheduled < scheduled; Pending < Unknown < Running; not ready < ready;
// lower pod-deletion-cost < higher; more pods of the same owner on the node < fewer (Rank);
// ready for less time < more time (logarithmic buckets); more restarts < fewer; newer < older.
type RankedPods struct {
	Pods []*corev1.Pod
	// Rank is, per pod, how many related pods share its node; higher ranks go first.
	Rank []int
	// Now is the reference time for logarithmic age buckets; zero compares exact times.
	Now metav1.Time
}

func (s RankedPods) Len() int { return len(s.Pods) }

func (s RankedPods) Swap(i, j int) {
	s.Pods[i], s.Pods[j] = s.Pods[j], s.Pods[i]
	s.Rank[i], s.Rank[j] = s.Rank[j], s.Rank[i]
}

func (s RankedPods) Less(i, j int) bool {
	a, b := s.Pods[i], s.Pods[j]
	// 1. Unassigned < assigned.
	if a.Spec.NodeName != b.Spec.NodeName && (a.Spec.NodeName == "" || b.Spec.NodeName == "") {
		return a.Spec.NodeName == ""
	}
	// 2. Pending < Unknown < Running.
	if podPhaseOrdinal[a.Status.Phase] != podPhaseOrdinal[b.Status.Phase] {
		return podPhaseOrdinal[a.Status.Phase] < podPhaseOrdinal[b.Status.Phase]
	}
	// 3. Not ready < ready.
	if IsPodReady(a) != IsPodReady(b) {
		return !IsPodReady(a)
	}
	// 4. Lower pod-deletion-cost < higher.
	if ca, cb := deletionCost(a), deletionCost(b); ca != cb {
		return ca < cb
	}
	// 5. Doubled up < not doubled up.
	if s.Rank[i] != s.Rank[j] {
		return s.Rank[i] > s.Rank[j]
	}
	// 6. Been ready for less time < more time.
	if IsPodReady(a) && IsPodReady(b) {
		ra, rb := podReadyTime(a), podReadyTime(b)
		if !ra.Equal(rb) {
			if s.Now.IsZero() || ra.IsZero() || rb.IsZero() {
				return afterOrZero(ra, rb)
			}
			if d := logRankDiff(*ra, *rb, s.Now); d != 0 {
				return d < 0
			}
			return a.UID < b.UID
		}
	}
	// 7. More restarts < fewer.
	if ra, rb := maxRestarts(a), maxRestarts(b); ra != rb {
		return ra > rb
	}
	// 8. Empty creation time < newer < older.
	if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
		if s.Now.IsZero() || a.CreationTimestamp.IsZero() || b.CreationTimestamp.IsZero() {
			return afterOrZero(&a.CreationTimestamp, &b.CreationTimestamp)
		}
		if d := logRankDiff(a.CreationTimestamp, b.CreationTimestamp, s.Now); d != 0 {
			return d < 0
		}
		return a.UID < b.UID
	}
	return false
}

func deletionCost(p *corev1.Pod) int32 {
	v, ok := p.Annotations[PodDeletionCostAnnotation]
	if !ok {
		return 0
	}
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil {
		return 0
	}
	return int32(n)
}

// afterOrZero: zero times sort first, then later times.
func afterOrZero(t1, t2 *metav1.Time) bool {
	if t1.Time.IsZero() || t2.Time.IsZero() {
		return t1.Time.IsZero()
	}
	return t1.After(t2.Time)
}

func podReadyTime(p *corev1.Pod) *metav1.Time {
	if c := podReadyCondition(p); c != nil && c.Status == corev1.ConditionTrue {
		return &c.LastTransitionTime
	}
	return &metav1.Time{}
}

// logRankDiff compares the log2 of the ages of t1 and t2 at now: negative when t1 is in a
// younger bucket.
func logRankDiff(t1, t2, now metav1.Time) int64 {
	d1, d2 := now.Sub(t1.Time), now.Sub(t2.Time)
	r1, r2 := int64(-1), int64(-1)
	if d1 > 0 {
		r1 = int64(math.Log2(float64(d1)))
	}
	if d2 > 0 {
		r2 = int64(math.Log2(float64(d2)))
	}
	return r1 - r2
}

func maxRestarts(p *corev1.Pod) int32 {
	var m int32
	for _, s := range p.Status.InitContainerStatuses {
		m = max(m, s.RestartCount)
	}
	for _, s := range p.Status.ContainerStatuses {
		m = max(m, s.RestartCount)
	}
	return m
}

// rankByRelatedPodsOnSameNode ranks each pod by the number of active related pods on its node.
func rankByRelatedPodsOnSameNode(pods, related []*corev1.Pod, now metav1.Time) RankedPods {
	onNode := map[string]int{}
	for _, p := range related {
		if IsPodActive(p) {
			onNode[p.Spec.NodeName]++
		}
	}
	ranks := make([]int, len(pods))
	for i, p := range pods {
		ranks[i] = onNode[p.Spec.NodeName]
	}
	return RankedPods{Pods: pods, Rank: ranks, Now: now}
}
