package core

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/skiff-dev/skiff/apiserver/registry"
)

// PersistentVolumeClaimKind is core/v1 persistentvolumeclaims with status, served as a plain kind
// so that StatefulSets can create their claims. Nothing binds them yet: there is no volume
// binder and no provisioner, so a claim stays Pending (the storage work).
var PersistentVolumeClaimKind = &registry.Kind{GroupVersion: core, Resource: "persistentvolumeclaims", Singular: "persistentvolumeclaim", Namespaced: true,
	ShortNames: []string{"pvc"}, Status: true,
	New: func() runtime.Object { return &corev1.PersistentVolumeClaim{} }, NewList: func() runtime.Object { return &corev1.PersistentVolumeClaimList{} },
	// Upstream clears the status on create; its read path then defaults the phase to Pending.
	PrepareForCreate: func(obj runtime.Object) { obj.(*corev1.PersistentVolumeClaim).Status.Phase = corev1.ClaimPending }}

// PersistentVolumeKind is core/v1 persistentvolumes with status, cluster-scoped, stored with
// upstream's validation and defaults so that tools listing volumes (and the conformance suite's
// StatefulSet clean-up) work. Nothing binds or provisions them yet (the storage work): a volume
// stays Pending until the binder comes.
var PersistentVolumeKind = &registry.Kind{GroupVersion: core, Resource: "persistentvolumes", Singular: "persistentvolume",
	ShortNames: []string{"pv"}, Status: true,
	New: func() runtime.Object { return &corev1.PersistentVolume{} }, NewList: func() runtime.Object { return &corev1.PersistentVolumeList{} },
	// Upstream's strategy starts every volume Pending, whatever status was sent.
	PrepareForCreate: func(obj runtime.Object) {
		now := metav1.Now()
		obj.(*corev1.PersistentVolume).Status = corev1.PersistentVolumeStatus{Phase: corev1.VolumePending, LastPhaseTransitionTime: &now}
	}}
