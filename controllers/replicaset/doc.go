// Package replicaset is Skiff's ReplicaSet controller, following upstream's
// pkg/controller/replicaset: it claims the pods a ReplicaSet selects (adopting matching
// orphans, releasing pods that stopped matching), creates or deletes pods in slow-start
// batches until spec.replicas are running, tracks outstanding creates and deletes with
// expectations so a stale cache never causes double work, and reports replicas,
// fullyLabeledReplicas, readyReplicas, availableReplicas and the ReplicaFailure condition.
package replicaset
