// Package deployment is Skiff's Deployment controller, following upstream's
// pkg/controller/deployment: it owns one ReplicaSet per pod template (named
// "<deployment>-<pod-template-hash>"), rolls between them with the RollingUpdate
// (maxSurge/maxUnavailable) or Recreate strategy, scales proportionally on scaling events,
// keeps revision annotations (so `kubectl rollout undo/history` work), prunes old ReplicaSets
// beyond revisionHistoryLimit, honours spec.paused, and reports status and the Available and
// Progressing conditions with upstream's reasons and messages (what `kubectl rollout status`
// reads).
package deployment
