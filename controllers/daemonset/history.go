package daemonset

import (
	"bytes"
	"context"
	"fmt"
	"reflect"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/skiff-dev/skiff/controllers/deployment"
	"github.com/skiff-dev/skiff/controllers/history"
)

// Patch is what a DaemonSet's ControllerRevision stores: a strategic merge patch replacing
// spec.template (what `kubectl rollout undo` applies).
func Patch(ds *appsv1.DaemonSet) ([]byte, error) { return history.TemplatePatch(ds) }

// Match tells whether the revision holds the DaemonSet's current template.
func Match(ds *appsv1.DaemonSet, cr *appsv1.ControllerRevision) (bool, error) {
	patch, err := Patch(ds)
	if err != nil {
		return false, err
	}
	return bytes.Equal(patch, cr.Data.Raw), nil
}

// constructHistory claims the DaemonSet's revisions, splits them into the current one (made
// when missing, deduplicated, renumbered to the newest) and the old ones.
func (r *Reconciler) constructHistory(ctx context.Context, ds *appsv1.DaemonSet) (cur *appsv1.ControllerRevision, old []*appsv1.ControllerRevision, err error) {
	sel := selectorOf(ds)
	if sel == nil {
		return nil, nil, fmt.Errorf("daemonset %s/%s has an invalid selector", ds.Namespace, ds.Name)
	}
	revs, err := r.history.ClaimControllerRevisions(ctx, ds, controllerKind, sel, func(ctx context.Context) error { return r.canAdopt(ctx, ds) })
	if err != nil {
		return nil, nil, err
	}
	var current []*appsv1.ControllerRevision
	for _, cr := range revs {
		if _, ok := cr.Labels[appsv1.DefaultDaemonSetUniqueLabelKey]; !ok {
			// The name stands in for the hash, so no collision can arise.
			upd := cr.DeepCopy()
			if upd.Labels == nil {
				upd.Labels = map[string]string{}
			}
			upd.Labels[appsv1.DefaultDaemonSetUniqueLabelKey] = upd.Name
			if err := r.Client.Update(ctx, upd); err != nil {
				return nil, nil, fmt.Errorf("labelling controller revision %s: %w", cr.Name, err)
			}
			cr = upd
		}
		found, err := Match(ds, cr)
		if err != nil {
			return nil, nil, err
		}
		if found {
			current = append(current, cr)
		} else {
			old = append(old, cr)
		}
	}
	next := history.NextRevision(old)
	if len(current) == 0 {
		cur, err = r.snapshot(ctx, ds, next)
		return cur, old, err
	}
	cur, err = r.dedupCurrent(ctx, ds, current)
	if err != nil {
		return nil, nil, err
	}
	if cur.Revision < next {
		if cur, err = r.history.UpdateControllerRevision(ctx, cur, next); err != nil {
			return nil, nil, err
		}
	}
	return cur, old, nil
}

// snapshot creates the revision of the current template, named "<ds>-<template hash>". A name
// taken by another template bumps status.collisionCount and fails the sync, which retries with
// the next name, as upstream.
func (r *Reconciler) snapshot(ctx context.Context, ds *appsv1.DaemonSet, revision int64) (*appsv1.ControllerRevision, error) {
	patch, err := Patch(ds)
	if err != nil {
		return nil, err
	}
	hash := deployment.ComputeHash(&ds.Spec.Template, ds.Status.CollisionCount)
	lbls := make(map[string]string, len(ds.Spec.Template.Labels)+1)
	for k, v := range ds.Spec.Template.Labels {
		lbls[k] = v
	}
	lbls[appsv1.DefaultDaemonSetUniqueLabelKey] = hash
	cr := &appsv1.ControllerRevision{
		ObjectMeta: metav1.ObjectMeta{
			Name:            history.ControllerRevisionName(ds.Name, hash),
			Namespace:       ds.Namespace,
			Labels:          lbls,
			Annotations:     ds.Annotations,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(ds, controllerKind)},
		},
		Data:     runtime.RawExtension{Raw: patch},
		Revision: revision,
	}
	createErr := r.Client.Create(ctx, cr)
	if createErr == nil || !apierrors.IsAlreadyExists(createErr) {
		if createErr != nil {
			return nil, fmt.Errorf("creating controller revision: %w", createErr)
		}
		return cr, nil
	}
	existing := &appsv1.ControllerRevision{}
	if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(cr), existing); err != nil {
		return nil, fmt.Errorf("reading controller revision %s: %w", cr.Name, err)
	}
	if done, err := Match(ds, existing); err != nil || done {
		return existing, err
	}
	fresh := &appsv1.DaemonSet{}
	if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(ds), fresh); err != nil {
		return nil, fmt.Errorf("rereading daemonset: %w", err)
	}
	if !reflect.DeepEqual(fresh.Status.CollisionCount, ds.Status.CollisionCount) {
		return nil, fmt.Errorf("found a stale collision count of DaemonSet %q while processing; will retry until it is updated", ds.Name)
	}
	count := int32(0)
	if fresh.Status.CollisionCount != nil {
		count = *fresh.Status.CollisionCount
	}
	count++
	fresh.Status.CollisionCount = &count
	if err := r.Client.Status().Update(ctx, fresh); err != nil {
		return nil, fmt.Errorf("bumping collision count: %w", err)
	}
	log.FromContext(ctx).V(2).Info("Found a hash collision for DaemonSet - bumping collisionCount to resolve it", "collisionCount", count)
	return nil, fmt.Errorf("controller revision %s holds another template: %w", cr.Name, createErr)
}

