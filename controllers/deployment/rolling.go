package deployment

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
)

func (r *Reconciler) rolloutRolling(ctx context.Context, d *appsv1.Deployment, rsList []*appsv1.ReplicaSet) (ctrl.Result, error) {
	newRS, oldRSs, err := r.getAllReplicaSetsAndSyncRevision(ctx, d, rsList, true)
	if err != nil {
		return ctrl.Result{}, err
	}
	allRSs := append(append([]*appsv1.ReplicaSet(nil), oldRSs...), newRS)

	scaledUp, err := r.reconcileNewReplicaSet(ctx, allRSs, newRS, d)
	if err != nil {
		return ctrl.Result{}, err
	}
	if scaledUp {
		return r.syncRolloutStatus(ctx, allRSs, newRS, d)
	}
	scaledDown, err := r.reconcileOldReplicaSets(ctx, allRSs, FilterActive(oldRSs), newRS, d)
	if err != nil {
		return ctrl.Result{}, err
	}
	if scaledDown {
		return r.syncRolloutStatus(ctx, allRSs, newRS, d)
	}
	if DeploymentComplete(d, &d.Status) {
		if err := r.cleanupDeployment(ctx, oldRSs, d); err != nil {
			return ctrl.Result{}, err
		}
	}
	return r.syncRolloutStatus(ctx, allRSs, newRS, d)
}

func (r *Reconciler) reconcileNewReplicaSet(ctx context.Context, allRSs []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet, d *appsv1.Deployment) (bool, error) {
	desired := replicasOf(d.Spec.Replicas)
	have := replicasOf(newRS.Spec.Replicas)
	if have == desired {
		return false, nil
	}
	if have > desired {
		scaled, _, err := r.scaleReplicaSetAndRecordEvent(ctx, newRS, desired, d)
		return scaled, err
	}
	n, err := NewRSNewReplicas(d, allRSs, newRS)
	if err != nil {
		return false, err
	}
	scaled, _, err := r.scaleReplicaSetAndRecordEvent(ctx, newRS, n, d)
	return scaled, err
}

// MaxScaledDown is how many old replicas a rolling update may remove now: total pods minus
// the minimum available minus the new ReplicaSet's unavailable pods.
func MaxScaledDown(d *appsv1.Deployment, allRSs []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet) int32 {
	minAvailable := replicasOf(d.Spec.Replicas) - MaxUnavailable(d)
	newUnavailable := replicasOf(newRS.Spec.Replicas) - newRS.Status.AvailableReplicas
	return ReplicaCount(allRSs) - minAvailable - newUnavailable
}

func (r *Reconciler) reconcileOldReplicaSets(ctx context.Context, allRSs, oldRSs []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet, d *appsv1.Deployment) (bool, error) {
	if ReplicaCount(oldRSs) == 0 {
		return false, nil
	}
	maxScaledDown := MaxScaledDown(d, allRSs, newRS)
	if maxScaledDown <= 0 {
		return false, nil
	}
	oldRSs, cleaned, err := r.cleanupUnhealthyReplicas(ctx, oldRSs, d, maxScaledDown)
	if err != nil {
		return false, err
	}
	allRSs = append(append([]*appsv1.ReplicaSet(nil), oldRSs...), newRS)
	scaledDown, err := r.scaleDownOldReplicaSetsForRollingUpdate(ctx, allRSs, oldRSs, d)
	if err != nil {
		return false, err
	}
	return cleaned+scaledDown > 0, nil
}

