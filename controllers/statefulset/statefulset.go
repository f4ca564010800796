package statefulset

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/skiff-dev/skiff/controllers"
	"github.com/skiff-dev/skiff/controllers/history"
)

// ControllerName names the controller and its events' source.
const ControllerName = "statefulset-controller"

// Reconciler keeps each StatefulSet's ordered, named pods and their claims.
type Reconciler struct {
	controllers.Base
	// Clock judges availability (minReadySeconds); nil is the real clock.
	Clock clock.Clock

	history *history.History
}

// SetupWithManager fills defaults and registers the controller with mgr.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	opts := r.Complete(mgr, ControllerName)
	r.defaults()
	return ctrl.NewControllerManagedBy(mgr).
		Named("statefulset").
		For(&appsv1.StatefulSet{}).
		Watches(&corev1.Pod{}, &controllers.PodHandler{
			Reader:       r.Client,
			Kind:         controllerKind,
			NewOwner:     func() client.Object { return &appsv1.StatefulSet{} },
			NewOwnerList: func() client.ObjectList { return &appsv1.StatefulSetList{} },
			Selector:     func(o client.Object) *metav1.LabelSelector { return o.(*appsv1.StatefulSet).Spec.Selector },
			Observer:     noExpectations{},
		}).
		WithOptions(opts).
		Complete(r)
}

// noExpectations: like upstream, the StatefulSet controller keeps no expectations.
type noExpectations struct{}

func (noExpectations) CreationObserved(string)         {}
func (noExpectations) DeletionObserved(string, string) {}

func (r *Reconciler) defaults() {
	if r.Clock == nil {
		r.Clock = clock.RealClock{}
	}
	if r.APIReader == nil {
		r.APIReader = r.Client
	}
	if r.history == nil {
		r.history = &history.History{Client: r.Client}
	}
}

// Reconcile syncs one StatefulSet, as upstream's sync and UpdateStatefulSet.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	r.defaults()
	set := &appsv1.StatefulSet{}
	if err := r.Client.Get(ctx, req.NamespacedName, set); err != nil {
		if apierrors.IsNotFound(err) {
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, fmt.Errorf("reading statefulset: %w", err)
	}
	res, err := r.sync(ctx, set)
	if apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err) {
		// Our view is stale; the newer object's event resyncs it.
		return ctrl.Result{RequeueAfter: 100 * time.Millisecond}, nil
	}
	return res, err
}

func (r *Reconciler) sync(ctx context.Context, set *appsv1.StatefulSet) (ctrl.Result, error) {
	sel, err := metav1.LabelSelectorAsSelector(set.Spec.Selector)
	if err != nil || sel.Empty() {
		// Validation refuses both; nothing to do, as upstream.
		return ctrl.Result{}, nil
	}
	pods, err := r.claimPods(ctx, set, sel)
	if err != nil {
		return ctrl.Result{}, err
	}
	revisions, err := r.history.ClaimControllerRevisions(ctx, set, controllerKind, sel, func(ctx context.Context) error { return r.canAdopt(ctx, set) })
	if err != nil {
		return ctrl.Result{}, fmt.Errorf("claiming revisions: %w", err)
	}
	history.SortControllerRevisions(revisions)
	current, update, collisions, err := r.revisions(ctx, set, revisions)
	if err != nil {
		return ctrl.Result{}, err
	}
	currentSet, err := ApplyRevision(set, current)
	if err != nil {
		return ctrl.Result{}, err
	}
	updateSet, err := ApplyRevision(set, update)
	if err != nil {
		return ctrl.Result{}, err
	}
	claims, err := r.claims(ctx, set)
	if err != nil {
		return ctrl.Result{}, err
	}
	step := Plan(Input{Set: set, CurrentSet: currentSet, UpdateSet: updateSet, CurrentRevision: current.Name, UpdateRevision: update.Name,
		CollisionCount: collisions, Pods: pods, Claims: claims, Now: r.Clock.Now()})
	actErr := r.act(ctx, set, updateSet, claims, step.Actions)
	CompleteRollingUpdate(set, &step.Status)
	var errs []error
	if actErr != nil {
		errs = append(errs, actErr)
	}
	if err := r.updateStatus(ctx, set, step.Status); err != nil {
		errs = append(errs, err)
	}
	for _, cr := range RevisionsToDelete(set, pods, revisions, current.Name, update.Name) {
		if err := r.history.DeleteControllerRevision(ctx, cr); err != nil {
			errs = append(errs, err)
			break
		}
	}
	var res ctrl.Result
	if set.Spec.MinReadySeconds > 0 && step.Status.AvailableReplicas != replicasOf(set) {
		res.RequeueAfter = time.Duration(set.Spec.MinReadySeconds) * time.Second
	}
	return res, errors.Join(errs...)
}

