package statefulset

import (
	"sort"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/skiff-dev/skiff/controllers/replicaset"
)

// ActionType is what the Reconciler does to one pod.
type ActionType string

const (
	// Create makes the pod's missing claims, then the pod.
	Create ActionType = "Create"
	// CreateClaims makes the missing claims of a pending pod.
	CreateClaims ActionType = "CreateClaims"
	// Delete deletes the pod (failed, scaled down, or replaced by the update).
	Delete ActionType = "Delete"
	// UpdateIdentity rewrites a pod's identity labels and claim volumes.
	UpdateIdentity ActionType = "UpdateIdentity"
	// FixClaims sets the owner references of the pod's claims for the retention policy.
	FixClaims ActionType = "FixClaims"
)

// Action is one write on one pod (the pod to create, or the existing one).
type Action struct {
	Type ActionType
	Pod  *corev1.Pod
}

// Input is what a sync sees: the set, the set at its current and update revisions, the set's
// pods, its existing claims by name, and the time.
type Input struct {
	Set, CurrentSet, UpdateSet      *appsv1.StatefulSet
	CurrentRevision, UpdateRevision string
	CollisionCount                  int32
	Pods                            []*corev1.Pod
	Claims                          map[string]*corev1.PersistentVolumeClaim
	Now                             time.Time
}

// Step is a sync's decision: the writes in order (the Reconciler stops at the first error) and
// the status to record.
type Step struct {
	Actions []Action
	Status  appsv1.StatefulSetStatus
}

func isCreated(p *corev1.Pod) bool     { return p.Status.Phase != "" }
func isPending(p *corev1.Pod) bool     { return p.Status.Phase == corev1.PodPending }
func isTerminating(p *corev1.Pod) bool { return p.DeletionTimestamp != nil }
func isFinished(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodFailed || p.Status.Phase == corev1.PodSucceeded
}
func isRunningAndReady(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodRunning && replicaset.IsPodReady(p)
}
func isRunningAndAvailable(p *corev1.Pod, minReadySeconds int32, now time.Time) bool {
	return p.Status.Phase == corev1.PodRunning && replicaset.IsPodAvailable(p, minReadySeconds, now)
}
func isHealthy(p *corev1.Pod) bool { return isRunningAndReady(p) && !isTerminating(p) }

// Plan is upstream's updateStatefulSet as a pure function. Pods in the ordinal range are kept
// (missing ones created at the revision the partition gives them, failed ones deleted, identity
// and storage enforced); the others are condemned, highest ordinal first. With OrderedReady
// each pod must be Running, Ready and available before the next is created or a condemned one
// deleted, and the plan stops at the first write; Parallel does all at once. Then RollingUpdate
// deletes, from the highest ordinal down to the partition, up to maxUnavailable (less the
// unhealthy pods) pods not at the update revision; OnDelete leaves them.
func Plan(in Input) Step {
	set := in.Set
	status := appsv1.StatefulSetStatus{
		ObservedGeneration: set.Generation,
		CurrentRevision:    in.CurrentRevision,
		UpdateRevision:     in.UpdateRevision,
		CollisionCount:     &in.CollisionCount,
	}
	replicas := make([]*corev1.Pod, replicasOf(set))
	var condemned []*corev1.Pod
	for _, p := range in.Pods {
		if inOrdinalRange(p, set) {
			replicas[ordinalOf(p)-startOrdinal(set)] = p
		} else if ordinalOf(p) >= 0 {
			condemned = append(condemned, p)
		}
	}
	for i := range replicas {
		if replicas[i] == nil {
			replicas[i] = newVersionedPod(in.CurrentSet, in.UpdateSet, in.CurrentRevision, in.UpdateRevision, startOrdinal(set)+i)
		}
	}
	sort.SliceStable(condemned, func(i, j int) bool { return ordinalOf(condemned[i]) > ordinalOf(condemned[j]) })
	var firstUnhealthy *corev1.Pod
	for _, p := range replicas {
		if !isHealthy(p) {
			firstUnhealthy = p
			break
		}
	}
	for i := len(condemned) - 1; i >= 0 && firstUnhealthy == nil; i-- {
		if !isHealthy(condemned[i]) {
			firstUnhealthy = condemned[i]
		}
	}
	step := Step{}
	done := func() Step {
		step.Status = status
		countStatus(&step.Status, set.Spec.MinReadySeconds, in.Now, replicas, condemned)
		return step
	}
	if set.DeletionTimestamp != nil {
		return done()
	}
	monotonic := set.Spec.PodManagementPolicy != appsv1.ParallelPodManagement

	for _, p := range replicas {
		if stop := planReplica(in, &step, p, monotonic); stop && monotonic {
			return done()
		}
	}
	for _, p := range condemned {
		if !claimsMatchPolicy(in.UpdateSet, p, in.Claims) {
			step.Actions = append(step.Actions, Action{FixClaims, p})
		}
	}
	for _, p := range condemned {
		if isTerminating(p) {
			if monotonic {
				return done()
			}
			continue
		}
		if monotonic && p != firstUnhealthy &&
			(!isRunningAndReady(p) || !isRunningAndAvailable(p, set.Spec.MinReadySeconds, in.Now)) {
			return done()
		}
		step.Actions = append(step.Actions, Action{Delete, p})
		if monotonic {
			return done()
		}
	}
	if set.Spec.UpdateStrategy.Type == appsv1.OnDeleteStatefulSetStrategyType {
		return done()
	}
	updateMin, maxUnavailable := 0, 1
	if ru := set.Spec.UpdateStrategy.RollingUpdate; ru != nil {
		if ru.Partition != nil {
			updateMin = int(*ru.Partition)
		}
		maxUnavailable = MaxUnavailable(ru.MaxUnavailable, len(replicas))
	}
	unavailable := 0
	for _, p := range replicas {
		if !isHealthy(p) {
			unavailable++
		}
	}
	updated := 0
	for target := len(replicas) - 1; target >= updateMin && unavailable < maxUnavailable; target-- {
		if p := replicas[target]; revisionOf(p) != in.UpdateRevision && !isTerminating(p) && isCreated(p) {
			step.Actions = append(step.Actions, Action{Delete, p})
			updated++
			unavailable++
		}
	}
	out := done()
	out.Status.CurrentReplicas -= int32(updated)
	return out
}

