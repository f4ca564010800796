// Package nodelifecycle watches node health and acts on it as upstream's node lifecycle, taint
// eviction and pod garbage collection controllers do.
//
// Health: every MonitorPeriod each node's Lease in kube-node-lease (named after the node) and its
// Ready condition heartbeat are checked. The time the controller last saw either move forward is
// the node's probe time; a node not heard from for GracePeriod gets its Ready, MemoryPressure,
// DiskPressure and PIDPressure conditions set to Unknown with reason NodeStatusUnknown and
// message "Kubelet stopped posting node status." (conditions never posted get reason
// NodeStatusNeverUpdated). A node first seen starts with a full grace period. The controller
// never sets Ready back to True: the node agent does.
//
// Taints, from the node's conditions (TaintNodesByCondition plus the NoExecute tainting pass):
// Ready Unknown gives node.kubernetes.io/unreachable NoSchedule and NoExecute, Ready False gives
// node.kubernetes.io/not-ready NoSchedule and NoExecute, memory/disk/PID pressure and network
// unavailability their NoSchedule taints, spec.unschedulable node.kubernetes.io/unschedulable.
// They are removed when the condition clears.
//
// Pods on a node whose Ready condition is not True get their Ready condition set to False
// (MarkPodsNotReady). Pods on a node with NoExecute taints are deleted (an ordinary delete, not
// the eviction API, after a DisruptionTarget condition and a "TaintManagerEviction" event) unless
// they tolerate every such taint; with tolerationSeconds they are deleted that long after the
// controller first saw them tainted, and without it they stay. Pods bound to a node that no
// longer exists are marked Failed and deleted after OrphanQuarantine (upstream pod GC).
//
// Spans (insight/trace), about the node: "Lease not renewed" (from the last renewal or heartbeat
// seen until the node is given up), "mark Node Unknown", "taint Node" (skiff.taints), "mark Pod
// not ready" and, as controller:taint-eviction, "evict Pod", both with the pod as their effect,
// so that a node's story goes on with its pods' eviction and replacement.
//
// Not implemented: upstream's zone disruption modes (halting evictions when a whole zone or the
// whole cluster is unhealthy) and its eviction rate limits.
package nodelifecycle
