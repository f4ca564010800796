package garbagecollector

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/metadata"
)

// errInvalidReference: a namespaced object looked up without a namespace.
var errInvalidReference = errors.New("namespaced object referenced from a cluster-scoped one")

// resolve maps an object's apiVersion and kind to its resource and scope.
func (gc *GarbageCollector) resolve(apiVersion, kind string) (schema.GroupVersionResource, bool, error) {
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil {
		return schema.GroupVersionResource{}, false, fmt.Errorf("parsing apiVersion %q: %w", apiVersion, err)
	}
	m, err := gc.mapper.RESTMapping(schema.GroupKind{Group: gv.Group, Kind: kind}, gv.Version)
	if err != nil {
		return schema.GroupVersionResource{}, false, fmt.Errorf("mapping %s %s: %w", apiVersion, kind, err)
	}
	return m.Resource, m.Scope.Name() == meta.RESTScopeNameNamespace, nil
}

// client returns the metadata client for an object, or errInvalidReference.
func (gc *GarbageCollector) client(id objectReference) (metadata.ResourceInterface, error) {
	gvr, namespaced, err := gc.resolve(id.APIVersion, id.Kind)
	if err != nil {
		return nil, err
	}
	if !namespaced {
		return gc.metadata.Resource(gvr), nil
	}
	if id.Namespace == "" {
		return nil, errInvalidReference
	}
	return gc.metadata.Resource(gvr).Namespace(id.Namespace), nil
}

// getObject does a live GET of id by name; an invalid reference reads as not found.
func (gc *GarbageCollector) getObject(ctx context.Context, id objectReference) (*metav1.PartialObjectMetadata, error) {
	c, err := gc.client(id)
	if errors.Is(err, errInvalidReference) {
		return nil, apierrors.NewNotFound(schema.GroupResource{Resource: id.Kind}, id.Name)
	}
	if err != nil {
		return nil, err
	}
	return c.Get(ctx, id.Name, metav1.GetOptions{})
}

// processAttemptToDelete decides whether the object uid has lost all its owners.
func (gc *GarbageCollector) processAttemptToDelete(ctx context.Context, uid types.UID) error {
	s, ok := gc.graph.snapshot(uid)
	if !ok {
		return nil
	}
	logger := loggerFor(ctx, s.identity)
	if s.deletingDependents {
		return gc.processDeletingDependents(ctx, s)
	}
	if s.beingDeleted {
		// Being deleted and not waiting for dependents: nothing to do.
		return nil
	}
	latest, err := gc.getObject(ctx, s.identity)
	switch {
	case apierrors.IsNotFound(err):
		gc.graphChanges.Add(&event{typ: deleteEvent, virtual: true, identity: s.identity})
		return nil
	case err != nil:
		return err
	case latest.UID != uid:
		// Another object now has the name: the one we knew is gone.
		gc.graphChanges.Add(&event{typ: deleteEvent, virtual: true, identity: s.identity})
		return nil
	}
	if latest.DeletionTimestamp != nil {
		if hasString(latest.Finalizers, finalizerForeground) {
			return gc.processDeletingDependents(ctx, s)
		}
		return requeueIfVirtual(s)
	}
	if len(latest.OwnerReferences) == 0 {
		return requeueIfVirtual(s)
	}
	var c classified
	for _, ref := range latest.OwnerReferences {
		state, err := gc.ownerState(ctx, s.identity, latest.Namespace, ref)
		if err != nil {
			return err
		}
		c.add(ref, state)
	}
	depDeleting := false
	for _, d := range s.dependents {
		depDeleting = depDeleting || d.deletingDependents
	}
	d := decide(c, latest.Finalizers, len(s.dependents) > 0, depDeleting)
	switch d.action {
	case actionRemoveRefs:
		logger.V(2).Info("removing references to owners that are gone or waiting", "owners", d.removeRefs)
		if err := gc.patchOwnerRefs(ctx, s.identity, latest, withoutRefs(latest.OwnerReferences, d.removeRefs)); err != nil {
			return err
		}
	case actionDelete:
		if d.unblock {
			logger.V(2).Info("a dependent is also deleting its dependents; making references non-blocking to avoid a cycle")
			if err := gc.patchOwnerRefs(ctx, s.identity, latest, unblockRefs(latest.OwnerReferences, c.waiting)); err != nil {
				return err
			}
		}
		logger.V(2).Info("deleting object: no owner remains", "propagationPolicy", d.policy)
		if err := gc.deleteObject(ctx, s.identity, latest.ResourceVersion, d.policy); err != nil {
			return err
		}
	}
	return requeueIfVirtual(s)
}

// requeueIfVirtual keeps checking an existing object known only from references until its
// informer reports it (upstream does the same).
func requeueIfVirtual(s *snapshot) error {
	if s.virtual {
		return errRequeue
	}
	return nil
}

