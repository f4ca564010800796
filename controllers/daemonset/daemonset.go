package daemonset

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync/atomic"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/util/flowcontrol"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/skiff-dev/skiff/controllers"
	"github.com/skiff-dev/skiff/controllers/history"
	"github.com/skiff-dev/skiff/controllers/replicaset"
)

// ControllerName names the controller and its events' source.
const ControllerName = "daemonset-controller"

// BurstReplicas caps the creates or deletes of one sync, as upstream's.
const BurstReplicas = 250

// Event reasons, as upstream's.
const (
	SelectingAllReason    = "SelectingAll"
	FailedPlacementReason = "FailedPlacement"
	FailedDaemonPodReason = "FailedDaemonPod"
)

var controllerKind = appsv1.SchemeGroupVersion.WithKind("DaemonSet")

// Reconciler runs one pod of each DaemonSet on every eligible node.
type Reconciler struct {
	controllers.Base
	// BurstReplicas caps creates or deletes per sync (default BurstReplicas).
	BurstReplicas int

	expectations *replicaset.Expectations
	failedPods   *flowcontrol.Backoff
	history      *history.History
}

// SetupWithManager fills defaults and registers the controller with mgr.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	opts := r.Complete(mgr, ControllerName)
	r.defaults()
	return ctrl.NewControllerManagedBy(mgr).
		Named("daemonset").
		For(&appsv1.DaemonSet{}).
		Watches(&corev1.Pod{}, r.podHandler()).
		Watches(&corev1.Node{}, &nodeHandler{r: r}).
		Watches(&appsv1.ControllerRevision{}, &revisionHandler{r: r}).
		WithOptions(opts).
		Complete(r)
}

func (r *Reconciler) defaults() {
	if r.BurstReplicas <= 0 {
		r.BurstReplicas = BurstReplicas
	}
	if r.APIReader == nil {
		r.APIReader = r.Client
	}
	if r.expectations == nil {
		r.expectations = replicaset.NewExpectations(r.Clock, replicaset.ExpectationsTimeout)
	}
	if r.failedPods == nil {
		r.failedPods = flowcontrol.NewFakeBackOff(time.Second, 15*time.Minute, r.Clock) // "Fake" only means the clock is given
	}
	if r.history == nil {
		r.history = &history.History{Client: r.Client}
	}
}

// Reconcile syncs one DaemonSet, as upstream's syncDaemonSet.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	r.defaults()
	key := req.String()
	ds := &appsv1.DaemonSet{}
	if err := r.Client.Get(ctx, req.NamespacedName, ds); err != nil {
		if apierrors.IsNotFound(err) {
			r.expectations.Delete(key)
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, fmt.Errorf("reading daemonset: %w", err)
	}
	res, err := r.sync(ctx, key, ds)
	if apierrors.IsConflict(err) {
		// Our view is stale; the newer object's event resyncs it.
		return ctrl.Result{RequeueAfter: 100 * time.Millisecond}, nil
	}
	return res, err
}

