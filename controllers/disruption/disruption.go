package disruption

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/skiff-dev/skiff/controllers"
)

// ControllerName names the controller, its events' source and its log.
const ControllerName = "disruption-controller"

var (
	replicaSetKind = appsv1.SchemeGroupVersion.WithKind("ReplicaSet")
	deploymentKind = appsv1.SchemeGroupVersion.WithKind("Deployment")
)

// Reconciler keeps each PodDisruptionBudget's status: expected and healthy pods, disruptions
// allowed, the DisruptionAllowed condition, and the evictions still pending.
type Reconciler struct {
	controllers.Base
}

// SetupWithManager fills defaults and registers the controller with mgr: budgets are synced
// when they change and when the pods they select do; pods whose DisruptionTarget condition no
// delete followed get it reset after StalePodDisruptionTimeout.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	opts := r.Complete(mgr, ControllerName)
	if err := (&stalePods{client: r.Client, clock: r.Clock}).setup(mgr, opts); err != nil {
		return err
	}
	return ctrl.NewControllerManagedBy(mgr).
		Named("disruption").
		For(&policyv1.PodDisruptionBudget{}).
		Watches(&corev1.Pod{}, handler.EnqueueRequestsFromMapFunc(r.budgetsOfPod)).
		WithOptions(opts).
		Complete(r)
}

// budgetsOfPod maps a pod to the budgets of its namespace that select it.
func (r *Reconciler) budgetsOfPod(ctx context.Context, obj client.Object) []reconcile.Request {
	list := &policyv1.PodDisruptionBudgetList{}
	if err := r.Client.List(ctx, list, client.InNamespace(obj.GetNamespace())); err != nil {
		log.FromContext(ctx).Error(err, "Listing PodDisruptionBudgets for a pod failed", "pod", client.ObjectKeyFromObject(obj))
		return nil
	}
	var out []reconcile.Request
	for i := range list.Items {
		selector, err := metav1.LabelSelectorAsSelector(list.Items[i].Spec.Selector)
		if err != nil || !selector.Matches(labels.Set(obj.GetLabels())) {
			continue
		}
		out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
	}
	return out
}

// Reconcile syncs one budget; when its status cannot be computed it allows no disruption.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	pdb := &policyv1.PodDisruptionBudget{}
	if err := r.Client.Get(ctx, req.NamespacedName, pdb); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	result, err := r.sync(ctx, pdb)
	if err == nil || apierrors.IsConflict(err) {
		return result, err
	}
	log.FromContext(ctx).Error(err, "Failed to sync PDB")
	failed := pdb.DeepCopy()
	failed.Status = FailSafeStatus(pdb, err)
	if err := r.Client.Status().Update(ctx, failed); err != nil {
		return ctrl.Result{}, fmt.Errorf("writing the fail-safe status: %w", err)
	}
	return ctrl.Result{}, nil
}

// sync is upstream's trySync: it counts the budget's pods and writes the status that follows.
func (r *Reconciler) sync(ctx context.Context, pdb *policyv1.PodDisruptionBudget) (ctrl.Result, error) {
	pods, err := r.podsOf(ctx, pdb)
	if err != nil {
		r.Recorder.Eventf(pdb, corev1.EventTypeWarning, "NoPods", "Failed to get pods: %v", err)
		return ctrl.Result{}, err
	}
	if len(pods) == 0 {
		r.Recorder.Event(pdb, corev1.EventTypeNormal, "NoPods", "No matching pods found")
	}
	var scale int32
	if NeedsScale(pdb) {
		var unmanaged []string
		scale, unmanaged, err = r.expectedScale(ctx, pods)
		if err != nil {
			r.Recorder.Eventf(pdb, corev1.EventTypeWarning, "CalculateExpectedPodCountFailed", "Failed to calculate the number of expected pods: %v", err)
			return ctrl.Result{}, err
		}
		if len(unmanaged) > 0 {
			log.FromContext(ctx).V(4).Info("Found unmanaged pods associated with this PDB", "pods", unmanaged)
			r.Recorder.Eventf(pdb, corev1.EventTypeWarning, "UnmanagedPods", "Pods selected by this PodDisruptionBudget (selector: %v) were found "+
				"to be unmanaged. As a result, the status of the PDB cannot be calculated correctly, which may result in undefined behavior. "+
				"To account for these pods please set \".spec.minAvailable\" field of the PDB to an integer value.", pdb.Spec.Selector)
		}
	}
	expected, desired, err := ExpectedAndDesired(pdb, len(pods), scale)
	if err != nil {
		r.Recorder.Eventf(pdb, corev1.EventTypeWarning, "CalculateExpectedPodCountFailed", "Failed to calculate the number of expected pods: %v", err)
		return ctrl.Result{}, err
	}
	now := r.Clock.Now()
	pending, expired, recheck := DisruptedPods(pods, pdb.Status.DisruptedPods, now)
	for _, pod := range expired {
		r.Recorder.Eventf(pod, corev1.EventTypeWarning, "NotDeleted",
			"Pod was expected by PDB %s/%s to be deleted but it wasn't", pdb.Namespace, pdb.Name)
	}
	status, changed := Status(pdb, CountHealthy(pods, pending, now), desired, expected, pending)
	if changed {
		updated := pdb.DeepCopy()
		updated.Status = status
		if err := r.Client.Status().Update(ctx, updated); err != nil {
			return ctrl.Result{}, fmt.Errorf("updating the status: %w", err)
		}
	}
	if recheck != nil {
		return ctrl.Result{RequeueAfter: recheck.Sub(now)}, nil
	}
	return ctrl.Result{}, nil
}

