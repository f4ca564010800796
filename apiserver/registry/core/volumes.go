package core

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/skiff-dev/skiff/apiserver/registry"
)

// PersistentVolumeClaimKind is core/v1 persistentvolumeclaims with status, served as a plain kind
// so that StatefulSets can create their claims. Nothing binds them yet: there are no
// persistentvolumes and no provisioner, so a claim stays Pending (the storage work).
var PersistentVolumeClaimKind = &registry.Kind{GroupVersion: core, Resource: "persistentvolumeclaims", Singular: "persistentvolumeclaim", Namespaced: true,
	ShortNames: []string{"pvc"}, Status: true,
	New: func() runtime.Object { return &corev1.PersistentVolumeClaim{} }, NewList: func() runtime.Object { return &corev1.PersistentVolumeClaimList{} },
	// Upstream clears the status on create; its read path then defaults the phase to Pending.
	PrepareForCreate: func(obj runtime.Object) { obj.(*corev1.PersistentVolumeClaim).Status.Phase = corev1.ClaimPending }}
