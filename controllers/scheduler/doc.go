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
// port conflicts), NodeResourcesFit (cpu, memory, ephemeral-storage and pod count against
// allocatable minus the requests of the node's non-terminated pods (of a resized pod the largest
// of its spec's, allocated and actuated requests, as upstream's PodRequests with status
// resources), and of pods of at least the
// pod's priority nominated to the node), PodTopologySpread (whenUnsatisfiable DoNotSchedule:
// maxSkew, minDomains, nodeAffinityPolicy/nodeTaintsPolicy, labelSelector with matchLabelKeys)
// and InterPodAffinity (required affinity with upstream's first-pod-of-a-group rule, the pod's
// required anti-affinity, existing pods' required anti-affinity against it; namespaces,
// namespaceSelector, matchLabelKeys/mismatchLabelKeys). The two last ones count pods per
// topology domain once per cycle (cycleState), as upstream's PreFilter does, and the counts are
// updated when preemption simulates removing pods.
//
// Scores (weights as upstream): TaintToleration 3 (PreferNoSchedule taints), NodeAffinity 2
// (preferred terms), NodeResourcesFit 1 (least allocated), NodeResourcesBalancedAllocation 1,
// InterPodAffinity 2 (preferred terms of the pod and of existing pods, existing pods' required
// affinity with weight 1, anti-affinity negative, normalized to 0..100), and PodTopologySpread 2
// (the pod's ScheduleAnyway constraints; a pod without constraints gets owner spreading instead:
// fewest pods of the same controller on the node, standing in for upstream's default
// constraints).
//
// Like upstream, only a sample of nodes is filtered per pod once enough feasible nodes are found
// (percentageOfNodesToScore: adaptive, 50% at 100 nodes or fewer down to 5%, never fewer than
// 100 nodes), starting where the previous cycle stopped.
//
// A pod that fits nowhere goes through preemption, as upstream's DefaultPreemption post-filter
// (preemption.go holds the pure decisions, preempt_cycle.go the side effects): unless its
// preemptionPolicy is Never or victims it already caused are still terminating on its nominated
// node, each node where preemption may help is simulated without the pods of lower priority; if
// the pod fits, pods are reprieved most important first (those whose eviction would violate a
// PodDisruptionBudget before the others) and the rest are victims. The node is chosen by fewest
// PDB violations, lowest highest victim priority, smallest priority sum, fewest victims and latest
// start. The victims get the DisruptionTarget condition (PreemptionByScheduler), are deleted and
// get a Preempted event; the pod gets status.nominatedNodeName and binds there once they are
// gone (pods of lower priority cannot take the room meanwhile). PodDisruptionBudgets are listed
// through the client at preemption time; a server without policy/v1 PDBs has none.
//
// A pod that still fits nowhere gets PodScheduled=False, reason Unschedulable, with upstream's
// message ("0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 3
// Preemption is not helpful for scheduling.") and a Warning FailedScheduling event. It waits in
// the unschedulable pool until a node is added or changes, or an assigned pod goes away (or, for
// a pod rejected by inter-pod affinity or topology spread, an assigned pod arrives), and then
// retries after its backoff (1s doubling to 10s).
//
// VolumeBinding (volumebinding.go), between NodeResourcesFit and PodTopologySpread as upstream:
// its PreFilter refuses a pod whose claim is missing, being deleted, lost or (Immediate class)
// still unbound, for every node at once; its filter needs a bound claim's volume to allow the
// node and each unbound WaitForFirstConsumer claim to find a free matching volume or a
// provisioning class there. The chosen node's bindings are assumed in the cache; the binding
// then writes them (volume claimRef, claim selected-node), waits in its own goroutine until the
// PV controller bound every claim (VolumeBindTimeout, 600 s) and binds the pod; a failure undoes
// the assumption and retries the pod.
//
// With Config.Diagnoses set (cmd/skiff gives it the store the API server reads for `skiff
// why`), each attempt that finds no node records every node's result with its numbers
// (diagnosis.go: the filter's upstream plugin name, the reasons, the pod's requests against the
// node's allocatable and requested resources and pod count, the untolerated taint, the
// nodeSelector and the node's labels, the taken host ports); a bound or deleted pod's diagnosis
// is forgotten.
//
// The scheduler's own client (bindings, status patches, preemption) speaks protobuf, as
// kube-scheduler's default --kube-api-content-type, and its events go through a second client
// with a rate limiter of its own, as kube-scheduler's eventClient; each is limited to 1000
// requests/s (burst 2000) unless the manager's config is unlimited.
//
// Throughput (issue 17's goal: 500 pods/s sustained). BenchmarkSchedulingCycle times the cycle
// alone (pod info, findNode, assume): tens of microseconds of CPU per pod at 500 and 5,000
// nodes. BenchmarkSchedulingBasic (scheduler_perf's shape: every pod created before the
// scheduler starts) reports pods/s from the scheduler's start (its caches synced) to the last
// binding and the whole process's CPU per bound pod (API server, etcd, watches, informers and
// scheduler in one process): 2026-12-06, about 820 pods/s and 1.2 ms at 500 nodes, 1,300 pods/s
// and 1.4 ms at 5,000 (upstream's threshold for that case: 270 pods/s). Two settings made that:
// the API server allows 1,000 HTTP/2 streams on a connection (it allowed Go's 100) and the
// scheduler runs at most DefaultBindWorkers bindings at once; before, a backlog of 10,000 pods
// put thousands of bindings in flight, the client dialed a TLS connection for each request
// past the streams of its connections and discarded most of them, and a third of the CPU went
// to handshakes (495 pods/s, 3.8 ms a pod). The rest is the API server's binding
// (GuaranteedUpdate, managedFields), etcd, HTTP/2 and TLS records, the watch cache's fan-out
// and garbage collection. In a whole cluster (test/scale) pods are bound as fast as the
// ReplicaSet controller creates them: the process's CPU for creating, binding and running a
// pod (about 10 ms) bounds the rate there, not the scheduler.

// Metrics on controller-runtime's registry: scheduler_schedule_attempts_total{result,profile},
// scheduler_scheduling_attempt_duration_seconds{result,profile} and
// scheduler_pending_pods{queue}.
package scheduler
