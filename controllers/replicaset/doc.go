// Package replicaset is Skiff's ReplicaSet controller, following upstream's
// pkg/controller/replicaset: it claims the pods a ReplicaSet selects (adopting matching
// orphans, releasing pods that stopped matching; it reads only its own pods and the orphans,
// controllers.PodsControlledBy), creates or deletes pods in slow-start
// batches until spec.replicas are running, tracks outstanding creates and deletes with
// expectations so a stale cache never causes double work, and reports replicas,
// fullyLabeledReplicas, readyReplicas, availableReplicas and the ReplicaFailure condition.
//
// Its syncs are traced (controllers.Traced); a sync that creates pods names them on its span as
// effects and the pods they replace (being deleted, finished, or removed since the last
// creation, each named once) as causes, and a sync that deletes pods names them, so that
// `skiff trace` of a pod that died goes on with its replacement (insight/trace).
package replicaset