// revisions is upstream's getStatefulSetRevisions: the update revision is the set's template,
// reusing (and renumbering, for a rollback) an equal revision or creating one; the current
// revision is status.currentRevision, or the update revision at first.
func (r *Reconciler) revisions(ctx context.Context, set *appsv1.StatefulSet, revisions []*appsv1.ControllerRevision) (current, update *appsv1.ControllerRevision, collisions int32, err error) {
	if set.Status.CollisionCount != nil {
		collisions = *set.Status.CollisionCount
	}
	update, err = NewRevision(set, history.NextRevision(revisions), &collisions)
	if err != nil {
		return nil, nil, collisions, err
	}
	equal := history.FindEqualRevisions(revisions, update)
	switch {
	case len(equal) > 0 && history.EqualRevision(revisions[len(revisions)-1], equal[len(equal)-1]):
		update = revisions[len(revisions)-1]
	case len(equal) > 0:
		if update, err = r.history.UpdateControllerRevision(ctx, equal[len(equal)-1], update.Revision); err != nil {
			return nil, nil, collisions, err
		}
	default:
		if update, err = r.history.CreateControllerRevision(ctx, set, update, &collisions); err != nil {
			return nil, nil, collisions, err
		}
	}
	for _, cr := range revisions {
		if cr.Name == set.Status.CurrentRevision {
			current = cr
			break
		}
	}
	if current == nil {
		current = update
	}
	return current, update, collisions, nil
}

// claimPods lists the pods the set controls, adopting orphans it selects whose names make them
// its members and releasing controlled pods it no longer selects.
func (r *Reconciler) claimPods(ctx context.Context, set *appsv1.StatefulSet, sel labels.Selector) ([]*corev1.Pod, error) {
	list := &corev1.PodList{}
	if err := r.Client.List(ctx, list, client.InNamespace(set.Namespace)); err != nil {
		return nil, fmt.Errorf("listing pods: %w", err)
	}
	var all []*corev1.Pod
	for i := range list.Items {
		p := &list.Items[i]
		if ref := metav1.GetControllerOfNoCopy(p); (ref != nil && ref.UID == set.UID) || IsMemberOf(set, p) {
			all = append(all, p)
		}
	}
	return controllers.ClaimPods(ctx, r.Client, r.APIReader, set, controllerKind, sel, all)
}

// canAdopt re-reads the StatefulSet from the server before an adoption (controllers.RecheckParent).
func (r *Reconciler) canAdopt(ctx context.Context, set *appsv1.StatefulSet) error {
	return controllers.RecheckParent(ctx, r.APIReader, set, controllerKind)
}

// claims returns the namespace's claims by name when the set has claim templates.
func (r *Reconciler) claims(ctx context.Context, set *appsv1.StatefulSet) (map[string]*corev1.PersistentVolumeClaim, error) {
	out := map[string]*corev1.PersistentVolumeClaim{}
	if len(set.Spec.VolumeClaimTemplates) == 0 {
		return out, nil
	}
	list := &corev1.PersistentVolumeClaimList{}
	if err := r.APIReader.List(ctx, list, client.InNamespace(set.Namespace)); err != nil {
		return nil, fmt.Errorf("listing persistentvolumeclaims: %w", err)
	}
	for i := range list.Items {
		out[list.Items[i].Name] = &list.Items[i]
	}
	return out, nil
}

