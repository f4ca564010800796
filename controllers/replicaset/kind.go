package replicaset

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Kind is what a Reconciler controls, seen as ReplicaSets: apps/v1 ReplicaSets themselves, or
// core/v1 ReplicationControllers (upstream's ReplicationController controller is its ReplicaSet
// controller over a conversion, and so is Skiff's).
type Kind struct {
	GroupVersionKind schema.GroupVersionKind
	// ControllerName names the controller, its events' source and its log.
	ControllerName string
	New            func() client.Object
	NewList        func() client.ObjectList
	// Items returns a list's objects.
	Items func(client.ObjectList) []client.Object
	// ToReplicaSet converts an object (sharing nothing with it).
	ToReplicaSet func(client.Object) *appsv1.ReplicaSet
	// SetStatus writes a ReplicaSet status into an object.
	SetStatus func(client.Object, appsv1.ReplicaSetStatus)
}

// ReplicaSets is the Kind of apps/v1 ReplicaSets.
var ReplicaSets = &Kind{
	GroupVersionKind: appsv1.SchemeGroupVersion.WithKind("ReplicaSet"),
	ControllerName:   ControllerName,
	New:              func() client.Object { return &appsv1.ReplicaSet{} },
	NewList:          func() client.ObjectList { return &appsv1.ReplicaSetList{} },
	Items: func(l client.ObjectList) []client.Object {
		items := l.(*appsv1.ReplicaSetList).Items
		out := make([]client.Object, len(items))
		for i := range items {
			out[i] = &items[i]
		}
		return out
	},
	ToReplicaSet: func(o client.Object) *appsv1.ReplicaSet { return o.(*appsv1.ReplicaSet).DeepCopy() },
	SetStatus:    func(o client.Object, st appsv1.ReplicaSetStatus) { o.(*appsv1.ReplicaSet).Status = st },
}

// ReplicationControllerName names the ReplicationController controller, as upstream's.
const ReplicationControllerName = "replication-controller"

// ReplicationControllers is the Kind of core/v1 ReplicationControllers.
var ReplicationControllers = &Kind{
	GroupVersionKind: corev1.SchemeGroupVersion.WithKind("ReplicationController"),
	ControllerName:   ReplicationControllerName,
	New:              func() client.Object { return &corev1.ReplicationController{} },
	NewList:          func() client.ObjectList { return &corev1.ReplicationControllerList{} },
	Items: func(l client.ObjectList) []client.Object {
		items := l.(*corev1.ReplicationControllerList).Items
		out := make([]client.Object, len(items))
		for i := range items {
			out[i] = &items[i]
		}
		return out
	},
	ToReplicaSet: func(o client.Object) *appsv1.ReplicaSet {
		return replicationControllerToReplicaSet(o.(*corev1.ReplicationController))
	},
	SetStatus: func(o client.Object, st appsv1.ReplicaSetStatus) {
		rc := o.(*corev1.ReplicationController)
		rc.Status = corev1.ReplicationControllerStatus{Replicas: st.Replicas, FullyLabeledReplicas: st.FullyLabeledReplicas,
			ReadyReplicas: st.ReadyReplicas, AvailableReplicas: st.AvailableReplicas, ObservedGeneration: st.ObservedGeneration}
		for _, c := range st.Conditions {
			rc.Status.Conditions = append(rc.Status.Conditions, corev1.ReplicationControllerCondition{
				Type: corev1.ReplicationControllerConditionType(c.Type), Status: c.Status,
				LastTransitionTime: c.LastTransitionTime, Reason: c.Reason, Message: c.Message})
		}
	},
}

func replicationControllerToReplicaSet(rc *corev1.ReplicationController) *appsv1.ReplicaSet {
	rc = rc.DeepCopy()
	rs := &appsv1.ReplicaSet{
		ObjectMeta: rc.ObjectMeta,
		Spec: appsv1.ReplicaSetSpec{Replicas: rc.Spec.Replicas, MinReadySeconds: rc.Spec.MinReadySeconds,
			Selector: &metav1.LabelSelector{MatchLabels: rc.Spec.Selector}},
		Status: appsv1.ReplicaSetStatus{Replicas: rc.Status.Replicas, FullyLabeledReplicas: rc.Status.FullyLabeledReplicas,
			ReadyReplicas: rc.Status.ReadyReplicas, AvailableReplicas: rc.Status.AvailableReplicas, ObservedGeneration: rc.Status.ObservedGeneration},
	}
	if rc.Spec.Template != nil {
		rs.Spec.Template = *rc.Spec.Template
	}
	for _, c := range rc.Status.Conditions {
		rs.Status.Conditions = append(rs.Status.Conditions, appsv1.ReplicaSetCondition{
			Type: appsv1.ReplicaSetConditionType(c.Type), Status: c.Status,
			LastTransitionTime: c.LastTransitionTime, Reason: c.Reason, Message: c.Message})
	}
	return rs
}

// ref is the reference events name: the controlled object in its own kind.
func (k *Kind) ref(rs *appsv1.ReplicaSet) *corev1.ObjectReference {
	return &corev1.ObjectReference{Kind: k.GroupVersionKind.Kind, APIVersion: k.GroupVersionKind.GroupVersion().String(),
		Namespace: rs.Namespace, Name: rs.Name, UID: rs.UID, ResourceVersion: rs.ResourceVersion}
}
