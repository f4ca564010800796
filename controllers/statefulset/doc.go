// Package statefulset is Skiff's StatefulSet controller, following upstream's
// pkg/controller/statefulset: pods named "<set>-<ordinal>" with hostname the pod's name and
// subdomain spec.serviceName (so a headless Service gives each a DNS name), the
// statefulset.kubernetes.io/pod-name, apps.kubernetes.io/pod-index and controller-revision-hash
// labels, and a controller reference. A PersistentVolumeClaim "<template>-<set>-<ordinal>" is
// created for each volumeClaimTemplate before the pod and mounted in place of the template's
// volume; persistentVolumeClaimRetentionPolicy is carried out with owner references on the claims
// (whenDeleted Delete: the set owns them; whenScaled Delete: a scaled-down pod owns them), which
// the garbage collector acts on.
//
// OrderedReady creates pods in ordinal order, each Running, Ready and available (minReadySeconds)
// before the next, and scales down from the highest ordinal; Parallel does all at once.
// RollingUpdate replaces pods not at the update revision from the highest ordinal down to
// spec.updateStrategy.rollingUpdate.partition, at most maxUnavailable unhealthy at a time;
// OnDelete replaces only pods deleted by the user. The template's history is in
// ControllerRevisions (controllers/history; status currentRevision, updateRevision,
// collisionCount), so `kubectl rollout status|history|undo sts/x` work.
//
// The decisions are pure and table-tested (plan.go: Plan, CompleteRollingUpdate,
// RevisionsToDelete, MaxUnavailable; claims.go: ClaimOwnerRefs; identity.go: NewPod, Claims,
// ApplyRevision); the Reconciler does the writes.
package statefulset
