package deployment

import (
	"context"
	"fmt"
	"reflect"
	"time"

	"github.com/skiff-dev/skiff/controllers"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// ControllerName names the controller and its events' source.
const ControllerName = "deployment-controller"

var controllerKind = appsv1.SchemeGroupVersion.WithKind("Deployment")

// Reconciler rolls Deployments out through ReplicaSets.
type Reconciler struct {
	controllers.Base
	// Clock stamps conditions and measures progressDeadlineSeconds; nil is the real clock.
	Clock clock.Clock
}

// SetupWithManager fills defaults and registers the controller with mgr.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	opts := r.Complete(mgr, ControllerName)
	r.defaults()
	return ctrl.NewControllerManagedBy(mgr).
		Named("deployment").
		For(&appsv1.Deployment{}, controllers.TracedFor("deployment", "Deployment")).
		Watches(&appsv1.ReplicaSet{}, controllers.TracedWatch("deployment", "ReplicaSet", &rsHandler{r: r})).
		Watches(&corev1.Pod{}, controllers.TracedWatch("deployment", "Pod", &podHandler{r: r})).
		WithOptions(opts).
		Complete(controllers.Traced("deployment", "Deployment", r.Client, func() client.Object { return &appsv1.Deployment{} }, r))
}

func (r *Reconciler) defaults() {
	if r.Clock == nil {
		r.Clock = clock.RealClock{}
	}
	if r.APIReader == nil {
		r.APIReader = r.Client
	}
}

func (r *Reconciler) now() time.Time { return r.Clock.Now() }

// Reconcile syncs one Deployment, as upstream's syncDeployment.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	r.defaults()
	d := &appsv1.Deployment{}
	if err := r.Client.Get(ctx, req.NamespacedName, d); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	res, err := r.sync(ctx, d)
	if apierrors.IsConflict(err) {
		// Our view is stale; the newer object's event resyncs it.
		return ctrl.Result{RequeueAfter: 100 * time.Millisecond}, nil
	}
	return res, err
}

func (r *Reconciler) sync(ctx context.Context, d *appsv1.Deployment) (ctrl.Result, error) {
	if d.Spec.Selector == nil || reflect.DeepEqual(*d.Spec.Selector, metav1.LabelSelector{}) {
		r.Recorder.Eventf(d, corev1.EventTypeWarning, "SelectingAll", "This deployment is selecting all pods. A non-empty selector is required.")
		if d.Status.ObservedGeneration < d.Generation {
			d.Status.ObservedGeneration = d.Generation
			return ctrl.Result{}, r.Client.Status().Update(ctx, d)
		}
		return ctrl.Result{}, nil
	}
	rsList, err := r.getReplicaSetsForDeployment(ctx, d)
	if err != nil {
		return ctrl.Result{}, err
	}
	if d.DeletionTimestamp != nil {
		newRS, oldRSs, err := r.getAllReplicaSetsAndSyncRevision(ctx, d, rsList, false)
		if err != nil {
			return ctrl.Result{}, err
		}
		return ctrl.Result{}, r.syncDeploymentStatus(ctx, append(oldRSs, newRS), newRS, d)
	}
	if err := r.checkPausedConditions(ctx, d); err != nil {
		return ctrl.Result{}, err
	}
	if d.Spec.Paused {
		return ctrl.Result{}, r.syncScale(ctx, d, rsList)
	}
	scaling, err := r.isScalingEvent(ctx, d, rsList)
	if err != nil {
		return ctrl.Result{}, err
	}
	if scaling {
		return ctrl.Result{}, r.syncScale(ctx, d, rsList)
	}
	switch d.Spec.Strategy.Type {
	case appsv1.RecreateDeploymentStrategyType:
		podMap, err := r.getPodMapForDeployment(ctx, d, rsList)
		if err != nil {
			return ctrl.Result{}, err
		}
		return r.rolloutRecreate(ctx, d, rsList, podMap)
	case appsv1.RollingUpdateDeploymentStrategyType:
		return r.rolloutRolling(ctx, d, rsList)
	}
	return ctrl.Result{}, fmt.Errorf("unexpected deployment strategy type: %s", d.Spec.Strategy.Type)
}

