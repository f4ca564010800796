package registry

import (
	"context"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
)

var (
	core  = corev1.SchemeGroupVersion
	apps  = appsv1.SchemeGroupVersion
	coord = coordinationv1.SchemeGroupVersion
	disco = discoveryv1.SchemeGroupVersion
)

// Kinds lists every resource served from a plain store, in discovery order per group.
var Kinds = []*Kind{
	PodKind,
	{GroupVersion: core, Resource: "nodes", Singular: "node", ShortNames: []string{"no"},
		New: func() runtime.Object { return &corev1.Node{} }, NewList: func() runtime.Object { return &corev1.NodeList{} },
		Status: true, KeepStatusOnCreate: true,
		Fields: func(obj runtime.Object) fields.Set {
			return fields.Set{"spec.unschedulable": strconv.FormatBool(obj.(*corev1.Node).Spec.Unschedulable)}
		}},
	NamespaceKind,
	{GroupVersion: core, Resource: "services", Singular: "service", Namespaced: true, ShortNames: []string{"svc"},
		Categories: []string{"all"}, Status: true,
		New: func() runtime.Object { return &corev1.Service{} }, NewList: func() runtime.Object { return &corev1.ServiceList{} }},
	{GroupVersion: core, Resource: "endpoints", Singular: "endpoints", Namespaced: true, ShortNames: []string{"ep"},
		AllowCreateOnUpdate: true,
		New:                 func() runtime.Object { return &corev1.Endpoints{} }, NewList: func() runtime.Object { return &corev1.EndpointsList{} }},
	{GroupVersion: core, Resource: "events", Singular: "event", Namespaced: true, ShortNames: []string{"ev"},
		AllowCreateOnUpdate: true,
		New:                 func() runtime.Object { return &corev1.Event{} }, NewList: func() runtime.Object { return &corev1.EventList{} },
		Fields: coreEventFields},
	{GroupVersion: core, Resource: "configmaps", Singular: "configmap", Namespaced: true, ShortNames: []string{"cm"},
		New: func() runtime.Object { return &corev1.ConfigMap{} }, NewList: func() runtime.Object { return &corev1.ConfigMapList{} }},
	{GroupVersion: core, Resource: "secrets", Singular: "secret", Namespaced: true,
		New: func() runtime.Object { return &corev1.Secret{} }, NewList: func() runtime.Object { return &corev1.SecretList{} },
		Fields: func(obj runtime.Object) fields.Set {
			return fields.Set{"type": string(obj.(*corev1.Secret).Type)}
		}},
	{GroupVersion: core, Resource: "serviceaccounts", Singular: "serviceaccount", Namespaced: true, ShortNames: []string{"sa"},
		New: func() runtime.Object { return &corev1.ServiceAccount{} }, NewList: func() runtime.Object { return &corev1.ServiceAccountList{} }},
	ResourceQuotaKind,
	LimitRangeKind,
	ReplicaSetKind,
	DeploymentKind,
	{GroupVersion: coord, Resource: "leases", Singular: "lease", Namespaced: true,
		New: func() runtime.Object { return &coordinationv1.Lease{} }, NewList: func() runtime.Object { return &coordinationv1.LeaseList{} }},
	IPAddressKind,
	{GroupVersion: disco, Resource: "endpointslices", Singular: "endpointslice", Namespaced: true, Generation: true,
		New: func() runtime.Object { return &discoveryv1.EndpointSlice{} }, NewList: func() runtime.Object { return &discoveryv1.EndpointSliceList{} }},
	CSRKind,
	ClusterRoleBindingKind, ClusterRoleKind, RoleBindingKind, RoleKind,
}

