package disruption

import (
	"context"
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// stalePods resets the DisruptionTarget condition of pods an eviction marked but did not delete
// (the delete failed or was refused after the mark), as upstream's syncStalePodDisruption.
type stalePods struct {
	client client.Client
	clock  clock.PassiveClock
}

func (s *stalePods) setup(mgr manager.Manager, opts controller.Options) error {
	marked := predicate.NewPredicateFuncs(func(obj client.Object) bool {
		pod, ok := obj.(*corev1.Pod)
		if !ok {
			return false
		}
		has, _ := StaleDisruption(pod, s.clock.Now())
		return has
	})
	return ctrl.NewControllerManagedBy(mgr).
		Named("disruption-stale-pods").
		For(&corev1.Pod{}, builder.WithPredicates(marked)).
		WithOptions(opts).
		Complete(s)
}

// Reconcile waits until the pod's condition is stale, then sets it to False.
func (s *stalePods) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	pod := &corev1.Pod{}
	if err := s.client.Get(ctx, req.NamespacedName, pod); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	has, wait := StaleDisruption(pod, s.clock.Now())
	if !has {
		return reconcile.Result{}, nil
	}
	if wait > 0 {
		return reconcile.Result{RequeueAfter: wait}, nil
	}
	patch, err := json.Marshal(map[string]any{"status": map[string]any{"conditions": []corev1.PodCondition{{
		Type: corev1.DisruptionTarget, Status: corev1.ConditionFalse, LastTransitionTime: metav1.NewTime(s.clock.Now()),
	}}}})
	if err != nil {
		return reconcile.Result{}, err
	}
	if err := s.client.Status().Patch(ctx, pod, client.RawPatch(types.StrategicMergePatchType, patch)); err != nil {
		return reconcile.Result{}, fmt.Errorf("resetting the DisruptionTarget condition: %w", err)
	}
	log.FromContext(ctx).V(2).Info("Reset stale DisruptionTarget condition to False")
	return reconcile.Result{}, nil
}