// act performs the plan's actions in order, stopping at the first error.
func (r *Reconciler) act(ctx context.Context, set, updateSet *appsv1.StatefulSet, claims map[string]*corev1.PersistentVolumeClaim, actions []Action) error {
	for _, a := range actions {
		var err error
		switch a.Type {
		case Create:
			if err = r.createClaims(ctx, set, a.Pod, claims); err == nil {
				err = r.createPod(ctx, set, a.Pod)
			}
		case CreateClaims:
			err = r.createClaims(ctx, set, a.Pod, claims)
		case Delete:
			err = r.deletePod(ctx, set, a.Pod)
		case UpdateIdentity:
			err = r.updatePod(ctx, updateSet, a.Pod, claims)
		case FixClaims:
			err = r.fixClaims(ctx, updateSet, a.Pod, claims)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// createClaims creates the pod's missing claims, with the retention policy's owner references.
func (r *Reconciler) createClaims(ctx context.Context, set *appsv1.StatefulSet, pod *corev1.Pod, existing map[string]*corev1.PersistentVolumeClaim) error {
	for _, c := range Claims(set, pod) {
		if cur := existing[c.Name]; cur != nil {
			if cur.DeletionTimestamp != nil {
				return fmt.Errorf("pvc %s is being deleted", c.Name)
			}
			continue
		}
		claim := c.DeepCopy()
		claim.OwnerReferences, _ = ClaimOwnerRefs(set, pod, claim.OwnerReferences)
		if err := r.Client.Create(ctx, claim); err != nil && !apierrors.IsAlreadyExists(err) {
			r.Recorder.Eventf(set, corev1.EventTypeWarning, "FailedCreate", "create Claim %s for Pod %s in StatefulSet %s failed error: %s", claim.Name, pod.Name, set.Name, err)
			return fmt.Errorf("creating claim %s: %w", claim.Name, err)
		}
		existing[claim.Name] = claim
		r.Recorder.Eventf(set, corev1.EventTypeNormal, "SuccessfulCreate", "create Claim %s Pod %s in StatefulSet %s success", claim.Name, pod.Name, set.Name)
	}
	return nil
}

func (r *Reconciler) createPod(ctx context.Context, set *appsv1.StatefulSet, pod *corev1.Pod) error {
	p := pod.DeepCopy()
	if err := r.Client.Create(ctx, p); err != nil {
		if apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
			return nil
		}
		if !apierrors.IsAlreadyExists(err) {
			r.Recorder.Eventf(set, corev1.EventTypeWarning, "FailedCreate", "create Pod %s in StatefulSet %s failed error: %s", p.Name, set.Name, err)
		}
		return fmt.Errorf("creating pod %s: %w", p.Name, err)
	}
	r.Recorder.Eventf(set, corev1.EventTypeNormal, "SuccessfulCreate", "create Pod %s in StatefulSet %s successful", p.Name, set.Name)
	return nil
}

func (r *Reconciler) deletePod(ctx context.Context, set *appsv1.StatefulSet, pod *corev1.Pod) error {
	uid := pod.UID
	err := r.Client.Delete(ctx, pod.DeepCopy(), client.Preconditions{UID: &uid})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		r.Recorder.Eventf(set, corev1.EventTypeWarning, "FailedDelete", "delete Pod %s in StatefulSet %s failed error: %s", pod.Name, set.Name, err)
		return fmt.Errorf("deleting pod %s: %w", pod.Name, err)
	}
	r.Recorder.Eventf(set, corev1.EventTypeNormal, "SuccessfulDelete", "delete Pod %s in StatefulSet %s successful", pod.Name, set.Name)
	return nil
}

// updatePod restores the pod's identity and storage (creating missing claims), as upstream's
// UpdateStatefulPod.
func (r *Reconciler) updatePod(ctx context.Context, set *appsv1.StatefulSet, pod *corev1.Pod, claims map[string]*corev1.PersistentVolumeClaim) error {
	p := pod.DeepCopy()
	updateIdentity(set, p)
	if !storageMatches(set, p) {
		updateStorage(set, p)
		if err := r.createClaims(ctx, set, p, claims); err != nil {
			return err
		}
	}
	if err := r.Client.Update(ctx, p); err != nil {
		r.Recorder.Eventf(set, corev1.EventTypeWarning, "FailedUpdate", "update Pod %s in StatefulSet %s failed error: %s", p.Name, set.Name, err)
		return fmt.Errorf("updating pod %s: %w", p.Name, err)
	}
	r.Recorder.Eventf(set, corev1.EventTypeNormal, "SuccessfulUpdate", "update Pod %s in StatefulSet %s successful", p.Name, set.Name)
	return r.fixClaims(ctx, set, p, claims)
}

// fixClaims sets the retention policy's owner references on the pod's existing claims.
func (r *Reconciler) fixClaims(ctx context.Context, set *appsv1.StatefulSet, pod *corev1.Pod, existing map[string]*corev1.PersistentVolumeClaim) error {
	for _, c := range Claims(set, pod) {
		cur := existing[c.Name]
		if cur == nil {
			continue
		}
		refs, changed := ClaimOwnerRefs(set, pod, cur.OwnerReferences)
		if !changed {
			continue
		}
		upd := cur.DeepCopy()
		upd.OwnerReferences = refs
		if err := r.Client.Update(ctx, upd); err != nil {
			return fmt.Errorf("updating owner references of claim %s: %w", c.Name, err)
		}
		log.FromContext(ctx).V(4).Info("Updated claim owner references for the retention policy", "claim", c.Name, "pod", pod.Name)
	}
	return nil
}

// updateStatus writes status when it differs in what upstream's inconsistentStatus compares.
func (r *Reconciler) updateStatus(ctx context.Context, set *appsv1.StatefulSet, status appsv1.StatefulSetStatus) error {
	status.Conditions = set.Status.Conditions
	if reflect.DeepEqual(status, set.Status) {
		return nil
	}
	upd := set.DeepCopy()
	upd.Status = status
	if err := r.Client.Status().Update(ctx, upd); err != nil {
		return fmt.Errorf("updating statefulset status: %w", err)
	}
	return nil
}
