package replicaset

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/skiff-dev/skiff/controllers"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
)

// ControllerName names the controller, its events' source and its log.
const ControllerName = "replicaset-controller"

// BurstReplicas is upstream's default cap on creates or deletes in one sync.
const BurstReplicas = 500

// SlowStartInitialBatchSize is the first batch of pod creations; batches then double.
const SlowStartInitialBatchSize = 1

// Reconciler keeps each ReplicaSet's pods at spec.replicas.
type Reconciler struct {
	controllers.Base
	// Kind is what it controls; nil is ReplicaSets.
	Kind *Kind
	// Clock is used for availability (minReadySeconds) and expectations; nil is the real clock.
	Clock clock.Clock
	// BurstReplicas caps creates or deletes per sync (default BurstReplicas).
	BurstReplicas int

	expectations *Expectations
	// named remembers, per ReplicaSet, the pods a trace already named as replaced or deleted.
	named storyPods
}

// SetupWithManager fills defaults and registers the controller with mgr.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.Kind == nil {
		r.Kind = ReplicaSets
	}
	opts := r.Complete(mgr, r.Kind.ControllerName)
	r.defaults()
	if err := controllers.IndexPodsByController(context.Background(), mgr.GetFieldIndexer()); err != nil {
		return err
	}
	name := "replicaset"
	if r.Kind != ReplicaSets {
		name = strings.ToLower(r.Kind.GroupVersionKind.Kind)
	}
	return ctrl.NewControllerManagedBy(mgr).
		Named(name).
		For(r.Kind.New(), controllers.TracedFor(name, r.Kind.GroupVersionKind.Kind)).
		Watches(&corev1.Pod{}, controllers.TracedWatch(name, "Pod", r.podHandler())).
		WithOptions(opts).
		Complete(controllers.Traced(name, r.Kind.GroupVersionKind.Kind, r.Client, r.Kind.New, r))
}

func (r *Reconciler) defaults() {
	if r.Kind == nil {
		r.Kind = ReplicaSets
	}
	if r.Clock == nil {
		r.Clock = clock.RealClock{}
	}
	if r.BurstReplicas <= 0 {
		r.BurstReplicas = BurstReplicas
	}
	if r.APIReader == nil {
		r.APIReader = r.Client
	}
	if r.expectations == nil {
		r.expectations = NewExpectations(r.Clock, ExpectationsTimeout)
	}
}

// Reconcile syncs one ReplicaSet.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	r.defaults()
	key := req.String()
	obj := r.Kind.New()
	if err := r.Client.Get(ctx, req.NamespacedName, obj); err != nil {
		if apierrors.IsNotFound(err) {
			r.expectations.Delete(key)
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, err
	}
	rs := r.Kind.ToReplicaSet(obj)
	needsSync := r.expectations.Satisfied(key)
	selector, err := metav1.LabelSelectorAsSelector(rs.Spec.Selector)
	if err != nil || selector.Empty() {
		// Validation forbids this; nothing sensible can be done.
		log.FromContext(ctx).Info("ignoring ReplicaSet with invalid selector", "error", err)
		return ctrl.Result{}, nil
	}
	// The pods it controls and the orphans it may adopt, as upstream's FilterPodsByOwner: the
	// cache's objects (read only), not every pod of the namespace copied.
	all, err := controllers.PodsControlledBy(ctx, r.Client, rs.Namespace, rs.UID)
	if err != nil {
		return ctrl.Result{}, err
	}
	orphans, err := controllers.PodsControlledBy(ctx, r.Client, rs.Namespace, controllers.OrphanPods)
	if err != nil {
		return ctrl.Result{}, err
	}
	all = append(all, orphans...)
	var active []*corev1.Pod
	for _, p := range all {
		if IsPodActive(p) {
			active = append(active, p)
		}
	}
	pods, err := r.claimPods(ctx, rs, selector, active)
	if err != nil {
		return ctrl.Result{}, err
	}

	var manageErr error
	if needsSync && rs.DeletionTimestamp == nil {
		manageErr = r.manageReplicas(ctx, rs, pods, all)
	}

	now := r.Clock.Now()
	terminating := 0
	for _, p := range all {
		if p.DeletionTimestamp != nil && p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed &&
			metav1.IsControlledBy(p, rs) && selector.Matches(labels.Set(p.Labels)) {
			terminating++
		}
	}
	st := CalculateStatus(rs, pods, terminating, manageErr, now)
	st.ObservedGeneration = rs.Generation
	upd := obj.DeepCopyObject().(client.Object)
	r.Kind.SetStatus(upd, st)
	if !reflect.DeepEqual(upd, obj) {
		if err := r.Client.Status().Update(ctx, upd); err != nil {
			if apierrors.IsConflict(err) {
				// A newer ReplicaSet is on its way to the cache; that event resyncs it.
				return ctrl.Result{RequeueAfter: 100 * time.Millisecond}, manageErr
			}
			if !apierrors.IsNotFound(err) {
				return ctrl.Result{}, errors.Join(manageErr, err)
			}
		}
	}
	if manageErr != nil {
		return ctrl.Result{}, manageErr
	}
	// Come back when the next ready pod passes minReadySeconds.
	var after time.Duration
	for _, p := range pods {
		if d := availableIn(p, rs.Spec.MinReadySeconds, now); d > 0 && (after == 0 || d < after) {
			after = d
		}
	}
	if after > 0 {
		after += 100 * time.Millisecond
	}
	if !r.expectations.Satisfied(key) && (after == 0 || after > ExpectationsTimeout) {
		after = ExpectationsTimeout
	}
	return ctrl.Result{RequeueAfter: after}, nil
}

