package history

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/skiff-dev/skiff/controllers"
)

// maxCollisions bounds CreateControllerRevision's renaming loop.
const maxCollisions = 100

// History reads and writes a parent's ControllerRevisions through the API.
type History struct {
	// Client lists from the cache and writes to the API server.
	Client client.Client
}

// ListControllerRevisions lists the revisions in parent's namespace that match selector and
// are controlled by parent or by nothing.
func (h *History) ListControllerRevisions(ctx context.Context, parent metav1.Object, selector labels.Selector) ([]*appsv1.ControllerRevision, error) {
	list := &appsv1.ControllerRevisionList{}
	if err := h.Client.List(ctx, list, client.InNamespace(parent.GetNamespace()), client.MatchingLabelsSelector{Selector: selector}); err != nil {
		return nil, fmt.Errorf("listing controller revisions: %w", err)
	}
	var owned []*appsv1.ControllerRevision
	for i := range list.Items {
		ref := metav1.GetControllerOfNoCopy(&list.Items[i])
		if ref == nil || ref.UID == parent.GetUID() {
			owned = append(owned, &list.Items[i])
		}
	}
	return owned, nil
}

// ClaimControllerRevisions lists every revision of parent's namespace and returns those parent
// controls and selects, adopting selected orphans (when canAdopt, called at most once, allows)
// and releasing controlled ones it no longer selects.
func (h *History) ClaimControllerRevisions(ctx context.Context, parent metav1.Object, parentKind schema.GroupVersionKind,
	selector labels.Selector, canAdopt func(context.Context) error) ([]*appsv1.ControllerRevision, error) {
	list := &appsv1.ControllerRevisionList{}
	if err := h.Client.List(ctx, list, client.InNamespace(parent.GetNamespace())); err != nil {
		return nil, fmt.Errorf("listing controller revisions: %w", err)
	}
	all := make([]*appsv1.ControllerRevision, len(list.Items))
	for i := range list.Items {
		all[i] = &list.Items[i]
	}
	plan := controllers.ClaimPlan(parent.GetUID(), parent.GetDeletionTimestamp() != nil, selector, all)
	owned := plan.Owned
	var errs []error
	if len(plan.Adopt) > 0 {
		if err := canAdopt(ctx); err != nil {
			errs = append(errs, fmt.Errorf("can't adopt ControllerRevisions: %w", err))
		} else {
			for _, r := range plan.Adopt {
				adopted, err := h.AdoptControllerRevision(ctx, parent, parentKind, r)
				if err != nil {
					if !apierrors.IsNotFound(err) {
						errs = append(errs, err)
					}
					continue
				}
				owned = append(owned, adopted)
			}
		}
	}
	for _, r := range plan.Release {
		if err := h.ReleaseControllerRevision(ctx, parent, r); err != nil {
			errs = append(errs, err)
		}
	}
	return owned, errors.Join(errs...)
}

// CreateControllerRevision creates revision under the name "<parent>-<hash>"; when another
// revision holds that name with other data, it bumps *collisionCount and tries the next name.
// An existing revision with the same data is returned as is.
func (h *History) CreateControllerRevision(ctx context.Context, parent metav1.Object, revision *appsv1.ControllerRevision, collisionCount *int32) (*appsv1.ControllerRevision, error) {
	if collisionCount == nil {
		return nil, errors.New("collisionCount should not be nil")
	}
	clone := revision.DeepCopy()
	clone.Namespace = parent.GetNamespace()
	for range maxCollisions {
		hash := HashControllerRevision(revision, collisionCount)
		clone.Name = ControllerRevisionName(parent.GetName(), hash)
		if clone.Labels == nil {
			clone.Labels = map[string]string{}
		}
		clone.Labels[ControllerRevisionHashLabel] = hash
		clone.ResourceVersion = ""
		err := h.Client.Create(ctx, clone)
		if err == nil {
			return clone, nil
		}
		if !apierrors.IsAlreadyExists(err) {
			return nil, fmt.Errorf("creating controller revision %s: %w", clone.Name, err)
		}
		exists := &appsv1.ControllerRevision{}
		if err := h.Client.Get(ctx, client.ObjectKeyFromObject(clone), exists); err != nil {
			return nil, fmt.Errorf("reading controller revision %s: %w", clone.Name, err)
		}
		if bytes.Equal(exists.Data.Raw, clone.Data.Raw) {
			return exists, nil
		}
		*collisionCount++
	}
	return nil, fmt.Errorf("creating controller revision of %s: %d name collisions", parent.GetName(), maxCollisions)
}

// UpdateControllerRevision sets the revision number, retrying on conflicts.
func (h *History) UpdateControllerRevision(ctx context.Context, revision *appsv1.ControllerRevision, newRevision int64) (*appsv1.ControllerRevision, error) {
	clone := revision.DeepCopy()
	err := retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		if clone.Revision == newRevision {
			return nil
		}
		clone.Revision = newRevision
		err := h.Client.Update(ctx, clone)
		if apierrors.IsConflict(err) {
			fresh := &appsv1.ControllerRevision{}
			if getErr := h.Client.Get(ctx, client.ObjectKeyFromObject(clone), fresh); getErr == nil {
				clone = fresh
			}
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("updating controller revision %s: %w", revision.Name, err)
	}
	return clone, nil
}

// DeleteControllerRevision deletes revision; one already gone is no error.
func (h *History) DeleteControllerRevision(ctx context.Context, revision *appsv1.ControllerRevision) error {
	if err := h.Client.Delete(ctx, revision.DeepCopy()); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting controller revision %s: %w", revision.Name, err)
	}
	return nil
}

// AdoptControllerRevision makes parent the controller of an orphan revision (a strategic merge
// patch with a uid precondition, as upstream).
func (h *History) AdoptControllerRevision(ctx context.Context, parent metav1.Object, parentKind schema.GroupVersionKind, revision *appsv1.ControllerRevision) (*appsv1.ControllerRevision, error) {
	if owner := metav1.GetControllerOfNoCopy(revision); owner != nil {
		return nil, fmt.Errorf("attempt to adopt revision owned by %v", owner)
	}
	adopted := revision.DeepCopy()
	patch := client.RawPatch(types.StrategicMergePatchType, controllers.AdoptPatch(parent, parentKind, revision.UID))
	if err := h.Client.Patch(ctx, adopted, patch); err != nil {
		return nil, fmt.Errorf("adopting controller revision %s: %w", revision.Name, err)
	}
	return adopted, nil
}

// ReleaseControllerRevision removes parent's reference from revision; a revision gone or no
// longer parent's is no error.
func (h *History) ReleaseControllerRevision(ctx context.Context, parent metav1.Object, revision *appsv1.ControllerRevision) error {
	patch := client.RawPatch(types.StrategicMergePatchType, controllers.ReleasePatch(parent.GetUID(), revision.UID))
	err := h.Client.Patch(ctx, revision.DeepCopy(), patch)
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsInvalid(err) {
		return fmt.Errorf("releasing controller revision %s: %w", revision.Name, err)
	}
	return nil
}
