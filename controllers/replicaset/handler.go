package replicaset

import (
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/skiff-dev/skiff/controllers"
)

// podHandler maps pod events to ReplicaSets and records observed creations and deletions in
// the expectations, as upstream's addPod/updatePod/deletePod.
func (r *Reconciler) podHandler() *controllers.PodHandler {
	return &controllers.PodHandler{
		Reader:       r.Client,
		Kind:         controllerKind,
		NewOwner:     func() client.Object { return &appsv1.ReplicaSet{} },
		NewOwnerList: func() client.ObjectList { return &appsv1.ReplicaSetList{} },
		Selector:     func(o client.Object) *metav1.LabelSelector { return o.(*appsv1.ReplicaSet).Spec.Selector },
		Observer:     r.expectations,
	}
}