// getReplicaSetsForDeployment lists the ReplicaSets d owns, adopting matching orphans and
// releasing owned ones that no longer match.
func (r *Reconciler) getReplicaSetsForDeployment(ctx context.Context, d *appsv1.Deployment) ([]*appsv1.ReplicaSet, error) {
	list := &appsv1.ReplicaSetList{}
	if err := r.Client.List(ctx, list, client.InNamespace(d.Namespace)); err != nil {
		return nil, err
	}
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil {
		return nil, fmt.Errorf("deployment %s/%s has invalid label selector: %w", d.Namespace, d.Name, err)
	}
	var owned []*appsv1.ReplicaSet
	var errs []error
	var canAdopt *bool
	for i := range list.Items {
		rs := &list.Items[i]
		ref := metav1.GetControllerOf(rs)
		matches := sel.Matches(labels.Set(rs.Labels))
		if ref != nil {
			if ref.UID != d.UID {
				continue
			}
			if matches {
				owned = append(owned, rs)
			} else if d.DeletionTimestamp == nil {
				if err := r.release(ctx, d, rs); err != nil && !apierrors.IsNotFound(err) {
					errs = append(errs, err)
				}
			}
			continue
		}
		if !matches || d.DeletionTimestamp != nil || rs.DeletionTimestamp != nil {
			continue
		}
		if canAdopt == nil {
			fresh := &appsv1.Deployment{}
			ok := r.APIReader.Get(ctx, client.ObjectKeyFromObject(d), fresh) == nil && fresh.UID == d.UID && fresh.DeletionTimestamp == nil
			canAdopt = &ok
		}
		if !*canAdopt {
			continue
		}
		patch := fmt.Sprintf(`{"metadata":{"ownerReferences":[{"apiVersion":%q,"kind":%q,"name":%q,"uid":%q,"controller":true,"blockOwnerDeletion":true}],"uid":%q}}`,
			controllerKind.GroupVersion().String(), controllerKind.Kind, d.Name, d.UID, rs.UID)
		if err := r.Client.Patch(ctx, rs, client.RawPatch(types.StrategicMergePatchType, []byte(patch))); err != nil {
			if !apierrors.IsNotFound(err) {
				errs = append(errs, err)
			}
			continue
		}
		owned = append(owned, rs)
	}
	return owned, utilerrors.NewAggregate(errs)
}

func (r *Reconciler) release(ctx context.Context, d *appsv1.Deployment, rs *appsv1.ReplicaSet) error {
	patch := fmt.Sprintf(`{"metadata":{"ownerReferences":[{"$patch":"delete","uid":%q}],"uid":%q}}`, d.UID, rs.UID)
	err := r.Client.Patch(ctx, rs.DeepCopy(), client.RawPatch(types.StrategicMergePatchType, []byte(patch)))
	if apierrors.IsInvalid(err) {
		return nil
	}
	return err
}

// getPodMapForDeployment groups d's pods by the UID of their owning ReplicaSet.
func (r *Reconciler) getPodMapForDeployment(ctx context.Context, d *appsv1.Deployment, rsList []*appsv1.ReplicaSet) (map[types.UID][]*corev1.Pod, error) {
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil {
		return nil, err
	}
	pods := &corev1.PodList{}
	if err := r.Client.List(ctx, pods, client.InNamespace(d.Namespace), client.MatchingLabelsSelector{Selector: sel}); err != nil {
		return nil, err
	}
	m := map[types.UID][]*corev1.Pod{}
	for _, rs := range rsList {
		m[rs.UID] = nil
	}
	for i := range pods.Items {
		p := &pods.Items[i]
		ref := metav1.GetControllerOf(p)
		if ref == nil {
			continue
		}
		if _, ok := m[ref.UID]; ok {
			m[ref.UID] = append(m[ref.UID], p)
		}
	}
	return m, nil
}

// isScalingEvent reports whether an active ReplicaSet was sized for a different spec.replicas.
func (r *Reconciler) isScalingEvent(ctx context.Context, d *appsv1.Deployment, rsList []*appsv1.ReplicaSet) (bool, error) {
	newRS, oldRSs, err := r.getAllReplicaSetsAndSyncRevision(ctx, d, rsList, false)
	if err != nil {
		return false, err
	}
	for _, rs := range FilterActive(append(oldRSs, newRS)) {
		desired, ok := intAnnotation(rs, DesiredReplicasAnnotation)
		if ok && desired != replicasOf(d.Spec.Replicas) {
			return true, nil
		}
	}
	return false, nil
}

// checkPausedConditions records Progressing=Unknown DeploymentPaused / DeploymentResumed.
func (r *Reconciler) checkPausedConditions(ctx context.Context, d *appsv1.Deployment) error {
	if !HasProgressDeadline(d) {
		return nil
	}
	c := GetCondition(d.Status, appsv1.DeploymentProgressing)
	if c != nil && c.Reason == TimedOutReason {
		return nil
	}
	paused := c != nil && c.Reason == PausedDeployReason
	switch {
	case d.Spec.Paused && !paused:
		SetCondition(&d.Status, NewCondition(appsv1.DeploymentProgressing, corev1.ConditionUnknown, PausedDeployReason, "Deployment is paused", r.now()))
	case !d.Spec.Paused && paused:
		SetCondition(&d.Status, NewCondition(appsv1.DeploymentProgressing, corev1.ConditionUnknown, ResumedDeployReason, "Deployment is resumed", r.now()))
	default:
		return nil
	}
	return r.Client.Status().Update(ctx, d)
}
