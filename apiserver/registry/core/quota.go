package core

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/skiff-dev/skiff/apiserver/registry"
)

// ResourceQuotaKind is core/v1 resourcequotas with status: the quota controller and the
// ResourceQuota admission plugin write status.used through it.
var ResourceQuotaKind = &registry.Kind{GroupVersion: core, Resource: "resourcequotas", Singular: "resourcequota", Namespaced: true,
	ShortNames: []string{"quota"}, Status: true,
	New: func() runtime.Object { return &corev1.ResourceQuota{} }, NewList: func() runtime.Object { return &corev1.ResourceQuotaList{} }}

// LimitRangeKind is core/v1 limitranges, read by the LimitRanger admission plugin.
var LimitRangeKind = &registry.Kind{GroupVersion: core, Resource: "limitranges", Singular: "limitrange", Namespaced: true,
	ShortNames: []string{"limits"},
	New:        func() runtime.Object { return &corev1.LimitRange{} }, NewList: func() runtime.Object { return &corev1.LimitRangeList{} }}