func coreEventFields(obj runtime.Object) fields.Set {
	e := obj.(*corev1.Event)
	source := e.Source.Component
	if source == "" {
		source = e.ReportingController
	}
	return fields.Set{
		"involvedObject.kind":            e.InvolvedObject.Kind,
		"involvedObject.namespace":       e.InvolvedObject.Namespace,
		"involvedObject.name":            e.InvolvedObject.Name,
		"involvedObject.uid":             string(e.InvolvedObject.UID),
		"involvedObject.apiVersion":      e.InvolvedObject.APIVersion,
		"involvedObject.resourceVersion": e.InvolvedObject.ResourceVersion,
		"involvedObject.fieldPath":       e.InvolvedObject.FieldPath,
		"reason":                         e.Reason,
		"reportingComponent":             e.ReportingController,
		"source":                         source,
		"type":                           e.Type,
	}
}

// ReplicaSetKind is apps/v1 replicasets, with status and scale.
var ReplicaSetKind = &Kind{GroupVersion: apps, Resource: "replicasets", Singular: "replicaset", Namespaced: true,
	ShortNames: []string{"rs"}, Categories: []string{"all"}, Status: true, Generation: true,
	New: func() runtime.Object { return &appsv1.ReplicaSet{} }, NewList: func() runtime.Object { return &appsv1.ReplicaSetList{} },
	Fields: func(obj runtime.Object) fields.Set {
		return fields.Set{"status.replicas": strconv.Itoa(int(obj.(*appsv1.ReplicaSet).Status.Replicas))}
	}}

// DeploymentKind is apps/v1 deployments, with status and scale.
var DeploymentKind = &Kind{GroupVersion: apps, Resource: "deployments", Singular: "deployment", Namespaced: true,
	ShortNames: []string{"deploy"}, Categories: []string{"all"}, Status: true, Generation: true,
	New: func() runtime.Object { return &appsv1.Deployment{} }, NewList: func() runtime.Object { return &appsv1.DeploymentList{} },
	PrepareForUpdate: func(obj, old runtime.Object) {
		// Annotations are copied to the ReplicaSets, so changing them is a new generation too.
		n, o := obj.(*appsv1.Deployment), old.(*appsv1.Deployment)
		if n.Generation == o.Generation && !apiequality.Semantic.DeepEqual(n.Annotations, o.Annotations) {
			n.Generation = o.Generation + 1
		}
	}}

// NamespaceKind is core/v1 namespaces; deletion and finalize are in namespace.go.
var NamespaceKind = &Kind{GroupVersion: core, Resource: "namespaces", Singular: "namespace", ShortNames: []string{"ns"},
	Status: true,
	New:    func() runtime.Object { return &corev1.Namespace{} }, NewList: func() runtime.Object { return &corev1.NamespaceList{} },
	Fields: func(obj runtime.Object) fields.Set {
		return fields.Set{"status.phase": string(obj.(*corev1.Namespace).Status.Phase)}
	},
	PrepareForCreate: func(obj runtime.Object) {
		ns := obj.(*corev1.Namespace)
		ns.Status = corev1.NamespaceStatus{Phase: corev1.NamespaceActive}
		if !hasFinalizer(ns.Spec.Finalizers, corev1.FinalizerKubernetes) {
			ns.Spec.Finalizers = append(ns.Spec.Finalizers, corev1.FinalizerKubernetes)
		}
	},
	// A terminating namespace goes away only when spec.finalizers is empty too, as upstream.
	ShouldDeleteDuringUpdate: func(ctx context.Context, key string, obj, existing runtime.Object) bool {
		ns := obj.(*corev1.Namespace)
		return len(ns.Spec.Finalizers) == 0 && genericregistry.ShouldDeleteDuringUpdate(ctx, key, obj, existing)
	},
	PrepareForUpdate: func(obj, old runtime.Object) {
		// spec.finalizers change only through namespaces/finalize.
		obj.(*corev1.Namespace).Spec.Finalizers = old.(*corev1.Namespace).Spec.Finalizers
	},
}

func hasFinalizer(list []corev1.FinalizerName, f corev1.FinalizerName) bool {
	for _, x := range list {
		if x == f {
			return true
		}
	}
	return false
}

var _ = metav1.Now