// cleanupUnhealthyReplicas scales old ReplicaSets down by their unavailable pods first, oldest
// ReplicaSet first, up to maxCleanup.
func (r *Reconciler) cleanupUnhealthyReplicas(ctx context.Context, oldRSs []*appsv1.ReplicaSet, d *appsv1.Deployment, maxCleanup int32) ([]*appsv1.ReplicaSet, int32, error) {
	byCreation(oldRSs)
	total := int32(0)
	for i, rs := range oldRSs {
		if total >= maxCleanup {
			break
		}
		n := replicasOf(rs.Spec.Replicas)
		if n == 0 || n == rs.Status.AvailableReplicas {
			continue
		}
		down := min(maxCleanup-total, n-rs.Status.AvailableReplicas)
		if n-down > n {
			return nil, 0, fmt.Errorf("when cleaning up unhealthy replicas, got invalid request to scale down %s/%s %d -> %d", rs.Namespace, rs.Name, n, n-down)
		}
		_, updated, err := r.scaleReplicaSetAndRecordEvent(ctx, rs, n-down, d)
		if err != nil {
			return nil, total, err
		}
		total += down
		oldRSs[i] = updated
	}
	return oldRSs, total, nil
}

func (r *Reconciler) scaleDownOldReplicaSetsForRollingUpdate(ctx context.Context, allRSs, oldRSs []*appsv1.ReplicaSet, d *appsv1.Deployment) (int32, error) {
	minAvailable := replicasOf(d.Spec.Replicas) - MaxUnavailable(d)
	available := availableReplicaCount(allRSs)
	if available <= minAvailable {
		return 0, nil
	}
	byCreation(oldRSs)
	total, want := int32(0), available-minAvailable
	for _, rs := range oldRSs {
		if total >= want {
			break
		}
		n := replicasOf(rs.Spec.Replicas)
		if n == 0 {
			continue
		}
		down := min(n, want-total)
		if _, _, err := r.scaleReplicaSetAndRecordEvent(ctx, rs, n-down, d); err != nil {
			return total, err
		}
		total += down
	}
	return total, nil
}

func (r *Reconciler) rolloutRecreate(ctx context.Context, d *appsv1.Deployment, rsList []*appsv1.ReplicaSet, podMap map[types.UID][]*corev1.Pod) (ctrl.Result, error) {
	newRS, oldRSs, err := r.getAllReplicaSetsAndSyncRevision(ctx, d, rsList, false)
	if err != nil {
		return ctrl.Result{}, err
	}
	allRSs := append(append([]*appsv1.ReplicaSet(nil), oldRSs...), newRS)

	scaledDown := false
	for _, rs := range FilterActive(oldRSs) {
		scaled, _, err := r.scaleReplicaSetAndRecordEvent(ctx, rs, 0, d)
		if err != nil {
			return ctrl.Result{}, err
		}
		scaledDown = scaledDown || scaled
	}
	if scaledDown {
		return r.syncRolloutStatus(ctx, allRSs, newRS, d)
	}
	if OldPodsRunning(newRS, oldRSs, podMap) {
		return r.syncRolloutStatus(ctx, allRSs, newRS, d)
	}
	if newRS == nil {
		if newRS, oldRSs, err = r.getAllReplicaSetsAndSyncRevision(ctx, d, rsList, true); err != nil {
			return ctrl.Result{}, err
		}
		allRSs = append(append([]*appsv1.ReplicaSet(nil), oldRSs...), newRS)
	}
	if _, _, err := r.scaleReplicaSetAndRecordEvent(ctx, newRS, replicasOf(d.Spec.Replicas), d); err != nil {
		return ctrl.Result{}, err
	}
	if DeploymentComplete(d, &d.Status) {
		if err := r.cleanupDeployment(ctx, oldRSs, d); err != nil {
			return ctrl.Result{}, err
		}
	}
	return r.syncRolloutStatus(ctx, allRSs, newRS, d)
}

// OldPodsRunning reports whether any old ReplicaSet still has pods that are not terminal.
func OldPodsRunning(newRS *appsv1.ReplicaSet, oldRSs []*appsv1.ReplicaSet, podMap map[types.UID][]*corev1.Pod) bool {
	if actualReplicaCount(oldRSs) > 0 {
		return true
	}
	for uid, pods := range podMap {
		if newRS != nil && newRS.UID == uid {
			continue
		}
		for _, p := range pods {
			if p.Status.Phase != corev1.PodFailed && p.Status.Phase != corev1.PodSucceeded {
				return true
			}
		}
	}
	return false
}
