// Package history keeps a workload's history in apps/v1 ControllerRevisions, as upstream's
// pkg/controller/history: the pure helpers (HashControllerRevision with a collision count,
// NewControllerRevision named "<parent>-<hash>", SortControllerRevisions, EqualRevision,
// FindEqualRevisions, NextRevision, TemplatePatch) and History, their side of the API on a controller-runtime
// client (list, claim with adoption and release, create with collision handling, update of the
// revision number, delete). Everything is generic over the parent object (metav1.Object and its
// GroupVersionKind), so DaemonSets and StatefulSets share it.
package history
