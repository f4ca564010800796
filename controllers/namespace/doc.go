// Package namespace empties and removes namespaces being deleted, following upstream's
// namespace controller (pkg/controller/namespace, deletion/namespaced_resources_deleter.go).
//
// For a namespace with a deletionTimestamp whose spec.finalizers still holds "kubernetes", the
// controller discovers every namespaced resource that can be deleted and, for each, deletes the
// whole collection (deletecollection with background propagation where the resource supports
// it, else list and delete one by one), then lists what remains. While anything remains it
// records why in status conditions (NamespaceDeletionDiscoveryFailure,
// NamespaceDeletionContentFailure, NamespaceContentRemaining, NamespaceFinalizersRemaining, with
// upstream's reasons and messages) and tries again after an estimate: half the longest pod
// termination grace period still running, or of the finalizer estimate (15s) when objects with
// finalizers remain. Once the namespace is empty it removes "kubernetes" from spec.finalizers
// through the namespaces/finalize subresource and deletes the namespace again, which the API
// server then removes.
//
// Deletes use default options, as upstream's do: a pod bound to a node is deleted gracefully
// and stays, blocking the namespace, until its node agent confirms termination (or node
// lifecycle removes it once its node is gone). Pods not bound to a node go at once.
package namespace
