// Package garbagecollector deletes objects whose owners are gone, following upstream's garbage
// collector (pkg/controller/garbagecollector) for every kind the API serves.
//
// At start and every Config.ResyncPeriod it discovers the resources that support list, watch and
// delete (so kinds added later, such as custom resources, are covered) and runs one
// metadata-only informer per resource, except for the kinds the controllers keep in the
// manager's cache anyway (Config.SharedKinds: pods, ReplicaSets, Deployments), whose cache
// informers it adds a handler to, as upstream's collector takes the controller manager's typed
// informers; that handler goes with the leader-election term. A change of a CustomResourceDefinition or an APIService
// brings that discovery forward (now and 2 s later), and the virtual owners of a kind just
// watched are checked at once, so a new kind's objects are collected without waiting a period. Their events build a graph of objects keyed by UID, with
// an edge from each owner to the dependents that name it in metadata.ownerReferences. Owners
// named by a dependent but not (yet) observed are "virtual" nodes that a worker verifies with a
// live GET.
//
// Workers act on two rate-limited queues:
//
//   - attemptToDelete: an object whose owners may all be gone. Each ownerReference is resolved
//     (apiVersion+kind through a RESTMapper; a namespaced owner is looked up in the dependent's
//     namespace) and checked with a live GET: absent, or present with another UID, makes it
//     dangling. An object with a live owner only loses its dangling references (merge patch with
//     a resourceVersion precondition); an object with no live owner is deleted, in the foreground
//     when an owner waits for it and it has dependents of its own, else as its own finalizers ask
//     (orphan, foreground) or in the background. An owner being deleted in the foreground
//     (deletionTimestamp plus the foregroundDeletion finalizer) keeps the finalizer until no
//     dependent with blockOwnerDeletion=true is left, then the collector removes it and the API
//     deletes the owner.
//   - attemptToOrphan: an owner being deleted with the orphan finalizer. The collector removes
//     the references to it from all its dependents, then removes the finalizer.
//
// Events (core/v1 and events.k8s.io/v1) are ignored by default, as upstream does.
//
// The collector is a manager.Runnable that needs leader election; add it with SetupWithManager.
package garbagecollector