// claimPods returns the pods the ReplicaSet owns and still selects, adopting matching orphans
// and releasing owned pods that no longer match, as upstream's PodControllerRefManager.
func (r *Reconciler) claimPods(ctx context.Context, rs *appsv1.ReplicaSet, sel labels.Selector, pods []*corev1.Pod) ([]*corev1.Pod, error) {
	var claimed []*corev1.Pod
	var errs []error
	var canAdopt *bool
	for _, p := range pods {
		ref := metav1.GetControllerOf(p)
		matches := sel.Matches(labels.Set(p.Labels))
		if ref != nil {
			if ref.UID != rs.UID {
				continue
			}
			if matches {
				claimed = append(claimed, p)
				continue
			}
			if rs.DeletionTimestamp != nil {
				continue
			}
			if err := r.releasePod(ctx, rs, p); err != nil && !apierrors.IsNotFound(err) {
				errs = append(errs, err)
			}
			continue
		}
		if !matches || rs.DeletionTimestamp != nil || p.DeletionTimestamp != nil {
			continue
		}
		if canAdopt == nil {
			ok := r.canAdopt(ctx, rs)
			canAdopt = &ok
		}
		if !*canAdopt {
			continue
		}
		if err := r.adoptPod(ctx, rs, p); err != nil {
			if !apierrors.IsNotFound(err) {
				errs = append(errs, err)
			}
			continue
		}
		claimed = append(claimed, p)
	}
	return claimed, utilerrors.NewAggregate(errs)
}

// canAdopt re-reads the ReplicaSet from the server: a stale cache must not adopt for a
// ReplicaSet that was deleted or replaced.
func (r *Reconciler) canAdopt(ctx context.Context, rs *appsv1.ReplicaSet) bool {
	fresh := r.Kind.New()
	if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(rs), fresh); err != nil {
		return false
	}
	return fresh.GetUID() == rs.UID && fresh.GetDeletionTimestamp() == nil
}

func (r *Reconciler) adoptPod(ctx context.Context, rs *appsv1.ReplicaSet, p *corev1.Pod) error {
	patch := fmt.Sprintf(`{"metadata":{"ownerReferences":[{"apiVersion":%q,"kind":%q,"name":%q,"uid":%q,"controller":true,"blockOwnerDeletion":true}],"uid":%q}}`,
		r.Kind.GroupVersionKind.GroupVersion().String(), r.Kind.GroupVersionKind.Kind, rs.Name, rs.UID, p.UID)
	return r.Client.Patch(ctx, p.DeepCopy(), client.RawPatch(types.StrategicMergePatchType, []byte(patch)))
}

func (r *Reconciler) releasePod(ctx context.Context, rs *appsv1.ReplicaSet, p *corev1.Pod) error {
	patch := fmt.Sprintf(`{"metadata":{"ownerReferences":[{"$patch":"delete","uid":%q}],"uid":%q}}`, rs.UID, p.UID)
	err := r.Client.Patch(ctx, p.DeepCopy(), client.RawPatch(types.StrategicMergePatchType, []byte(patch)))
	if apierrors.IsInvalid(err) {
		// The pod was replaced (uid precondition) or has no such reference any more.
		return nil
	}
	return err
}

// manageReplicas creates or deletes pods so that len(pods) approaches spec.replicas.
func (r *Reconciler) manageReplicas(ctx context.Context, rs *appsv1.ReplicaSet, pods, all []*corev1.Pod) error {
	key := client.ObjectKeyFromObject(rs).String()
	diff := len(pods) - int(replicas(rs))
	switch {
	case diff < 0:
		n := min(-diff, r.BurstReplicas)
		r.expectations.ExpectCreations(key, n)
		var mu sync.Mutex
		var created []types.UID
		ok, err := SlowStartBatch(n, SlowStartInitialBatchSize, func() error {
			uid, err := r.createPod(ctx, rs)
			if uid != "" {
				mu.Lock()
				created = append(created, uid)
				mu.Unlock()
			}
			return err
		})
		r.traceReplacements(ctx, rs, all, created)
		for i := 0; i < n-ok; i++ {
			// Creations that were never issued will never be observed.
			r.expectations.CreationObserved(key)
		}
		return err
	case diff > 0:
		n := min(diff, r.BurstReplicas)
		toDelete := r.podsToDelete(ctx, rs, pods, all, n)
		podKeys := make([]string, len(toDelete))
		for i, p := range toDelete {
			podKeys[i] = client.ObjectKeyFromObject(p).String()
		}
		r.expectations.ExpectDeletions(key, podKeys)
		r.traceDeletions(ctx, rs, toDelete)
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			errs []error
		)
		for _, p := range toDelete {
			wg.Go(func() {
				if err := r.deletePod(ctx, rs, p); err != nil {
					r.expectations.DeletionObserved(key, client.ObjectKeyFromObject(p).String())
					if !apierrors.IsNotFound(err) {
						mu.Lock()
						errs = append(errs, err)
						mu.Unlock()
					}
				}
			})
		}
		wg.Wait()
		return utilerrors.NewAggregate(errs)
	}
	return nil
}

