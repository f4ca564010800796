package controllers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
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
// object with childUID (the uid is a precondition), as upstream's adoption; finalizers are
// added with it (the Job controller's tracking finalizer).
func AdoptPatch(parent metav1.Object, parentKind schema.GroupVersionKind, childUID types.UID, finalizers ...string) []byte {
	return fmt.Appendf(nil, `{"metadata":{"ownerReferences":[{"apiVersion":%q,"kind":%q,"name":%q,"uid":%q,"controller":true,"blockOwnerDeletion":true}],%s"uid":%q}}`,
		parentKind.GroupVersion().String(), parentKind.Kind, parent.GetName(), parent.GetUID(), finalizersPatch("finalizers", finalizers), childUID)
}

// ReleasePatch is the strategic merge patch removing parentUID's reference from the object with
// childUID (the uid is a precondition), and finalizers with it.
func ReleasePatch(parentUID, childUID types.UID, finalizers ...string) []byte {
	return fmt.Appendf(nil, `{"metadata":{"ownerReferences":[{"$patch":"delete","uid":%q}],%s"uid":%q}}`,
		parentUID, finalizersPatch("$deleteFromPrimitiveList/finalizers", finalizers), childUID)
}

// finalizersPatch is `"key":[finalizers],` for a patch, or nothing without finalizers.
func finalizersPatch(key string, finalizers []string) string {
	if len(finalizers) == 0 {
		return ""
	}
	b, _ := json.Marshal(finalizers)
	return fmt.Sprintf("%q:%s,", key, b)
}

// RecheckParent re-reads parent (of kind) from the server before an adoption: a stale cache
// must not adopt for a parent that was deleted or replaced.
func RecheckParent(ctx context.Context, reader client.Reader, parent client.Object, kind schema.GroupVersionKind) error {
	fresh := parent.DeepCopyObject().(client.Object)
	if err := reader.Get(ctx, client.ObjectKeyFromObject(parent), fresh); err != nil {
		return fmt.Errorf("rechecking %s before adoption: %w", strings.ToLower(kind.Kind), err)
	}
	if fresh.GetUID() != parent.GetUID() {
		return fmt.Errorf("original %s %s/%s is gone: got uid %s, wanted %s", kind.Kind, parent.GetNamespace(), parent.GetName(), fresh.GetUID(), parent.GetUID())
	}
	if t := fresh.GetDeletionTimestamp(); t != nil {
		return fmt.Errorf("%s/%s has just been deleted at %v", parent.GetNamespace(), parent.GetName(), t)
	}
	return nil
}

// ClaimPods carries out ClaimPlan for parent (of kind) over pods: it adopts the selected orphans
// once RecheckParent allows, releases the owned pods no longer selected, and returns the pods
// the parent owns afterwards. Adoption adds finalizers, release removes them (upstream's
// PodControllerRefManager with finalizers).
func ClaimPods(ctx context.Context, c client.Client, reader client.Reader, parent client.Object, kind schema.GroupVersionKind, sel labels.Selector, pods []*corev1.Pod, finalizers ...string) ([]*corev1.Pod, error) {
	plan := ClaimPlan(parent.GetUID(), parent.GetDeletionTimestamp() != nil, sel, pods)
	owned := plan.Owned
	var errs []error
	if len(plan.Adopt) > 0 {
		if err := RecheckParent(ctx, reader, parent, kind); err != nil {
			errs = append(errs, err)
		} else {
			for _, p := range plan.Adopt {
				patch := client.RawPatch(types.StrategicMergePatchType, AdoptPatch(parent, kind, p.UID, finalizers...))
				if err := c.Patch(ctx, p.DeepCopy(), patch); err != nil {
					if !apierrors.IsNotFound(err) {
						errs = append(errs, fmt.Errorf("adopting pod %s: %w", p.Name, err))
					}
					continue
				}
				owned = append(owned, p)
			}
		}
	}
	for _, p := range plan.Release {
		patch := client.RawPatch(types.StrategicMergePatchType, ReleasePatch(parent.GetUID(), p.UID, finalizers...))
		if err := c.Patch(ctx, p.DeepCopy(), patch); err != nil && !apierrors.IsNotFound(err) && !apierrors.IsInvalid(err) {
			errs = append(errs, fmt.Errorf("releasing pod %s: %w", p.Name, err))
		}
	}
	return owned, errors.Join(errs...)
}
