package cronjob

import (
	"context"
	"fmt"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/skiff-dev/skiff/controllers"
)

// ControllerName names the controller, its events and its log.
const ControllerName = "cronjob-controller"

// Reconciler starts a CronJob's Jobs on schedule.
type Reconciler struct {
	controllers.Base
}

// SetupWithManager registers the controller with mgr: CronJobs and the Jobs they control.
func (r *Reconciler) SetupWithManager(mgr manager.Manager) error {
	opts := r.Complete(mgr, ControllerName)
	return ctrl.ControllerManagedBy(mgr).Named("cronjob").
		For(&batchv1.CronJob{}).
		Owns(&batchv1.Job{}).
		WithOptions(opts).
		Complete(r)
}

// Reconcile syncs one CronJob.
func (r *Reconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	logger := klog.FromContext(ctx).WithValues("cronjob", req.NamespacedName)
	cj := &batchv1.CronJob{}
	if err := r.Client.Get(ctx, req.NamespacedName, cj); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	jobs, err := r.jobsOf(ctx, cj)
	if err != nil {
		return reconcile.Result{}, err
	}
	plan := Decide(Input{CronJob: cj, Jobs: jobs, Now: r.Clock.Now()})

	// Replaced Jobs go before their successor is created, as upstream's.
	var errs []error
	for _, j := range plan.Delete {
		errs = append(errs, r.deleteJob(ctx, cj, j))
	}
	if plan.Create != nil {
		created, err := r.createJob(ctx, cj, plan.Create)
		if err != nil {
			errs = append(errs, err)
			// Not started: the status keeps the previous schedule time, so the next sync retries.
			plan.Status.LastScheduleTime = cj.Status.LastScheduleTime
		} else if created != nil {
			plan.Status.Active = append(plan.Status.Active, jobRef(created))
		}
	}
	for _, e := range plan.Events {
		r.Recorder.Event(cj, e.Type, e.Reason, e.Message)
	}
	if !apiequality.Semantic.DeepEqual(plan.Status, cj.Status) {
		upd := cj.DeepCopy()
		upd.Status = plan.Status
		if err := r.Client.Status().Update(ctx, upd); err != nil {
			if apierrors.IsConflict(err) {
				return reconcile.Result{RequeueAfter: nextScheduleDelta}, nil
			}
			errs = append(errs, fmt.Errorf("updating the status of cronjob %s: %w", req.NamespacedName, err))
		}
	}
	if err := utilerrors.NewAggregate(errs); err != nil {
		logger.V(2).Info("CronJob sync incomplete", "error", err)
		return reconcile.Result{}, err
	}
	return reconcile.Result{RequeueAfter: plan.RequeueAfter}, nil
}

// jobsOf lists the Jobs the CronJob controls. Active Jobs the cache has not seen yet (just
// created) are read from the API server, so they are not reported missing.
func (r *Reconciler) jobsOf(ctx context.Context, cj *batchv1.CronJob) ([]*batchv1.Job, error) {
	list := &batchv1.JobList{}
	if err := r.Client.List(ctx, list, client.InNamespace(cj.Namespace)); err != nil {
		return nil, fmt.Errorf("listing the jobs of cronjob %s/%s: %w", cj.Namespace, cj.Name, err)
	}
	var out []*batchv1.Job
	seen := map[string]bool{}
	for i := range list.Items {
		j := &list.Items[i]
		if ref := metav1.GetControllerOf(j); ref != nil && ref.UID == cj.UID {
			out = append(out, j)
			seen[j.Name] = true
		}
	}
	for _, ref := range cj.Status.Active {
		if seen[ref.Name] {
			continue
		}
		j := &batchv1.Job{}
		err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: cj.Namespace, Name: ref.Name}, j)
		switch {
		case apierrors.IsNotFound(err):
		case err != nil:
			return nil, fmt.Errorf("reading active job %s/%s: %w", cj.Namespace, ref.Name, err)
		case metav1.IsControlledBy(j, cj):
			out = append(out, j)
		}
	}
	return out, nil
}

// createJob creates the Job of a scheduled time; one that exists already and is the CronJob's
// counts as created (a sync that did not see its own creation), as upstream's.
func (r *Reconciler) createJob(ctx context.Context, cj *batchv1.CronJob, j *batchv1.Job) (*batchv1.Job, error) {
	err := r.Client.Create(ctx, j)
	switch {
	case err == nil:
		r.Recorder.Eventf(cj, corev1.EventTypeNormal, "SuccessfulCreate", "Created job %v", j.Name)
		return j, nil
	case apierrors.IsAlreadyExists(err):
		existing := &batchv1.Job{}
		if gerr := r.APIReader.Get(ctx, client.ObjectKeyFromObject(j), existing); gerr != nil {
			return nil, fmt.Errorf("reading existing job %s: %w", j.Name, gerr)
		}
		if metav1.IsControlledBy(existing, cj) {
			return existing, nil
		}
		return nil, fmt.Errorf("job %s exists and is not controlled by cronjob %s: %w", j.Name, cj.Name, err)
	case apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause):
		return nil, nil
	}
	r.Recorder.Eventf(cj, corev1.EventTypeWarning, "FailedCreate", "Error creating job: %v", err)
	return nil, fmt.Errorf("creating job %s: %w", j.Name, err)
}

func (r *Reconciler) deleteJob(ctx context.Context, cj *batchv1.CronJob, j *batchv1.Job) error {
	policy := metav1.DeletePropagationBackground
	err := r.Client.Delete(ctx, j, &client.DeleteOptions{PropagationPolicy: &policy})
	switch {
	case apierrors.IsNotFound(err):
		return nil
	case err != nil:
		r.Recorder.Eventf(cj, corev1.EventTypeWarning, "FailedDelete", "Deleted job: %v", err)
		return fmt.Errorf("deleting job %s: %w", j.Name, err)
	}
	r.Recorder.Eventf(cj, corev1.EventTypeNormal, "SuccessfulDelete", "Deleted job %v", j.Name)
	return nil
}