func (r *Reconciler) sync(ctx context.Context, key string, ds *appsv1.DaemonSet) (ctrl.Result, error) {
	if ds.Spec.Selector == nil || reflect.DeepEqual(*ds.Spec.Selector, metav1.LabelSelector{}) {
		r.Recorder.Eventf(ds, corev1.EventTypeWarning, SelectingAllReason, "This daemon set is selecting all pods. A non-empty selector is required.")
		return ctrl.Result{}, nil
	}
	// A deleting DaemonSet's revisions may already be gone or orphaned: do nothing, as upstream.
	if ds.DeletionTimestamp != nil {
		return ctrl.Result{}, nil
	}
	nodeList := &corev1.NodeList{}
	if err := r.Client.List(ctx, nodeList); err != nil {
		return ctrl.Result{}, fmt.Errorf("listing nodes: %w", err)
	}
	nodes := make([]*corev1.Node, len(nodeList.Items))
	for i := range nodeList.Items {
		nodes[i] = &nodeList.Items[i]
	}
	cur, old, err := r.constructHistory(ctx, ds)
	if err != nil {
		return ctrl.Result{}, fmt.Errorf("constructing history of daemonset %s: %w", key, err)
	}
	hash := cur.Labels[appsv1.DefaultDaemonSetUniqueLabelKey]

	if !r.expectations.Satisfied(key) {
		// Only the status; observedGeneration stays, as this generation was not acted on.
		return r.updateStatus(ctx, ds, nodes, hash, false)
	}
	retryFailed, syncErr := r.update(ctx, key, ds, nodes, hash, old)
	res, statusErr := r.updateStatus(ctx, ds, nodes, hash, true)
	if syncErr != nil {
		return ctrl.Result{}, syncErr
	}
	if retryFailed > 0 && (res.RequeueAfter == 0 || retryFailed < res.RequeueAfter) {
		res.RequeueAfter = retryFailed
	}
	return res, statusErr
}

// update is upstream's updateDaemonSet: the manage loop, then the rolling update step once
// the manage loop's writes are observed, then history cleanup. It returns when to come back for
// failed pods in back-off.
func (r *Reconciler) update(ctx context.Context, key string, ds *appsv1.DaemonSet, nodes []*corev1.Node, hash string, old []*appsv1.ControllerRevision) (time.Duration, error) {
	nodePods, err := r.nodeToDaemonPods(ctx, ds, false)
	if err != nil {
		return 0, err
	}
	plan := PlanManage(ds, nodes, nodePods, hash, r.Clock.Now())
	failed, retry := r.failedPodsToDelete(ctx, ds, plan.Failed)
	if err := r.syncNodes(ctx, key, ds, append(plan.PodsToDelete, failed...), plan.NodesNeedingPods, hash); err != nil {
		return 0, err
	}
	if r.expectations.Satisfied(key) && ds.Spec.UpdateStrategy.Type == appsv1.RollingUpdateDaemonSetStrategyType {
		nodePods, err := r.nodeToDaemonPods(ctx, ds, false)
		if err != nil {
			return 0, err
		}
		step, err := PlanRollingUpdate(ds, nodes, nodePods, hash, r.Clock.Now())
		if err != nil {
			return 0, fmt.Errorf("rolling update of daemonset %s: %w", key, err)
		}
		if err := r.syncNodes(ctx, key, ds, step.PodsToDelete, step.NodesToCreate, hash); err != nil {
			return 0, err
		}
	}
	if err := r.cleanupHistory(ctx, ds, old); err != nil {
		return 0, fmt.Errorf("failed to clean up revisions of DaemonSet: %w", err)
	}
	return retry, nil
}

// failedPodsToDelete returns the failed pods whose node is out of back-off, with an event for
// each, and the shortest back-off of the others.
func (r *Reconciler) failedPodsToDelete(ctx context.Context, ds *appsv1.DaemonSet, failed []FailedPod) (del []string, retry time.Duration) {
	now := r.Clock.Now()
	for _, f := range failed {
		backoffKey := string(ds.UID) + "/" + f.Node
		if r.failedPods.IsInBackOffSinceUpdate(backoffKey, now) {
			log.FromContext(ctx).V(4).Info("Deleting failed pod on node has been limited by backoff", "pod", f.Pod.Name, "node", f.Node)
			if d := r.failedPods.Get(backoffKey); retry == 0 || d < retry {
				retry = d
			}
			continue
		}
		r.failedPods.Next(backoffKey, now)
		r.Recorder.Eventf(ds, corev1.EventTypeWarning, FailedDaemonPodReason, "Found failed daemon pod %s/%s on node %s, will try to kill it", f.Pod.Namespace, f.Pod.Name, f.Node)
		del = append(del, f.Pod.Name)
	}
	return del, retry
}

