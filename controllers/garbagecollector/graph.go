package garbagecollector

import (
	"fmt"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

// Finalizers the API server adds for foreground and orphan deletion.
const (
	finalizerForeground = metav1.FinalizerDeleteDependents // "foregroundDeletion"
	finalizerOrphan     = metav1.FinalizerOrphanDependents // "orphan"
)

// objectReference identifies an object: its ownerReference coordinates plus its namespace.
type objectReference struct {
	APIVersion, Kind string
	Namespace, Name  string
	UID              types.UID
}

func (r objectReference) String() string {
	return fmt.Sprintf("[%s/%s, namespace: %s, name: %s, uid: %s]", r.APIVersion, r.Kind, r.Namespace, r.Name, r.UID)
}

func (r objectReference) groupVersionKind() schema.GroupVersionKind {
	return schema.FromAPIVersionAndKind(r.APIVersion, r.Kind)
}

// node is one object in the graph.
type node struct {
	identity objectReference
	// virtual is set while the object is known only from a dependent's ownerReference.
	virtual bool
	// beingDeleted: the object has a deletionTimestamp. deletingDependents: it also has the
	// foregroundDeletion finalizer. orphaning: it also has the orphan finalizer.
	beingDeleted, deletingDependents, orphaning bool
	owners                                      []metav1.OwnerReference
	dependents                                  map[types.UID]*node
}

// ownerRef returns n's reference to the owner with uid, if any.
func (n *node) ownerRef(uid types.UID) (metav1.OwnerReference, bool) {
	for _, r := range n.owners {
		if r.UID == uid {
			return r, true
		}
	}
	return metav1.OwnerReference{}, false
}

func blocks(r metav1.OwnerReference) bool {
	return r.BlockOwnerDeletion != nil && *r.BlockOwnerDeletion
}

// eventType tells what an informer (or a worker, for virtual deletes) saw.
type eventType int

const (
	addOrUpdateEvent eventType = iota
	deleteEvent
)

// event is one change to the graph. For a virtual delete (a worker found a virtual node's object
// gone) only identity is set.
type event struct {
	typ     eventType
	virtual bool
	// identity is the object's coordinates; for informer events it is built from the object
	// and the kind of the informer's resource.
	identity objectReference
	// For informer events: the object's ownerReferences, finalizers and deletion state.
	owners       []metav1.OwnerReference
	finalizers   []string
	beingDeleted bool
}

// eventFor builds the informer event for an object of gvk.
func eventFor(typ eventType, gvk schema.GroupVersionKind, obj metav1.Object) *event {
	return &event{
		typ: typ,
		identity: objectReference{
			APIVersion: gvk.GroupVersion().String(), Kind: gvk.Kind,
			Namespace: obj.GetNamespace(), Name: obj.GetName(), UID: obj.GetUID(),
		},
		owners:       obj.GetOwnerReferences(),
		finalizers:   obj.GetFinalizers(),
		beingDeleted: obj.GetDeletionTimestamp() != nil,
	}
}

// actions are the work a graph change calls for.
type actions struct {
	attemptToDelete []types.UID
	attemptToOrphan []types.UID
	// invalidNamespace lists dependents naming an observed owner of another namespace.
	invalidNamespace []invalidRef
}

type invalidRef struct {
	dependent objectReference
	owner     metav1.OwnerReference
}

func (a *actions) delete(uid types.UID) { a.attemptToDelete = append(a.attemptToDelete, uid) }

// graph is the owner→dependents graph. Only the graph-changes goroutine writes it; workers
// read snapshots.
type graph struct {
	mu    sync.RWMutex
	nodes map[types.UID]*node
}

func newGraph() *graph { return &graph{nodes: map[types.UID]*node{}} }

// process applies one event and returns the nodes to work on.
func (g *graph) process(ev *event) actions {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out actions
	uid := ev.identity.UID
	existing := g.nodes[uid]
	switch {
	case ev.typ == addOrUpdateEvent && existing == nil:
		n := &node{identity: ev.identity, dependents: map[types.UID]*node{}}
		g.nodes[uid] = n
		g.setObserved(n, ev, &out)
		g.addToOwners(n, n.owners, &out)
	case ev.typ == addOrUpdateEvent:
		if existing.virtual && existing.identity != ev.identity {
			// Dependents named the object with other coordinates (another namespace or kind):
			// let each one check its own reference again.
			for _, dep := range existing.dependents {
				out.delete(dep.identity.UID)
			}
		}
		existing.identity = ev.identity
		oldOwners := existing.owners
		g.setObserved(existing, ev, &out)
		added, removed, unblocked := diffOwners(oldOwners, existing.owners)
		g.addToOwners(existing, added, &out)
		for _, r := range removed {
			if owner := g.nodes[r.UID]; owner != nil {
				delete(owner.dependents, uid)
				if owner.deletingDependents {
					out.delete(owner.identity.UID)
				}
				g.dropIfUnneeded(owner)
			}
		}
		for _, r := range unblocked {
			if owner := g.nodes[r.UID]; owner != nil && owner.deletingDependents {
				out.delete(owner.identity.UID)
			}
		}
	case existing == nil:
		// Delete of an object not in the graph: nothing to do.
	case ev.virtual && !existing.virtual:
		// A worker found the object gone while its informer still has it: the informer's own
		// delete will follow. Let the dependents check their references meanwhile.
		for _, dep := range existing.dependents {
			out.delete(dep.identity.UID)
		}
	default:
		g.remove(existing, &out)
	}
	return out
}

// setObserved copies the event's state into n and queues the transitions it starts.
func (g *graph) setObserved(n *node, ev *event, out *actions) {
	wasDeletingDependents, wasOrphaning := n.deletingDependents, n.orphaning
	n.virtual = false
	n.owners = ev.owners
	n.beingDeleted = ev.beingDeleted
	n.deletingDependents = ev.beingDeleted && hasString(ev.finalizers, finalizerForeground)
	n.orphaning = ev.beingDeleted && hasString(ev.finalizers, finalizerOrphan)
	if n.orphaning && !wasOrphaning {
		out.attemptToOrphan = append(out.attemptToOrphan, n.identity.UID)
	}
	if n.deletingDependents && !wasDeletingDependents {
		for _, dep := range n.dependents {
			out.delete(dep.identity.UID)
		}
		out.delete(n.identity.UID)
	}
}

// addToOwners links n under each owner in refs, creating virtual owners as needed.
func (g *graph) addToOwners(n *node, refs []metav1.OwnerReference, out *actions) {
	for _, r := range refs {
		owner := g.nodes[r.UID]
		if owner == nil {
			owner = &node{
				identity: objectReference{APIVersion: r.APIVersion, Kind: r.Kind, Namespace: n.identity.Namespace,
					Name: r.Name, UID: r.UID},
				virtual:    true,
				dependents: map[types.UID]*node{},
			}
			g.nodes[r.UID] = owner
			// Check whether the owner exists.
			out.delete(r.UID)
		} else if suspectReference(n, owner, r) {
			// The reference may not resolve to this owner: let the dependent verify it.
			if owner.identity.Namespace != "" && owner.identity.Namespace != n.identity.Namespace && !owner.virtual {
				out.invalidNamespace = append(out.invalidNamespace, invalidRef{dependent: n.identity, owner: r})
			}
			out.delete(n.identity.UID)
		}
		owner.dependents[n.identity.UID] = n
		if owner.deletingDependents {
			// A dependent appeared under an owner that waits for its dependents.
			out.delete(n.identity.UID)
		}
	}
}

// suspectReference tells whether n's reference r may name something else than the node owner
// already in the graph under r.UID (upstream's hasPotentiallyInvalidOwnerReference): a
// namespaced owner in another namespace, other coordinates, or a virtual cluster-scoped-looking
// owner seen from another namespace.
func suspectReference(n, owner *node, r metav1.OwnerReference) bool {
	id := owner.identity
	switch {
	case id.Namespace != "" && id.Namespace != n.identity.Namespace:
		return true
	case id.APIVersion != r.APIVersion || id.Kind != r.Kind || id.Name != r.Name:
		return true
	case id.Namespace == "" && owner.virtual && n.identity.Namespace != "":
		return true
	}
	return false
}

// remove takes n out of the graph and queues whatever its absence affects.
func (g *graph) remove(n *node, out *actions) {
	uid := n.identity.UID
	for _, r := range n.owners {
		owner := g.nodes[r.UID]
		if owner == nil {
			continue
		}
		delete(owner.dependents, uid)
		if owner.deletingDependents {
			out.delete(owner.identity.UID)
		}
		g.dropIfUnneeded(owner)
	}
	delete(g.nodes, uid)
	if len(n.dependents) > 0 && !n.virtual {
		// Keep dependents attached to a virtual stand-in so that their later updates find it;
		// workers verify it is gone and remove it.
		stand := &node{identity: n.identity, virtual: true, dependents: n.dependents}
		g.nodes[uid] = stand
	}
	for _, dep := range n.dependents {
		out.delete(dep.identity.UID)
	}
}

// dropIfUnneeded removes a virtual node no dependent refers to any more.
func (g *graph) dropIfUnneeded(n *node) {
	if n.virtual && len(n.dependents) == 0 {
		delete(g.nodes, n.identity.UID)
	}
}

// diffOwners compares two ownerReference lists by UID. unblocked are references whose
// blockOwnerDeletion went from true to false.
func diffOwners(old, cur []metav1.OwnerReference) (added, removed, unblocked []metav1.OwnerReference) {
	oldByUID := map[types.UID]metav1.OwnerReference{}
	for _, r := range old {
		oldByUID[r.UID] = r
	}
	curUIDs := map[types.UID]bool{}
	for _, r := range cur {
		curUIDs[r.UID] = true
		o, ok := oldByUID[r.UID]
		switch {
		case !ok:
			added = append(added, r)
		case blocks(o) && !blocks(r):
			unblocked = append(unblocked, r)
		}
	}
	for _, r := range old {
		if !curUIDs[r.UID] {
			removed = append(removed, r)
		}
	}
	return added, removed, unblocked
}

// dependentInfo is what a worker needs of a dependent.
type dependentInfo struct {
	identity           objectReference
	virtual            bool
	beingDeleted       bool
	deletingDependents bool
	// blocking: its reference to the owner has blockOwnerDeletion=true.
	blocking bool
}

// snapshot is a copy of a node for workers.
type snapshot struct {
	identity                                             objectReference
	virtual, beingDeleted, deletingDependents, orphaning bool
	dependents                                           []dependentInfo
}

func (s *snapshot) blockingDependents() []dependentInfo {
	var out []dependentInfo
	for _, d := range s.dependents {
		if d.blocking {
			out = append(out, d)
		}
	}
	return out
}

func (g *graph) snapshot(uid types.UID) (*snapshot, bool) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	n := g.nodes[uid]
	if n == nil {
		return nil, false
	}
	s := &snapshot{identity: n.identity, virtual: n.virtual, beingDeleted: n.beingDeleted,
		deletingDependents: n.deletingDependents, orphaning: n.orphaning}
	for _, d := range n.dependents {
		ref, _ := d.ownerRef(uid)
		s.dependents = append(s.dependents, dependentInfo{identity: d.identity, virtual: d.virtual,
			beingDeleted: d.beingDeleted, deletingDependents: d.deletingDependents, blocking: blocks(ref)})
	}
	return s, true
}

// virtualOf returns the virtual nodes of the given kinds.
func (g *graph) virtualOf(kinds map[schema.GroupKind]bool) []types.UID {
	g.mu.RLock()
	defer g.mu.RUnlock()
	var out []types.UID
	for uid, n := range g.nodes {
		if n.virtual && kinds[n.identity.groupVersionKind().GroupKind()] {
			out = append(out, uid)
		}
	}
	return out
}

// size is the number of nodes (for logs and tests).
func (g *graph) size() int {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return len(g.nodes)
}

func hasString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
