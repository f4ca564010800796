package apps

import (
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/registry/rest"
	"strconv"

	"github.com/skiff-dev/skiff/apiserver/registry"
)

// ReplicaSetKind is apps/v1 replicasets, with status and scale.
var ReplicaSetKind = &registry.Kind{GroupVersion: appsv1.SchemeGroupVersion, Resource: "replicasets", Singular: "replicaset", Namespaced: true,
	ShortNames: []string{"rs"}, Categories: []string{"all"}, Status: true, Generation: true,
	New: func() runtime.Object { return &appsv1.ReplicaSet{} }, NewList: func() runtime.Object { return &appsv1.ReplicaSetList{} },
	Fields: func(obj runtime.Object) fields.Set {
		return fields.Set{"status.replicas": strconv.Itoa(int(obj.(*appsv1.ReplicaSet).Status.Replicas))}
	}}

// DeploymentKind is apps/v1 deployments, with status and scale.
var DeploymentKind = &registry.Kind{GroupVersion: appsv1.SchemeGroupVersion, Resource: "deployments", Singular: "deployment", Namespaced: true,
	ShortNames: []string{"deploy"}, Categories: []string{"all"}, Status: true, Generation: true,
	New: func() runtime.Object { return &appsv1.Deployment{} }, NewList: func() runtime.Object { return &appsv1.DeploymentList{} },
	PrepareForUpdate: func(obj, old runtime.Object) {
		// Annotations are copied to the ReplicaSets, so changing them is a new generation too.
		n, o := obj.(*appsv1.Deployment), old.(*appsv1.Deployment)
		if n.Generation == o.Generation && !apiequality.Semantic.DeepEqual(n.Annotations, o.Annotations) {
			n.Generation = o.Generation + 1
		}
	}}

// DaemonSetKind is apps/v1 daemonsets, with status. A change of the spec is a new generation
// (the generic strategy), as upstream. The internal spec.templateGeneration shows in apps/v1 as
// the deprecated.daemonset.template.generation annotation, which the server keeps as upstream's
// conversion and strategy do: 1 on create unless given, the stored value on update, plus one
// when the template changes.
var DaemonSetKind = &registry.Kind{GroupVersion: appsv1.SchemeGroupVersion, Resource: "daemonsets", Singular: "daemonset", Namespaced: true,
	ShortNames: []string{"ds"}, Categories: []string{"all"}, Status: true, Generation: true,
	New: func() runtime.Object { return &appsv1.DaemonSet{} }, NewList: func() runtime.Object { return &appsv1.DaemonSetList{} },
	PrepareForCreate: func(obj runtime.Object) {
		ds := obj.(*appsv1.DaemonSet)
		setTemplateGeneration(ds, max(templateGeneration(ds), 1))
	},
	PrepareForUpdate: func(obj, old runtime.Object) {
		n, o := obj.(*appsv1.DaemonSet), old.(*appsv1.DaemonSet)
		g := templateGeneration(o)
		if !apiequality.Semantic.DeepEqual(n.Spec.Template, o.Spec.Template) {
			g++
		}
		setTemplateGeneration(n, g)
	},
	PrepareForStatusUpdate: func(obj, old runtime.Object) {
		setTemplateGeneration(obj.(*appsv1.DaemonSet), templateGeneration(old.(*appsv1.DaemonSet)))
	}}

// templateGenerationAnnotation is apps/v1's form of the internal spec.templateGeneration.
const templateGenerationAnnotation = "deprecated.daemonset.template.generation"

// templateGeneration reads the annotation; absent or malformed is 0.
func templateGeneration(ds *appsv1.DaemonSet) int64 {
	g, err := strconv.ParseInt(ds.Annotations[templateGenerationAnnotation], 10, 64)
	if err != nil {
		return 0
	}
	return g
}

func setTemplateGeneration(ds *appsv1.DaemonSet, g int64) {
	if ds.Annotations == nil {
		ds.Annotations = map[string]string{}
	}
	ds.Annotations[templateGenerationAnnotation] = strconv.FormatInt(g, 10)
}