// nodeToDaemonPods claims the DaemonSet's pods and groups them by target node.
func (r *Reconciler) nodeToDaemonPods(ctx context.Context, ds *appsv1.DaemonSet, includeDeletedTerminal bool) (NodePods, error) {
	pods, err := r.daemonPods(ctx, ds)
	if err != nil {
		return nil, err
	}
	return GroupByNode(pods, includeDeletedTerminal), nil
}

// daemonPods lists the pods the DaemonSet controls and selects, adopting selected orphans and
// releasing controlled pods it no longer selects.
func (r *Reconciler) daemonPods(ctx context.Context, ds *appsv1.DaemonSet) ([]*corev1.Pod, error) {
	sel, err := metav1.LabelSelectorAsSelector(ds.Spec.Selector)
	if err != nil {
		return nil, fmt.Errorf("daemonset %s/%s has invalid label selector: %w", ds.Namespace, ds.Name, err)
	}
	list := &corev1.PodList{}
	if err := r.Client.List(ctx, list, client.InNamespace(ds.Namespace)); err != nil {
		return nil, fmt.Errorf("listing pods: %w", err)
	}
	all := make([]*corev1.Pod, len(list.Items))
	for i := range list.Items {
		all[i] = &list.Items[i]
	}
	return controllers.ClaimPods(ctx, r.Client, r.APIReader, ds, controllerKind, sel, all)
}

// canAdopt re-reads the DaemonSet from the server before an adoption (controllers.RecheckParent).
func (r *Reconciler) canAdopt(ctx context.Context, ds *appsv1.DaemonSet) error {
	return controllers.RecheckParent(ctx, r.APIReader, ds, controllerKind)
}

// syncNodes deletes podsToDelete and creates a pod of the current revision for each node in
// nodesNeedingPods (in slow-start batches), recording both in the expectations.
func (r *Reconciler) syncNodes(ctx context.Context, key string, ds *appsv1.DaemonSet, podsToDelete, nodesNeedingPods []string, hash string) error {
	if len(podsToDelete) == 0 && len(nodesNeedingPods) == 0 {
		return nil
	}
	createDiff := min(len(nodesNeedingPods), r.BurstReplicas)
	deleteDiff := min(len(podsToDelete), r.BurstReplicas)
	deleteKeys := make([]string, deleteDiff)
	for i := range deleteDiff {
		deleteKeys[i] = ds.Namespace + "/" + podsToDelete[i]
	}
	r.expectations.Expect(key, createDiff, deleteKeys)

	generation, err := TemplateGeneration(ds)
	if err != nil {
		generation = nil
	}
	template := PodTemplate(&ds.Spec.Template, generation, hash)
	var next atomic.Int64
	created, createErr := replicaset.SlowStartBatch(createDiff, replicaset.SlowStartInitialBatchSize, func() error {
		node := nodesNeedingPods[next.Add(1)-1]
		return r.createPod(ctx, ds, template, node)
	})
	for range createDiff - created {
		// Creations that failed or were never issued will never be observed.
		r.expectations.CreationObserved(key)
	}
	var errs []error
	if createErr != nil {
		errs = append(errs, createErr)
	}
	for i := range deleteDiff {
		if err := r.deletePod(ctx, ds, podsToDelete[i]); err != nil {
			r.expectations.DeletionObserved(key, deleteKeys[i])
			if !apierrors.IsNotFound(err) {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// PodTemplate is the template of the DaemonSet's new pods: the daemon tolerations, and the
// template generation and revision hash labels (upstream's CreatePodTemplate).
func PodTemplate(t *corev1.PodTemplateSpec, generation *int64, hash string) *corev1.PodTemplateSpec {
	out := t.DeepCopy()
	AddOrUpdateDaemonPodTolerations(&out.Spec)
	if out.Labels == nil {
		out.Labels = map[string]string{}
	}
	if generation != nil {
		out.Labels[TemplateGenerationLabel] = fmt.Sprint(*generation)
	}
	if hash != "" {
		out.Labels[appsv1.DefaultDaemonSetUniqueLabelKey] = hash
	}
	return out
}

// createPod creates the DaemonSet's pod for node: generateName "<ds>-", the template, a
// controller reference, and a required node affinity naming the node for the scheduler.
func (r *Reconciler) createPod(ctx context.Context, ds *appsv1.DaemonSet, template *corev1.PodTemplateSpec, node string) error {
	t := template.DeepCopy()
	t.Spec.Affinity = ReplaceDaemonSetPodNodeNameNodeAffinity(t.Spec.Affinity, node)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName:    ds.Name + "-",
			Namespace:       ds.Namespace,
			Labels:          t.Labels,
			Annotations:     t.Annotations,
			Finalizers:      t.Finalizers,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(ds, controllerKind)},
		},
		Spec: t.Spec,
	}
	if err := r.Client.Create(ctx, pod); err != nil {
		if apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
			return nil
		}
		r.Recorder.Eventf(ds, corev1.EventTypeWarning, "FailedCreate", "Error creating: %v", err)
		return fmt.Errorf("creating pod for node %s: %w", node, err)
	}
	r.Recorder.Eventf(ds, corev1.EventTypeNormal, "SuccessfulCreate", "Created pod: %v", pod.Name)
	return nil
}

