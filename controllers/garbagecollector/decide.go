package garbagecollector

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// ownerState is what a live lookup found for one ownerReference.
type ownerState int

const (
	// ownerSolid: the owner exists and is not waiting for its dependents.
	ownerSolid ownerState = iota
	// ownerDangling: the owner is absent, or present with another UID.
	ownerDangling
	// ownerWaiting: the owner is being deleted in the foreground (deletionTimestamp plus the
	// foregroundDeletion finalizer).
	ownerWaiting
)

// classified splits an object's ownerReferences by the state of each owner.
type classified struct {
	solid, dangling, waiting []metav1.OwnerReference
}

func (c *classified) add(r metav1.OwnerReference, s ownerState) {
	switch s {
	case ownerSolid:
		c.solid = append(c.solid, r)
	case ownerDangling:
		c.dangling = append(c.dangling, r)
	case ownerWaiting:
		c.waiting = append(c.waiting, r)
	}
}

// actionKind is what attemptToDelete does to an object.
type actionKind int

const (
	actionNone actionKind = iota
	// actionRemoveRefs patches away the references in decision.removeRefs.
	actionRemoveRefs
	// actionDelete deletes the object with decision.policy, first making its references to
	// waiting owners non-blocking when decision.unblock is set.
	actionDelete
)

// decision is the outcome of attemptToDelete for one object.
type decision struct {
	action     actionKind
	removeRefs []types.UID
	policy     metav1.DeletionPropagation
	unblock    bool
}

// decide applies upstream's rules. finalizers are the object's; hasDependents tells whether it
// has dependents in the graph; dependentDeletingDependents whether one of them is itself being
// deleted in the foreground (a possible cycle, broken by unblocking the object's references).
func decide(c classified, finalizers []string, hasDependents, dependentDeletingDependents bool) decision {
	switch {
	case len(c.solid) != 0:
		// An owner remains: only drop the references to owners that are gone or waiting.
		var drop []types.UID
		for _, r := range c.dangling {
			drop = append(drop, r.UID)
		}
		for _, r := range c.waiting {
			drop = append(drop, r.UID)
		}
		if len(drop) == 0 {
			return decision{action: actionNone}
		}
		return decision{action: actionRemoveRefs, removeRefs: drop}
	case len(c.waiting) != 0 && hasDependents:
		// An owner waits for this object, which has dependents of its own: delete it in the
		// foreground so that the chain blocks.
		return decision{action: actionDelete, policy: metav1.DeletePropagationForeground, unblock: dependentDeletingDependents}
	default:
		policy := metav1.DeletePropagationBackground
		switch {
		case hasString(finalizers, finalizerOrphan):
			policy = metav1.DeletePropagationOrphan
		case hasString(finalizers, finalizerForeground):
			policy = metav1.DeletePropagationForeground
		}
		return decision{action: actionDelete, policy: policy}
	}
}

// withoutRefs returns refs less those with a UID in drop.
func withoutRefs(refs []metav1.OwnerReference, drop []types.UID) []metav1.OwnerReference {
	out := []metav1.OwnerReference{}
	for _, r := range refs {
		keep := true
		for _, d := range drop {
			if r.UID == d {
				keep = false
				break
			}
		}
		if keep {
			out = append(out, r)
		}
	}
	return out
}

// unblockRefs returns refs with blockOwnerDeletion=false on those whose UID is in owners.
func unblockRefs(refs []metav1.OwnerReference, owners []metav1.OwnerReference) []metav1.OwnerReference {
	out := make([]metav1.OwnerReference, 0, len(refs))
	for _, r := range refs {
		for _, o := range owners {
			if r.UID == o.UID && blocks(r) {
				f := false
				r.BlockOwnerDeletion = &f
			}
		}
		out = append(out, r)
	}
	return out
}

// withoutString returns list less every s.
func withoutString(list []string, s string) []string {
	out := []string{}
	for _, x := range list {
		if x != s {
			out = append(out, x)
		}
	}
	return out
}