// podsToDelete picks n pods in upstream's preference order, ranking pods higher when more of
// their related pods (same ReplicaSet, or sibling ReplicaSets of the same owner) share the node.
func (r *Reconciler) podsToDelete(ctx context.Context, rs *appsv1.ReplicaSet, pods []*corev1.Pod, all []*corev1.Pod, n int) []*corev1.Pod {
	if n >= len(pods) {
		return pods
	}
	var related []*corev1.Pod
	for _, p := range all {
		if metav1.IsControlledBy(p, rs) {
			related = append(related, p)
		}
	}
	if ref := metav1.GetControllerOf(rs); ref != nil {
		list := r.Kind.NewList()
		if err := r.Client.List(ctx, list, client.InNamespace(rs.Namespace)); err == nil {
			for _, o := range r.Kind.Items(list) {
				if c := metav1.GetControllerOf(o); c != nil && c.UID == ref.UID && o.GetUID() != rs.UID {
					siblings, err := controllers.PodsControlledBy(ctx, r.Client, rs.Namespace, o.GetUID())
					if err == nil {
						related = append(related, siblings...)
					}
				}
			}
		}
	}
	sorted := append([]*corev1.Pod(nil), pods...)
	sort.Sort(rankByRelatedPodsOnSameNode(sorted, related, metav1.NewTime(r.Clock.Now())))
	return sorted[:n]
}

// createPod creates one pod from the template and returns its UID.
func (r *Reconciler) createPod(ctx context.Context, rs *appsv1.ReplicaSet) (types.UID, error) {
	pod, err := podFromTemplate(rs, r.Kind.GroupVersionKind)
	if err != nil {
		return "", err
	}
	if err := r.Client.Create(ctx, pod); err != nil {
		if apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
			return "", nil
		}
		r.Recorder.Eventf(r.Kind.ref(rs), corev1.EventTypeWarning, "FailedCreate", "Error creating: %v", err)
		return "", err
	}
	r.Recorder.Eventf(r.Kind.ref(rs), corev1.EventTypeNormal, "SuccessfulCreate", "Created pod: %v", pod.Name)
	return pod.UID, nil
}

func (r *Reconciler) deletePod(ctx context.Context, rs *appsv1.ReplicaSet, p *corev1.Pod) error {
	if err := r.Client.Delete(ctx, p.DeepCopy()); err != nil {
		if !apierrors.IsNotFound(err) {
			r.Recorder.Eventf(r.Kind.ref(rs), corev1.EventTypeWarning, "FailedDelete", "Error deleting: %v", err)
		}
		return err
	}
	r.Recorder.Eventf(r.Kind.ref(rs), corev1.EventTypeNormal, "SuccessfulDelete", "Deleted pod: %v", p.Name)
	return nil
}

// PodFromTemplate builds the pod a ReplicaSet creates: generateName "<rs>-", the template's
// labels, annotations, finalizers and spec, and a controller reference to the ReplicaSet.
func PodFromTemplate(rs *appsv1.ReplicaSet) (*corev1.Pod, error) {
	return podFromTemplate(rs, ReplicaSets.GroupVersionKind)
}

func podFromTemplate(rs *appsv1.ReplicaSet, owner schema.GroupVersionKind) (*corev1.Pod, error) {
	t := rs.Spec.Template.DeepCopy()
	if len(t.Labels) == 0 {
		return nil, fmt.Errorf("unable to create pods, no labels")
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName:    rs.Name + "-",
			Namespace:       rs.Namespace,
			Labels:          t.Labels,
			Annotations:     t.Annotations,
			Finalizers:      t.Finalizers,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(rs, owner)},
		},
		Spec: t.Spec,
	}, nil
}

// SlowStartBatch calls fn count times in batches of initial, 2*initial, 4*initial, ...
// (each batch in parallel) and stops after the first batch with an error. It returns how many
// calls succeeded and the first error.
func SlowStartBatch(count, initial int, fn func() error) (int, error) {
	remaining := count
	successes := 0
	for batch := min(remaining, initial); batch > 0; batch = min(2*batch, remaining) {
		errCh := make(chan error, batch)
		var wg sync.WaitGroup
		for range batch {
			wg.Go(func() {
				if err := fn(); err != nil {
					errCh <- err
				}
			})
		}
		wg.Wait()
		successes += batch - len(errCh)
		if len(errCh) > 0 {
			return successes, <-errCh
		}
		remaining -= batch
	}
	return successes, nil
}