// dedupCurrent keeps the highest-numbered of several revisions of the current template,
// relabels the pods of the others to it and deletes them.
func (r *Reconciler) dedupCurrent(ctx context.Context, ds *appsv1.DaemonSet, current []*appsv1.ControllerRevision) (*appsv1.ControllerRevision, error) {
	if len(current) == 1 {
		return current[0], nil
	}
	keep := current[0]
	for _, cr := range current {
		if cr.Revision >= keep.Revision {
			keep = cr
		}
	}
	keepHash := keep.Labels[appsv1.DefaultDaemonSetUniqueLabelKey]
	pods, err := r.daemonPods(ctx, ds)
	if err != nil {
		return nil, err
	}
	for _, p := range pods {
		if p.Labels[appsv1.DefaultDaemonSetUniqueLabelKey] == keepHash {
			continue
		}
		patch := fmt.Appendf(nil, `{"metadata":{"labels":{%q:%q}}}`, appsv1.DefaultDaemonSetUniqueLabelKey, keepHash)
		if err := r.Client.Patch(ctx, p.DeepCopy(), client.RawPatch(types.MergePatchType, patch)); err != nil {
			return nil, fmt.Errorf("relabelling pod %s: %w", p.Name, err)
		}
	}
	for _, cr := range current {
		if cr.Name != keep.Name {
			if err := r.history.DeleteControllerRevision(ctx, cr); err != nil {
				return nil, err
			}
		}
	}
	return keep, nil
}

// cleanupHistory deletes the oldest revisions beyond revisionHistoryLimit that no pod, even a
// terminated one, still carries.
func (r *Reconciler) cleanupHistory(ctx context.Context, ds *appsv1.DaemonSet, old []*appsv1.ControllerRevision) error {
	limit := 10
	if ds.Spec.RevisionHistoryLimit != nil {
		limit = int(*ds.Spec.RevisionHistoryLimit)
	}
	toKill := len(old) - limit
	if toKill <= 0 {
		return nil
	}
	nodePods, err := r.nodeToDaemonPods(ctx, ds, true)
	if err != nil {
		return err
	}
	for _, cr := range RevisionsToDelete(old, nodePods, toKill) {
		if err := r.history.DeleteControllerRevision(ctx, cr); err != nil {
			return err
		}
	}
	return nil
}

// RevisionsToDelete picks up to toKill of the old revisions, oldest first, whose hash no pod
// carries.
func RevisionsToDelete(old []*appsv1.ControllerRevision, nodePods NodePods, toKill int) []*appsv1.ControllerRevision {
	live := map[string]bool{}
	for _, pods := range nodePods {
		for _, p := range pods {
			if h := p.Labels[appsv1.DefaultDaemonSetUniqueLabelKey]; h != "" {
				live[h] = true
			}
		}
	}
	sorted := append([]*appsv1.ControllerRevision(nil), old...)
	history.SortControllerRevisions(sorted)
	var del []*appsv1.ControllerRevision
	for _, cr := range sorted {
		if len(del) >= toKill {
			break
		}
		if !live[cr.Labels[appsv1.DefaultDaemonSetUniqueLabelKey]] {
			del = append(del, cr)
		}
	}
	return del
}
