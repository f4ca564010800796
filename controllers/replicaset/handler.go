package replicaset

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/skiff-dev/skiff/controllers"
)

// podHandler maps pod events to the controlled objects (ReplicaSets or ReplicationControllers)
// and records observed creations and deletions in the expectations, as upstream's
// addPod/updatePod/deletePod.
func (r *Reconciler) podHandler() *controllers.PodHandler {
	return &controllers.PodHandler{
		Reader:       r.Client,
		Kind:         r.Kind.GroupVersionKind,
		NewOwner:     r.Kind.New,
		NewOwnerList: r.Kind.NewList,
		Selector:     func(o client.Object) *metav1.LabelSelector { return r.Kind.ToReplicaSet(o).Spec.Selector },
		Observer:     r.expectations,
		Gone:         r.named.gone,
	}
}
