package ephemeral

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/component-helpers/storage/ephemeral"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	"github.com/skiff-dev/skiff/controllers"
)

// ControllerName names the controller, its events and its log.
const ControllerName = "ephemeral-volume-controller"

// Reconciler creates the claims of pods' generic ephemeral volumes.
type Reconciler struct {
	controllers.Base
}

// SetupWithManager registers the controller with mgr; it looks only at pods with an ephemeral
// volume.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	opts := r.Complete(mgr, ControllerName)
	hasEphemeral := predicate.NewPredicateFuncs(func(o client.Object) bool {
		pod, ok := o.(*corev1.Pod)
		return ok && len(ephemeralVolumes(pod)) > 0
	})
	return ctrl.NewControllerManagedBy(mgr).Named("ephemeral-volume").
		For(&corev1.Pod{}, builder.WithPredicates(hasEphemeral)).
		Owns(&corev1.PersistentVolumeClaim{}).WithOptions(opts).Complete(r)
}

func ephemeralVolumes(pod *corev1.Pod) []*corev1.Volume {
	var out []*corev1.Volume
	for i := range pod.Spec.Volumes {
		if pod.Spec.Volumes[i].Ephemeral != nil {
			out = append(out, &pod.Spec.Volumes[i])
		}
	}
	return out
}

// ClaimFor is the claim of a pod's ephemeral volume: the template's metadata and spec, named
// "<pod>-<volume>", controlled by the pod (which blocks its deletion in foreground).
func ClaimFor(pod *corev1.Pod, vol *corev1.Volume) *corev1.PersistentVolumeClaim {
	t := vol.Ephemeral.VolumeClaimTemplate
	return &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{
			Name: ephemeral.VolumeClaimName(pod, vol), Namespace: pod.Namespace,
			Labels: t.Labels, Annotations: t.Annotations,
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "Pod", Name: pod.Name, UID: pod.UID,
				Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true)}},
		},
		Spec: *t.Spec.DeepCopy(),
	}
}

// Reconcile creates the missing claims of one pod.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	pod := &corev1.Pod{}
	if err := r.Client.Get(ctx, req.NamespacedName, pod); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if pod.DeletionTimestamp != nil {
		return ctrl.Result{}, nil
	}
	for _, vol := range ephemeralVolumes(pod) {
		want := ClaimFor(pod, vol)
		have := &corev1.PersistentVolumeClaim{}
		err := r.Client.Get(ctx, client.ObjectKeyFromObject(want), have)
		switch {
		case err == nil:
			if err := ephemeral.VolumeIsForPod(pod, have); err != nil {
				return ctrl.Result{}, err
			}
			continue
		case !apierrors.IsNotFound(err):
			return ctrl.Result{}, err
		}
		if err := r.Client.Create(ctx, want); err != nil && !apierrors.IsAlreadyExists(err) {
			return ctrl.Result{}, fmt.Errorf("create PVC %s: %w", want.Name, err)
		}
	}
	return ctrl.Result{}, nil
}