// StatefulSetKind is apps/v1 statefulsets, with status and scale. A change of the spec is a new
// generation (the generic strategy), as upstream.
var StatefulSetKind = &registry.Kind{GroupVersion: appsv1.SchemeGroupVersion, Resource: "statefulsets", Singular: "statefulset", Namespaced: true,
	ShortNames: []string{"sts"}, Categories: []string{"all"}, Status: true, Generation: true,
	New: func() runtime.Object { return &appsv1.StatefulSet{} }, NewList: func() runtime.Object { return &appsv1.StatefulSetList{} }}

// ControllerRevisionKind is apps/v1 controllerrevisions: immutable snapshots of a workload's
// template, without status or generation, as upstream.
var ControllerRevisionKind = &registry.Kind{GroupVersion: appsv1.SchemeGroupVersion, Resource: "controllerrevisions", Singular: "controllerrevision", Namespaced: true,
	New: func() runtime.Object { return &appsv1.ControllerRevision{} }, NewList: func() runtime.Object { return &appsv1.ControllerRevisionList{} }}

// Provider builds apps/v1: replicasets, deployments and statefulsets, each with status and
// scale, daemonsets with status, and controllerrevisions.
type Provider struct{}

func (Provider) GroupName() string { return appsv1.GroupName }

func (Provider) NewRESTStorage(c *registry.Context) (map[string]map[string]rest.Storage, error) {
	m := map[string]rest.Storage{}
	for _, w := range []struct {
		kind        *registry.Kind
		toScale     func(runtime.Object) (*autoscalingv1.Scale, error)
		setReplicas func(runtime.Object, int32)
	}{
		{ReplicaSetKind, replicaSetScale, setReplicaSetReplicas},
		{DeploymentKind, deploymentScale, setDeploymentReplicas},
		{StatefulSetKind, statefulSetScale, setStatefulSetReplicas},
	} {
		st, err := c.NewStorage(w.kind)
		if err != nil {
			return nil, err
		}
		st.Subresources["scale"] = registry.NewScaleREST(st.Store, w.kind, w.toScale, w.setReplicas)
		for path, s := range st.Paths(w.kind) {
			m[path] = s
		}
	}
	for _, k := range []*registry.Kind{DaemonSetKind, ControllerRevisionKind} {
		st, err := c.NewStorage(k)
		if err != nil {
			return nil, err
		}
		for path, s := range st.Paths(k) {
			m[path] = s
		}
	}
	return map[string]map[string]rest.Storage{appsv1.SchemeGroupVersion.Version: m}, nil
}

func replicas(p *int32) int32 {
	if p == nil {
		return 1
	}
	return *p
}

func deploymentScale(obj runtime.Object) (*autoscalingv1.Scale, error) {
	d := obj.(*appsv1.Deployment)
	return registry.NewScale(d.ObjectMeta, replicas(d.Spec.Replicas), d.Status.Replicas, d.Spec.Selector)
}

func replicaSetScale(obj runtime.Object) (*autoscalingv1.Scale, error) {
	rs := obj.(*appsv1.ReplicaSet)
	return registry.NewScale(rs.ObjectMeta, replicas(rs.Spec.Replicas), rs.Status.Replicas, rs.Spec.Selector)
}

func setDeploymentReplicas(obj runtime.Object, n int32) { obj.(*appsv1.Deployment).Spec.Replicas = &n }
func setReplicaSetReplicas(obj runtime.Object, n int32) { obj.(*appsv1.ReplicaSet).Spec.Replicas = &n }

func statefulSetScale(obj runtime.Object) (*autoscalingv1.Scale, error) {
	ss := obj.(*appsv1.StatefulSet)
	return registry.NewScale(ss.ObjectMeta, replicas(ss.Spec.Replicas), ss.Status.Replicas, ss.Spec.Selector)
}

func setStatefulSetReplicas(obj runtime.Object, n int32) {
	obj.(*appsv1.StatefulSet).Spec.Replicas = &n
}
