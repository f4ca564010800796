// Package scheduler is Skiff's default scheduler: it binds pods whose spec.nodeName is empty and
// whose spec.schedulerName is "default-scheduler" (or empty) to a node, through the pods/binding
// subresource, as upstream kube-scheduler's default profile does.
//
// A scheduling cycle takes the highest-priority pod from the active queue, filters nodes and
// scores the feasible ones, then assumes the pod onto the winner in its cache (so the pod's
// requests count against the node before the watch shows the binding) and hands the bind to one
// of several binding goroutines.
//
// Filters, in upstream's order, stopping at a node's first failure: NodeUnschedulable
// (spec.unschedulable unless tolerated), TaintToleration (NoSchedule/NoExecute taints, including
// the not-ready/unreachable taint a node whose Ready condition is not True would get from the node
// lifecycle controller), NodeAffinity (nodeSelector and required node affinity), NodePorts (host
// port conflicts) and NodeResourcesFit (cpu, memory, ephemeral-storage and pod count against
// allocatable minus the requests of the node's non-terminated pods).
//
// Scores (weights as upstream): TaintToleration 3 (PreferNoSchedule taints), NodeAffinity 2
// (preferred terms), NodeResourcesFit 1 (least allocated), NodeResourcesBalancedAllocation 1, and
// owner spreading 2 (fewest pods of the same controller on the node, standing in for upstream's
// default PodTopologySpread constraints).
//
// Like upstream, only a sample of nodes is filtered per pod once enough feasible nodes are found
// (percentageOfNodesToScore: adaptive, 50% at 100 nodes or fewer down to 5%, never fewer than
// 100 nodes), starting where the previous cycle stopped.
//
// A pod that fits nowhere gets PodScheduled=False, reason Unschedulable, with upstream's message
// ("0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 3
// Preemption is not helpful for scheduling.") and a Warning FailedScheduling event. It waits in
// the unschedulable pool until a node is added or changes, or an assigned pod goes away, and then
// retries after its backoff (1s doubling to 10s). Preemption itself is not implemented: the
// message's preemption part reports what upstream reports when no victims are found.
//
// Metrics on controller-runtime's registry: scheduler_schedule_attempts_total{result,profile},
// scheduler_scheduling_attempt_duration_seconds{result,profile} and
// scheduler_pending_pods{queue}.
package scheduler
