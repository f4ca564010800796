package statefulset

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

var podKind = corev1.SchemeGroupVersion.WithKind("Pod")

// missingClaims tells whether a claim of the pod does not exist yet.
func missingClaims(set *appsv1.StatefulSet, pod *corev1.Pod, existing map[string]*corev1.PersistentVolumeClaim) bool {
	for _, c := range Claims(set, pod) {
		if existing[c.Name] == nil {
			return true
		}
	}
	return false
}

// claimIsStale is upstream's PodClaimIsStale for a pod not yet created: a claim of its ordinal
// still has an owner reference to a pod (the previous one, scaled down with whenScaled Delete),
// so the garbage collector is about to delete it.
func claimIsStale(set *appsv1.StatefulSet, pod *corev1.Pod, existing map[string]*corev1.PersistentVolumeClaim) bool {
	for _, c := range Claims(set, pod) {
		claim := existing[c.Name]
		if claim == nil {
			continue
		}
		for _, ref := range claim.OwnerReferences {
			if ref.Kind == podKind.Kind && ref.APIVersion == podKind.GroupVersion().String() && ref.UID != pod.UID {
				return true
			}
		}
	}
	return false
}

// ClaimOwnerRefs is upstream's updateClaimOwnerRefForSetAndPod: the owner references a claim of
// the pod should have for persistentVolumeClaimRetentionPolicy. whenDeleted Delete makes the set
// an owner (the claim goes with the set); whenScaled Delete makes the pod an owner once it is
// scaled down (the claim goes with the pod). It returns the new references and whether they
// changed.
func ClaimOwnerRefs(set *appsv1.StatefulSet, pod *corev1.Pod, refs []metav1.OwnerReference) ([]metav1.OwnerReference, bool) {
	policy := set.Spec.PersistentVolumeClaimRetentionPolicy
	whenDeleted, whenScaled := appsv1.RetainPersistentVolumeClaimRetentionPolicyType, appsv1.RetainPersistentVolumeClaimRetentionPolicyType
	if policy != nil {
		whenDeleted, whenScaled = policy.WhenDeleted, policy.WhenScaled
	}
	const del = appsv1.DeletePersistentVolumeClaimRetentionPolicyType
	scaledDown := !inOrdinalRange(pod, set)
	wantSet := whenDeleted == del && !(whenScaled == del && scaledDown)
	wantPod := whenScaled == del && scaledDown
	out := append([]metav1.OwnerReference(nil), refs...)
	changed := false
	out, changed = setRef(out, controllerKind, set.Name, set.UID, wantSet, changed)
	out, changed = setRef(out, podKind, pod.Name, pod.UID, wantPod, changed)
	return out, changed
}

// setRef adds (want) or removes the owner reference to uid; an owner of the same kind and name
// but another uid (a previous incarnation) is replaced.
func setRef(refs []metav1.OwnerReference, gvk schema.GroupVersionKind, name string, uid types.UID, want, changed bool) ([]metav1.OwnerReference, bool) {
	apiVersion := gvk.GroupVersion().String()
	found := false
	out := refs[:0]
	for _, r := range refs {
		if r.APIVersion == apiVersion && r.Kind == gvk.Kind && r.Name == name {
			if want && r.UID == uid && !found {
				found = true
				out = append(out, r)
			} else {
				changed = true
			}
			continue
		}
		out = append(out, r)
	}
	if want && !found {
		out = append(out, metav1.OwnerReference{APIVersion: apiVersion, Kind: gvk.Kind, Name: name, UID: uid})
		changed = true
	}
	return out, changed
}

// claimsMatchPolicy tells whether every existing claim of the pod has the owner references of
// the retention policy.
func claimsMatchPolicy(set *appsv1.StatefulSet, pod *corev1.Pod, existing map[string]*corev1.PersistentVolumeClaim) bool {
	for _, c := range Claims(set, pod) {
		if claim := existing[c.Name]; claim != nil {
			if _, changed := ClaimOwnerRefs(set, pod, claim.OwnerReferences); changed {
				return false
			}
		}
	}
	return true
}