// ownerState looks one owner up live. dependentNS is the dependent's namespace.
func (gc *GarbageCollector) ownerState(ctx context.Context, dependent objectReference, dependentNS string, ref metav1.OwnerReference) (ownerState, error) {
	id := objectReference{APIVersion: ref.APIVersion, Kind: ref.Kind, Name: ref.Name, UID: ref.UID}
	gvr, namespaced, err := gc.resolve(ref.APIVersion, ref.Kind)
	if err != nil {
		return ownerSolid, err
	}
	if namespaced {
		if dependentNS == "" {
			gc.recordEvent(dependent, corev1.EventTypeWarning, "OwnerRefInvalidNamespace",
				"ownerRef %s does not exist: a cluster-scoped object cannot have a namespaced owner", id.String())
			return ownerDangling, nil
		}
		id.Namespace = dependentNS
	}
	if gc.absent.has(id) {
		return ownerDangling, nil
	}
	var c metadata.ResourceInterface = gc.metadata.Resource(gvr)
	if namespaced {
		c = gc.metadata.Resource(gvr).Namespace(id.Namespace)
	}
	owner, err := c.Get(ctx, ref.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		gc.absent.add(id)
		return ownerDangling, nil
	case err != nil:
		return ownerSolid, err
	case owner.UID != ref.UID:
		gc.absent.add(id)
		return ownerDangling, nil
	case owner.DeletionTimestamp != nil && hasString(owner.Finalizers, finalizerForeground):
		return ownerWaiting, nil
	}
	return ownerSolid, nil
}

// processDeletingDependents handles an owner being deleted in the foreground: once no
// blocking dependent is left it removes the foregroundDeletion finalizer, else it makes sure
// the blocking dependents are being deleted.
func (gc *GarbageCollector) processDeletingDependents(ctx context.Context, s *snapshot) error {
	blocking := s.blockingDependents()
	if len(blocking) == 0 {
		loggerFor(ctx, s.identity).V(2).Info("no blocking dependents left; removing the foregroundDeletion finalizer")
		return gc.removeFinalizer(ctx, s.identity, finalizerForeground)
	}
	for _, d := range blocking {
		if !d.deletingDependents {
			gc.attemptToDelete.Add(d.identity.UID)
		}
	}
	return nil
}

// processAttemptToOrphan removes references to an owner with the orphan finalizer from its
// dependents, then the finalizer.
func (gc *GarbageCollector) processAttemptToOrphan(ctx context.Context, uid types.UID) error {
	s, ok := gc.graph.snapshot(uid)
	if !ok || !s.orphaning {
		return nil
	}
	for _, d := range s.dependents {
		latest, err := gc.getObject(ctx, d.identity)
		switch {
		case apierrors.IsNotFound(err):
			continue
		case err != nil:
			return err
		case latest.UID != d.identity.UID:
			continue
		}
		if _, has := refTo(latest.OwnerReferences, uid); !has {
			continue
		}
		if err := gc.patchOwnerRefs(ctx, d.identity, latest, withoutRefs(latest.OwnerReferences, []types.UID{uid})); err != nil {
			return err
		}
	}
	loggerFor(ctx, s.identity).V(2).Info("dependents orphaned; removing the orphan finalizer", "dependents", len(s.dependents))
	return gc.removeFinalizer(ctx, s.identity, finalizerOrphan)
}

func refTo(refs []metav1.OwnerReference, uid types.UID) (metav1.OwnerReference, bool) {
	for _, r := range refs {
		if r.UID == uid {
			return r, true
		}
	}
	return metav1.OwnerReference{}, false
}

// metadataPatch is a JSON merge patch of metadata that fails unless the object still has the
// given uid and resourceVersion.
type metadataPatch struct {
	Metadata patchMeta `json:"metadata"`
}

type patchMeta struct {
	UID             types.UID                `json:"uid"`
	ResourceVersion string                   `json:"resourceVersion"`
	OwnerReferences *[]metav1.OwnerReference `json:"ownerReferences,omitempty"`
	Finalizers      *[]string                `json:"finalizers,omitempty"`
}

func (gc *GarbageCollector) patch(ctx context.Context, id objectReference, p metadataPatch) error {
	c, err := gc.client(id)
	if err != nil {
		return err
	}
	data, err := json.Marshal(p)
	if err != nil {
		return err
	}
	_, err = c.Patch(ctx, id.Name, types.MergePatchType, data, metav1.PatchOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return nil
	case apierrors.IsConflict(err):
		return errRequeue
	}
	return err
}

func (gc *GarbageCollector) patchOwnerRefs(ctx context.Context, id objectReference, latest *metav1.PartialObjectMetadata, refs []metav1.OwnerReference) error {
	return gc.patch(ctx, id, metadataPatch{Metadata: patchMeta{UID: latest.UID, ResourceVersion: latest.ResourceVersion, OwnerReferences: &refs}})
}

// removeFinalizer removes finalizer from the live object id, if it still has it.
func (gc *GarbageCollector) removeFinalizer(ctx context.Context, id objectReference, finalizer string) error {
	latest, err := gc.getObject(ctx, id)
	switch {
	case apierrors.IsNotFound(err):
		return nil
	case err != nil:
		return err
	case latest.UID != id.UID || !hasString(latest.Finalizers, finalizer):
		return nil
	}
	rest := withoutString(latest.Finalizers, finalizer)
	return gc.patch(ctx, id, metadataPatch{Metadata: patchMeta{UID: latest.UID, ResourceVersion: latest.ResourceVersion, Finalizers: &rest}})
}

// deleteObject deletes id if it still has its UID and resourceVersion.
func (gc *GarbageCollector) deleteObject(ctx context.Context, id objectReference, resourceVersion string, policy metav1.DeletionPropagation) error {
	c, err := gc.client(id)
	if err != nil {
		return err
	}
	uid := id.UID
	err = c.Delete(ctx, id.Name, metav1.DeleteOptions{
		Preconditions:     &metav1.Preconditions{UID: &uid, ResourceVersion: &resourceVersion},
		PropagationPolicy: &policy,
	})
	switch {
	case apierrors.IsNotFound(err):
		return nil
	case apierrors.IsConflict(err):
		// Changed since we looked: decide again.
		return errRequeue
	}
	return err
}
