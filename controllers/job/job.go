package job

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/skiff-dev/skiff/controllers"
	"github.com/skiff-dev/skiff/controllers/replicaset"
)

// ControllerName names the controller, its events' source and its log.
const ControllerName = "job-controller"

// BurstPods caps the pods created or deleted in one sync.
const BurstPods = 500

var controllerKind = batchv1.SchemeGroupVersion.WithKind("Job")

// Reconciler runs Jobs' pods to completion.
type Reconciler struct {
	controllers.Base
	// Backoff and MaxBackoff shape the delay before failed pods are replaced (zero: upstream's
	// 10 s doubling up to 6 min); tests shorten them.
	Backoff, MaxBackoff time.Duration

	expectations *replicaset.Expectations
	// written keeps the Jobs whose status this controller last wrote: its counters and
	// uncountedTerminatedPods must not be read stale once their pods' finalizers are gone.
	written controllers.Written[*batchv1.Job]
}

// SetupWithManager fills defaults and registers the controller with mgr.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	opts := r.Complete(mgr, ControllerName)
	r.defaults()
	return ctrl.NewControllerManagedBy(mgr).
		Named("job").
		For(&batchv1.Job{}).
		Watches(&corev1.Pod{}, &controllers.PodHandler{
			Reader: r.Client, Kind: controllerKind,
			NewOwner:     func() client.Object { return &batchv1.Job{} },
			NewOwnerList: func() client.ObjectList { return &batchv1.JobList{} },
			Selector:     func(o client.Object) *metav1.LabelSelector { return o.(*batchv1.Job).Spec.Selector },
			Observer:     r.expectations,
		}).
		WithOptions(opts).
		Complete(r)
}

func (r *Reconciler) defaults() {
	if r.expectations == nil {
		r.expectations = replicaset.NewExpectations(r.Clock, replicaset.ExpectationsTimeout)
	}
}

// Reconcile syncs one Job.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	r.defaults()
	logger := klog.FromContext(ctx).WithValues("job", req.NamespacedName)
	key := req.String()
	job := &batchv1.Job{}
	if err := r.Client.Get(ctx, req.NamespacedName, job); err != nil {
		if apierrors.IsNotFound(err) {
			r.expectations.Delete(key)
			r.written.Forget(req.NamespacedName)
			return ctrl.Result{}, r.releaseOrphans(ctx, req.NamespacedName, "")
		}
		return ctrl.Result{}, err
	}
	if job.Spec.ManagedBy != nil && *job.Spec.ManagedBy != "kubernetes.io/job-controller" {
		return ctrl.Result{}, nil
	}
	job = r.written.Newest(job)
	// Expectations first, pods after: a pod cache read before the check could miss the very
	// creations and deletions the check found observed.
	satisfied := r.expectations.Satisfied(key)
	pods, err := r.jobPods(ctx, job)
	if err != nil {
		return ctrl.Result{}, err
	}
	if job.DeletionTimestamp != nil {
		// Pods of a Job being deleted keep no finalizer of ours.
		return ctrl.Result{}, r.removeFinalizers(ctx, pods)
	}
	if !satisfied {
		return ctrl.Result{RequeueAfter: replicaset.ExpectationsTimeout}, nil
	}
	plan := Decide(Input{Job: job, Pods: pods, Now: r.Clock.Now(), Backoff: r.Backoff, MaxBackoff: r.MaxBackoff})

	if !apiequality.Semantic.DeepEqual(plan.Status, job.Status) {
		upd := job.DeepCopy()
		upd.Status = plan.Status
		if err := r.Client.Status().Update(ctx, upd); err != nil {
			if apierrors.IsConflict(err) {
				return ctrl.Result{RequeueAfter: 100 * time.Millisecond}, nil
			}
			return ctrl.Result{}, fmt.Errorf("updating the status of job %s: %w", req.NamespacedName, err)
		}
		r.written.Wrote(upd.DeepCopy())
		job = upd
	}
	for _, e := range plan.Events {
		r.Recorder.Event(job, e.Type, e.Reason, e.Message)
	}
	errs := []error{r.removeFinalizers(ctx, plan.RemoveFinalizers)}
	errs = append(errs, r.deletePods(ctx, job, plan.Delete), r.createPods(ctx, job, plan.Create))
	if err := utilerrors.NewAggregate(errs); err != nil {
		logger.V(2).Info("Job sync incomplete", "error", err)
		return ctrl.Result{}, err
	}
	return ctrl.Result{RequeueAfter: plan.RequeueAfter}, nil
}

// jobPods lists the pods of the Job's namespace and claims them as upstream's getPodsForJob:
// selected orphans are adopted (with the tracking finalizer), owned pods no longer selected are
// released (without it); it returns the pods the Job controls.
func (r *Reconciler) jobPods(ctx context.Context, job *batchv1.Job) ([]*corev1.Pod, error) {
	sel, err := metav1.LabelSelectorAsSelector(job.Spec.Selector)
	if err != nil {
		return nil, fmt.Errorf("job %s/%s has an invalid selector: %w", job.Namespace, job.Name, err)
	}
	list := &corev1.PodList{}
	if err := r.Client.List(ctx, list, client.InNamespace(job.Namespace)); err != nil {
		return nil, err
	}
	all := make([]*corev1.Pod, len(list.Items))
	for i := range list.Items {
		all[i] = &list.Items[i]
	}
	return controllers.ClaimPods(ctx, r.Client, r.APIReader, job, controllerKind, sel, all, TrackingFinalizer)
}

