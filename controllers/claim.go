package controllers

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

// Claims is what ClaimPlan decides for the objects a controller selects.
type Claims[T metav1.Object] struct {
	// Owned are controlled by the parent and still selected.
	Owned []T
	// Adopt are selected orphans: adopt them (when the parent may), then they are owned.
	Adopt []T
	// Release are controlled by the parent but no longer selected.
	Release []T
}

// ClaimPlan sorts objects as upstream's ControllerRefManager: those of other controllers are
// left alone; a deleting parent neither adopts nor releases; deleting orphans are not adopted.
func ClaimPlan[T metav1.Object](parentUID types.UID, parentDeleting bool, selector labels.Selector, objs []T) Claims[T] {
	var c Claims[T]
	for _, o := range objs {
		matches := selector.Matches(labels.Set(o.GetLabels()))
		ref := metav1.GetControllerOfNoCopy(o)
		switch {
		case ref != nil && ref.UID != parentUID:
		case ref != nil && matches:
			c.Owned = append(c.Owned, o)
		case ref != nil:
			if !parentDeleting {
				c.Release = append(c.Release, o)
			}
		case matches && !parentDeleting && o.GetDeletionTimestamp() == nil:
			c.Adopt = append(c.Adopt, o)
		}
	}
	return c
}

// AdoptPatch is the strategic merge patch making parent (of parentKind) the controller of the
// object with childUID (the uid is a precondition), as upstream's adoption.
func AdoptPatch(parent metav1.Object, parentKind schema.GroupVersionKind, childUID types.UID) []byte {
	return fmt.Appendf(nil, `{"metadata":{"ownerReferences":[{"apiVersion":%q,"kind":%q,"name":%q,"uid":%q,"controller":true,"blockOwnerDeletion":true}],"uid":%q}}`,
		parentKind.GroupVersion().String(), parentKind.Kind, parent.GetName(), parent.GetUID(), childUID)
}

// ReleasePatch is the strategic merge patch removing parentUID's reference from the object with
// childUID (the uid is a precondition).
func ReleasePatch(parentUID, childUID types.UID) []byte {
	return fmt.Appendf(nil, `{"metadata":{"ownerReferences":[{"$patch":"delete","uid":%q}],"uid":%q}}`, parentUID, childUID)
}
