// Package disruption is Skiff's disruption controller, following upstream's
// pkg/controller/disruption: for every policy/v1 PodDisruptionBudget it counts the pods the
// budget selects, the pods expected (the desired replicas of their controllers, found through
// Deployments, ReplicaSets or any scale subresource, when the budget is a percentage or
// maxUnavailable), the healthy (Ready) ones and those that must stay so, and writes
// disruptionsAllowed, the DisruptionAllowed condition (SufficientPods, InsufficientPods,
// SyncFailed) and observedGeneration; evictions recorded in status.disruptedPods by pods/eviction
// count the pod as gone for DeletionTimeout (2 minutes), then expire. The decisions are pure
// functions (compute.go); the Reconciler reads and writes through the API.
package disruption
