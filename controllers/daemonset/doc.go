// Package daemonset is Skiff's DaemonSet controller, following upstream's pkg/controller/daemon:
// one pod of each DaemonSet on every node whose labels and name match the template's nodeSelector
// and required node affinity and whose NoSchedule/NoExecute taints the pod tolerates (daemon pods
// get upstream's extra tolerations: not-ready and unreachable NoExecute, disk, memory and PID
// pressure and unschedulable NoSchedule, network-unavailable for host-network pods). Pods are
// created with a controller reference and a required node affinity on the node's metadata.name,
// which the scheduler (controllers/scheduler) honours when it binds them, as upstream since 1.12.
//
// The template's history lives in ControllerRevisions ("<ds>-<hash>", holding a patch that
// replaces spec.template, so `kubectl rollout history|undo ds/x` work), pods carry the
// controller-revision-hash label and pod-template-generation from the
// deprecated.daemonset.template.generation annotation the API server keeps. RollingUpdate
// replaces pods within maxUnavailable, or with maxSurge starts the new pod before deleting the
// old; OnDelete replaces only deleted pods. Status counts (desired, current, ready, available
// after minReadySeconds, updated, misscheduled, unavailable, observedGeneration,
// collisionCount) are what `kubectl rollout status ds/x` reads.
//
// The decisions are pure and table-tested (plan.go: NodeShouldRunDaemonPod, PlanManage,
// PlanRollingUpdate, CalculateStatus; RevisionsToDelete); the Reconciler does the writes.
package daemonset
