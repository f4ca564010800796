package core

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/skiff-dev/skiff/apiserver/registry"
)

// PersistentVolumeClaimKind is core/v1 persistentvolumeclaims with status; the PV controller
// (controllers/persistentvolume) binds them.
var PersistentVolumeClaimKind = &registry.Kind{GroupVersion: core, Resource: "persistentvolumeclaims", Singular: "persistentvolumeclaim", Namespaced: true,
	ShortNames: []string{"pvc"}, Status: true,
	New: func() runtime.Object { return &corev1.PersistentVolumeClaim{} }, NewList: func() runtime.Object { return &corev1.PersistentVolumeClaimList{} },
	// Upstream clears the status on create; its read path then defaults the phase to Pending.
	PrepareForCreate: func(obj runtime.Object) { obj.(*corev1.PersistentVolumeClaim).Status.Phase = corev1.ClaimPending }}

// PersistentVolumeKind is core/v1 persistentvolumes with status, cluster-scoped, stored with
// upstream's validation and defaults so that tools listing volumes (and the conformance suite's
// StatefulSet clean-up) work. The PV controller (controllers/persistentvolume) moves a volume
// through its phases; each phase change stamps status.lastPhaseTransitionTime, as upstream's
// strategy does.
var PersistentVolumeKind = &registry.Kind{GroupVersion: core, Resource: "persistentvolumes", Singular: "persistentvolume",
	ShortNames: []string{"pv"}, Status: true,
	New: func() runtime.Object { return &corev1.PersistentVolume{} }, NewList: func() runtime.Object { return &corev1.PersistentVolumeList{} },
	// Upstream's strategy starts every volume Pending, whatever status was sent.
	PrepareForCreate: func(obj runtime.Object) {
		now := metav1.Now()
		obj.(*corev1.PersistentVolume).Status = corev1.PersistentVolumeStatus{Phase: corev1.VolumePending, LastPhaseTransitionTime: &now}
	},
	PrepareForStatusUpdate: func(obj, old runtime.Object) {
		pv, oldPV := obj.(*corev1.PersistentVolume), old.(*corev1.PersistentVolume)
		if pv.Status.Phase != oldPV.Status.Phase {
			now := metav1.Now()
			pv.Status.LastPhaseTransitionTime = &now
		}
	}}
