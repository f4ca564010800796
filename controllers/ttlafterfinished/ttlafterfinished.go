package ttlafterfinished

import (
	"context"
	"fmt"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/skiff-dev/skiff/controllers"
)

// ControllerName names the controller and its log.
const ControllerName = "ttl-after-finished-controller"

// Reconciler deletes finished Jobs whose TTL has passed.
type Reconciler struct {
	controllers.Base
}

// SetupWithManager registers the controller with mgr.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	opts := r.Complete(mgr, ControllerName)
	return ctrl.NewControllerManagedBy(mgr).Named("ttlafterfinished").For(&batchv1.Job{}).WithOptions(opts).Complete(r)
}

// FinishTime is when a Job finished: the last transition of its true Complete or Failed
// condition; false when it has not finished.
func FinishTime(j *batchv1.Job) (time.Time, bool) {
	for _, c := range j.Status.Conditions {
		if (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) && c.Status == corev1.ConditionTrue {
			return c.LastTransitionTime.Time, true
		}
	}
	return time.Time{}, false
}

// ExpiresIn returns how long until a Job's TTL passes (≤ 0: now) and whether it has one at all:
// only finished Jobs with ttlSecondsAfterFinished, not already being deleted, expire.
func ExpiresIn(j *batchv1.Job, now time.Time) (time.Duration, bool) {
	if j.Spec.TTLSecondsAfterFinished == nil || j.DeletionTimestamp != nil {
		return 0, false
	}
	finished, ok := FinishTime(j)
	if !ok {
		return 0, false
	}
	return finished.Add(time.Duration(*j.Spec.TTLSecondsAfterFinished) * time.Second).Sub(now), true
}

// Reconcile deletes one Job when its TTL has passed, or comes back when it will.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	job := &batchv1.Job{}
	if err := r.Client.Get(ctx, req.NamespacedName, job); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	left, ok := ExpiresIn(job, r.Clock.Now())
	if !ok {
		return ctrl.Result{}, nil
	}
	if left > 0 {
		return ctrl.Result{RequeueAfter: left}, nil
	}
	// The cache may be stale: check the TTL again on a fresh read, as upstream does.
	fresh := &batchv1.Job{}
	if err := r.APIReader.Get(ctx, req.NamespacedName, fresh); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if left, ok = ExpiresIn(fresh, r.Clock.Now()); !ok {
		return ctrl.Result{}, nil
	}
	if left > 0 {
		return ctrl.Result{RequeueAfter: left}, nil
	}
	klog.FromContext(ctx).V(2).Info("Cleaning up Job", "job", req.NamespacedName)
	policy := metav1.DeletePropagationForeground
	err := r.Client.Delete(ctx, fresh, &client.DeleteOptions{PropagationPolicy: &policy,
		Preconditions: &metav1.Preconditions{UID: &fresh.UID, ResourceVersion: &fresh.ResourceVersion}})
	if err != nil && !apierrors.IsNotFound(err) {
		if apierrors.IsConflict(err) {
			return ctrl.Result{RequeueAfter: 100 * time.Millisecond}, nil
		}
		return ctrl.Result{}, fmt.Errorf("deleting job %s: %w", req.NamespacedName, err)
	}
	return ctrl.Result{}, nil
}