// planReplica is upstream's processReplica for one pod in range; true means a monotonic sync
// must stop here.
func planReplica(in Input, step *Step, p *corev1.Pod, monotonic bool) bool {
	if isFinished(p) {
		if p.DeletionTimestamp == nil {
			step.Actions = append(step.Actions, Action{Delete, p})
		}
		return true
	}
	if !isCreated(p) {
		if claimIsStale(in.Set, p, in.Claims) {
			// A claim still owned by the previous pod of this ordinal: wait for its deletion.
			return true
		}
		step.Actions = append(step.Actions, Action{Create, p})
		return true
	}
	if isPending(p) && missingClaims(in.Set, p, in.Claims) {
		step.Actions = append(step.Actions, Action{CreateClaims, p})
	}
	if isTerminating(p) || !isRunningAndReady(p) || !isRunningAndAvailable(p, in.Set.Spec.MinReadySeconds, in.Now) {
		return true
	}
	if !identityMatches(in.Set, p) || !storageMatches(in.Set, p) {
		step.Actions = append(step.Actions, Action{UpdateIdentity, p})
	} else if !claimsMatchPolicy(in.UpdateSet, p, in.Claims) {
		step.Actions = append(step.Actions, Action{FixClaims, p})
	}
	return false
}

// countStatus is upstream's updateStatus over the pods in range and the condemned ones.
func countStatus(status *appsv1.StatefulSetStatus, minReadySeconds int32, now time.Time, lists ...[]*corev1.Pod) {
	status.Replicas, status.ReadyReplicas, status.AvailableReplicas, status.CurrentReplicas, status.UpdatedReplicas = 0, 0, 0, 0, 0
	for _, list := range lists {
		for _, p := range list {
			if isCreated(p) {
				status.Replicas++
			}
			if isRunningAndReady(p) {
				status.ReadyReplicas++
				if isRunningAndAvailable(p, minReadySeconds, now) {
					status.AvailableReplicas++
				}
			}
			if isCreated(p) && !isTerminating(p) {
				if revisionOf(p) == status.CurrentRevision {
					status.CurrentReplicas++
				}
				if revisionOf(p) == status.UpdateRevision {
					status.UpdatedReplicas++
				}
			}
		}
	}
}

// MaxUnavailable scales maxUnavailable (default 1) to the replicas, rounding up, at least 1.
func MaxUnavailable(v *intstr.IntOrString, replicas int) int {
	if v == nil {
		return 1
	}
	n, err := intstr.GetScaledValueFromIntOrPercent(intstr.ValueOrDefault(v, intstr.FromInt32(1)), replicas, true)
	if err != nil || n < 1 {
		return 1
	}
	return n
}

// CompleteRollingUpdate is upstream's completeRollingUpdate: once every replica is updated and
// ready, the update revision becomes the current one.
func CompleteRollingUpdate(set *appsv1.StatefulSet, status *appsv1.StatefulSetStatus) {
	if set.Spec.UpdateStrategy.Type == appsv1.RollingUpdateStatefulSetStrategyType &&
		status.UpdatedReplicas == status.Replicas && status.ReadyReplicas == status.Replicas {
		status.CurrentReplicas = status.UpdatedReplicas
		status.CurrentRevision = status.UpdateRevision
	}
}

// RevisionsToDelete is upstream's truncateHistory: the oldest revisions (revisions sorted) that
// are neither current, update, nor any pod's, beyond revisionHistoryLimit.
func RevisionsToDelete(set *appsv1.StatefulSet, pods []*corev1.Pod, revisions []*appsv1.ControllerRevision, current, update string) []*appsv1.ControllerRevision {
	live := map[string]bool{current: true, update: true}
	for _, p := range pods {
		live[revisionOf(p)] = true
	}
	var old []*appsv1.ControllerRevision
	for _, r := range revisions {
		if !live[r.Name] {
			old = append(old, r)
		}
	}
	limit := 10
	if set.Spec.RevisionHistoryLimit != nil {
		limit = int(*set.Spec.RevisionHistoryLimit)
	}
	if len(old) <= limit {
		return nil
	}
	return old[:len(old)-limit]
}