// podsOf lists the pods the budget selects (policy/v1: an empty selector selects every pod of
// the namespace).
func (r *Reconciler) podsOf(ctx context.Context, pdb *policyv1.PodDisruptionBudget) ([]*corev1.Pod, error) {
	selector, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
	if err != nil {
		return nil, fmt.Errorf("selector: %w", err)
	}
	list := &corev1.PodList{}
	if err := r.Client.List(ctx, list, client.InNamespace(pdb.Namespace), client.MatchingLabelsSelector{Selector: selector}); err != nil {
		return nil, fmt.Errorf("listing pods: %w", err)
	}
	pods := make([]*corev1.Pod, 0, len(list.Items))
	for i := range list.Items {
		pods = append(pods, &list.Items[i])
	}
	return pods, nil
}

// expectedScale is upstream's getExpectedScale: the sum of the desired replicas of the
// controllers of the pods, each counted once. Pods without a controller are returned as
// unmanaged; a controller whose scale cannot be found fails the sync.
func (r *Reconciler) expectedScale(ctx context.Context, pods []*corev1.Pod) (int32, []string, error) {
	scales := map[types.UID]int32{}
	var unmanaged []string
	for _, pod := range pods {
		ref := metav1.GetControllerOf(pod)
		if ref == nil {
			unmanaged = append(unmanaged, pod.Name)
			continue
		}
		if _, known := scales[ref.UID]; known {
			continue
		}
		uid, replicas, found, err := r.controllerScale(ctx, pod.Namespace, ref)
		if err != nil {
			return 0, nil, err
		}
		if !found {
			return 0, nil, fmt.Errorf("found no controllers for pod %q", pod.Name)
		}
		scales[uid] = replicas
	}
	var sum int32
	for _, n := range scales {
		sum += n
	}
	return sum, unmanaged, nil
}

// controllerScale finds the controller ref points to and its desired replicas: a ReplicaSet's
// Deployment when it has one (as upstream's finders), otherwise the controller's scale
// subresource (ReplicaSets, ReplicationControllers, StatefulSets, custom resources). found is
// false when the controller is gone, was replaced (another UID) or its kind is not served.
func (r *Reconciler) controllerScale(ctx context.Context, ns string, ref *metav1.OwnerReference) (uid types.UID, replicas int32, found bool, err error) {
	if key := controllers.OwnerKey(ns, ref, replicaSetKind); key != nil {
		rs := &appsv1.ReplicaSet{}
		if err := r.Client.Get(ctx, *key, rs); err != nil {
			return "", 0, false, client.IgnoreNotFound(err)
		}
		if rs.UID != ref.UID {
			return "", 0, false, nil
		}
		if depKey := controllers.OwnerKey(ns, metav1.GetControllerOf(rs), deploymentKind); depKey != nil {
			d := &appsv1.Deployment{}
			err := r.Client.Get(ctx, *depKey, d)
			if err == nil && d.UID == metav1.GetControllerOf(rs).UID {
				return d.UID, desiredReplicas(d.Spec.Replicas), true, nil
			}
			if client.IgnoreNotFound(err) != nil {
				return "", 0, false, err
			}
		}
		return rs.UID, desiredReplicas(rs.Spec.Replicas), true, nil
	}
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	if err != nil {
		return "", 0, false, fmt.Errorf("controller of the pod: %w", err)
	}
	owner := &unstructured.Unstructured{}
	owner.SetGroupVersionKind(gv.WithKind(ref.Kind))
	owner.SetNamespace(ns)
	owner.SetName(ref.Name)
	// The unstructured client reads subresources into unstructured objects only.
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(autoscalingv1.SchemeGroupVersion.WithKind("Scale"))
	if err := r.Client.SubResource("scale").Get(ctx, owner, u); err != nil {
		if meta.IsNoMatchError(err) || apierrors.IsNotFound(err) {
			return "", 0, false, nil
		}
		return "", 0, false, fmt.Errorf("scale of %s %s: %w", ref.Kind, ref.Name, err)
	}
	scale := &autoscalingv1.Scale{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, scale); err != nil {
		return "", 0, false, fmt.Errorf("scale of %s %s: %w", ref.Kind, ref.Name, err)
	}
	if scale.UID != ref.UID {
		return "", 0, false, nil
	}
	return scale.UID, scale.Spec.Replicas, true, nil
}

func desiredReplicas(p *int32) int32 {
	if p == nil {
		return 1
	}
	return *p
}