// releaseOrphans removes our finalizer from the pods of a Job that is gone.
func (r *Reconciler) releaseOrphans(ctx context.Context, key types.NamespacedName, _ types.UID) error {
	list := &corev1.PodList{}
	if err := r.Client.List(ctx, list, client.InNamespace(key.Namespace), client.MatchingLabels{JobNameLabel: key.Name}); err != nil {
		return err
	}
	var pods []*corev1.Pod
	for i := range list.Items {
		p := &list.Items[i]
		if hasFinalizer(p) {
			pods = append(pods, p)
		}
	}
	return r.removeFinalizers(ctx, pods)
}

func (r *Reconciler) removeFinalizers(ctx context.Context, pods []*corev1.Pod) error {
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	for _, p := range pods {
		if !hasFinalizer(p) {
			continue
		}
		wg.Go(func() {
			// A JSON patch with a test keeps a concurrent change of the finalizers safe.
			var keep []string
			for _, f := range p.Finalizers {
				if f != TrackingFinalizer {
					keep = append(keep, f)
				}
			}
			patch := client.MergeFromWithOptions(p.DeepCopy(), client.MergeFromWithOptimisticLock{})
			upd := p.DeepCopy()
			upd.Finalizers = keep
			if err := r.Client.Patch(ctx, upd, patch); err != nil && !apierrors.IsNotFound(err) {
				mu.Lock()
				errs = append(errs, fmt.Errorf("removing the finalizer of pod %s/%s: %w", p.Namespace, p.Name, err))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return utilerrors.NewAggregate(errs)
}

func (r *Reconciler) deletePods(ctx context.Context, job *batchv1.Job, pods []*corev1.Pod) error {
	if len(pods) == 0 {
		return nil
	}
	pods = pods[:min(len(pods), BurstPods)]
	key := client.ObjectKeyFromObject(job).String()
	keys := make([]string, len(pods))
	for i, p := range pods {
		keys[i] = client.ObjectKeyFromObject(p).String()
	}
	r.expectations.ExpectDeletions(key, keys)
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	for _, p := range pods {
		wg.Go(func() {
			err := r.Client.Delete(ctx, p.DeepCopy())
			if err != nil {
				r.expectations.DeletionObserved(key, client.ObjectKeyFromObject(p).String())
				if !apierrors.IsNotFound(err) {
					r.Recorder.Eventf(job, corev1.EventTypeWarning, "FailedDelete", "Error deleting: %v", err)
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
				return
			}
			r.Recorder.Eventf(job, corev1.EventTypeNormal, "SuccessfulDelete", "Deleted pod: %v", p.Name)
		})
	}
	wg.Wait()
	return utilerrors.NewAggregate(errs)
}

func (r *Reconciler) createPods(ctx context.Context, job *batchv1.Job, toCreate []PodToCreate) error {
	if len(toCreate) == 0 {
		return nil
	}
	toCreate = toCreate[:min(len(toCreate), BurstPods)]
	key := client.ObjectKeyFromObject(job).String()
	r.expectations.ExpectCreations(key, len(toCreate))
	var mu sync.Mutex
	next := 0
	ok, err := replicaset.SlowStartBatch(len(toCreate), replicaset.SlowStartInitialBatchSize, func() error {
		mu.Lock()
		c := toCreate[next]
		next++
		mu.Unlock()
		pod := PodForJob(job, c)
		if err := r.Client.Create(ctx, pod); err != nil {
			if apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
				return nil
			}
			r.Recorder.Eventf(job, corev1.EventTypeWarning, "FailedCreate", "Error creating: %v", err)
			return err
		}
		r.Recorder.Eventf(job, corev1.EventTypeNormal, "SuccessfulCreate", "Created pod: %v", pod.Name)
		return nil
	})
	for range len(toCreate) - ok {
		r.expectations.CreationObserved(key)
	}
	return err
}

// PodForJob builds a Job's pod: the template with the tracking finalizer and a controller
// reference, and for Indexed Jobs the completion index (label, annotation, JOB_COMPLETION_INDEX,
// hostname <job>-<index>) and the per-index failure counts.
func PodForJob(job *batchv1.Job, c PodToCreate) *corev1.Pod {
	t := job.Spec.Template.DeepCopy()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName:    job.Name + "-",
			Namespace:       job.Namespace,
			Labels:          t.Labels,
			Annotations:     t.Annotations,
			Finalizers:      append(t.Finalizers, TrackingFinalizer),
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(job, controllerKind)},
		},
		Spec: t.Spec,
	}
	if c.Index < 0 {
		return pod
	}
	ix := strconv.Itoa(c.Index)
	pod.GenerateName = job.Name + "-" + ix + "-"
	if pod.Labels == nil {
		pod.Labels = map[string]string{}
	}
	if pod.Annotations == nil {
		pod.Annotations = map[string]string{}
	}
	pod.Labels[CompletionIndexKey] = ix
	pod.Annotations[CompletionIndexKey] = ix
	if job.Spec.BackoffLimitPerIndex != nil {
		pod.Annotations[IndexFailureCountAnnotation] = strconv.Itoa(int(c.FailureCount))
		if c.IgnoredFailureCount > 0 {
			pod.Annotations[IndexIgnoredFailureCountAnnotation] = strconv.Itoa(int(c.IgnoredFailureCount))
		}
	}
	if pod.Spec.Hostname == "" {
		pod.Spec.Hostname = job.Name + "-" + ix
	}
	env := corev1.EnvVar{Name: CompletionIndexEnv, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{
		FieldPath: fmt.Sprintf("metadata.annotations['%s']", CompletionIndexKey)}}}
	for _, list := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for i := range list {
			if !hasEnv(list[i].Env, CompletionIndexEnv) {
				list[i].Env = append(list[i].Env, env)
			}
		}
	}
	return pod
}

func hasEnv(env []corev1.EnvVar, name string) bool {
	for _, e := range env {
		if e.Name == name {
			return true
		}
	}
	return false
}
