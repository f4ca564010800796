package core

import (
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/skiff-dev/skiff/apiserver/registry"
)

// ReplicationControllerKind is core/v1 replicationcontrollers, with status and scale.
var ReplicationControllerKind = &registry.Kind{GroupVersion: core, Resource: "replicationcontrollers", Singular: "replicationcontroller", Namespaced: true,
	ShortNames: []string{"rc"}, Categories: []string{"all"}, Status: true, Generation: true,
	New:     func() runtime.Object { return &corev1.ReplicationController{} },
	NewList: func() runtime.Object { return &corev1.ReplicationControllerList{} }}

// PodTemplateKind is core/v1 podtemplates.
var PodTemplateKind = &registry.Kind{GroupVersion: core, Resource: "podtemplates", Singular: "podtemplate", Namespaced: true,
	New: func() runtime.Object { return &corev1.PodTemplate{} }, NewList: func() runtime.Object { return &corev1.PodTemplateList{} }}

// addReplicationControllers builds replicationcontrollers (with status and scale) into m.
func addReplicationControllers(c *registry.Context, m map[string]rest.Storage) error {
	st, err := c.NewStorage(ReplicationControllerKind)
	if err != nil {
		return err
	}
	st.Subresources["scale"] = registry.NewScaleREST(st.Store, ReplicationControllerKind, replicationControllerScale,
		func(obj runtime.Object, n int32) { obj.(*corev1.ReplicationController).Spec.Replicas = &n })
	for path, s := range st.Paths(ReplicationControllerKind) {
		m[path] = s
	}
	return nil
}

func replicationControllerScale(obj runtime.Object) (*autoscalingv1.Scale, error) {
	rc := obj.(*corev1.ReplicationController)
	desired := int32(1)
	if rc.Spec.Replicas != nil {
		desired = *rc.Spec.Replicas
	}
	return registry.NewScale(rc.ObjectMeta, desired, rc.Status.Replicas, &metav1.LabelSelector{MatchLabels: rc.Spec.Selector})
}
