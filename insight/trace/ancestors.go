package trace

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// maxAncestors bounds the walk up the controller chain (a pod, its ReplicaSet, its Deployment,
// and room for a custom controller above).
const maxAncestors = 5

// Ancestors are the UIDs of obj's controller, its controller's controller and so on, nearest
// first: the owners whose own work a trace of obj includes (the "ancestor" parameter of
// /insight/v1/traces), as `skiff trace` and the web page ask for it. owner reads the object a
// controller reference names (in obj's namespace for a namespaced kind); an error ends the walk
// with the UIDs found so far (the reference's UID is kept: its spans are the owner's even when
// the owner cannot be read).
func Ancestors(obj metav1.Object, owner func(ref metav1.OwnerReference, namespace string) (metav1.Object, error)) []string {
	var uids []string
	for cur := obj; cur != nil && len(uids) < maxAncestors; {
		ref := metav1.GetControllerOfNoCopy(cur)
		if ref == nil {
			break
		}
		uids = append(uids, string(ref.UID))
		next, err := owner(*ref, cur.GetNamespace())
		if err != nil {
			break
		}
		cur = next
	}
	return uids
}