func (r *Reconciler) deletePod(ctx context.Context, ds *appsv1.DaemonSet, name string) error {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ds.Namespace, Name: name}}
	if err := r.Client.Delete(ctx, pod); err != nil {
		if !apierrors.IsNotFound(err) {
			r.Recorder.Eventf(ds, corev1.EventTypeWarning, "FailedDelete", "Error deleting: %v", err)
		}
		return fmt.Errorf("deleting pod %s: %w", name, err)
	}
	r.Recorder.Eventf(ds, corev1.EventTypeNormal, "SuccessfulDelete", "Deleted pod: %v", name)
	return nil
}

// updateStatus writes the counts of CalculateStatus (and with updateObservedGen the
// generation acted on) when they changed, and asks to come back when a ready pod passes
// minReadySeconds.
func (r *Reconciler) updateStatus(ctx context.Context, ds *appsv1.DaemonSet, nodes []*corev1.Node, hash string, updateObservedGen bool) (ctrl.Result, error) {
	nodePods, err := r.nodeToDaemonPods(ctx, ds, false)
	if err != nil {
		return ctrl.Result{}, err
	}
	now := r.Clock.Now()
	st := CalculateStatus(ds, nodes, nodePods, hash, now)
	st.ObservedGeneration = ds.Status.ObservedGeneration
	if updateObservedGen {
		st.ObservedGeneration = ds.Generation
	}
	st.CollisionCount = ds.Status.CollisionCount
	st.Conditions = ds.Status.Conditions
	if !reflect.DeepEqual(st, ds.Status) {
		upd := ds.DeepCopy()
		upd.Status = st
		if err := r.Client.Status().Update(ctx, upd); err != nil {
			return ctrl.Result{}, fmt.Errorf("updating daemonset status: %w", err)
		}
	}
	var result ctrl.Result
	if ds.Spec.MinReadySeconds > 0 && st.NumberReady != st.NumberAvailable {
		result.RequeueAfter = time.Duration(ds.Spec.MinReadySeconds) * time.Second
	}
	if key := client.ObjectKeyFromObject(ds).String(); !r.expectations.Satisfied(key) && result.RequeueAfter == 0 {
		result.RequeueAfter = replicaset.ExpectationsTimeout
	}
	return result, nil
}

// selectorOf is the DaemonSet's selector; nil when invalid.
func selectorOf(ds *appsv1.DaemonSet) labels.Selector {
	sel, err := metav1.LabelSelectorAsSelector(ds.Spec.Selector)
	if err != nil {
		return nil
	}
	return sel
}
