// Package allocation is the node agent's allocation manager for in-place pod resize, after the
// kubelet's pkg/kubelet/allocation: which resources the node allocated to each container of a
// pod (the spec at admission, then each resize the node accepted) and which it actuated (what
// the runtime and cgroups have), kept per pod in a small checkpoint file beside the pod's
// volumes so that an agent restart neither loses a pending resize nor repeats one.
//
//   - allocation.go, pure: State (allocated and actuated resources by container, the
//     PodResizePending and PodResizeInProgress conditions), Initial, UpdatePodFromAllocation
//     (the pod as the node runs it), HandleResize (upstream's handlePodResourcesResize: a
//     changed spec is allocated when the pod's requests fit the node's allocatable beside the
//     other pods' allocations, else it stays PodResizePending/Deferred with the kubelet's
//     "Node didn't have enough resource" message; events ResizeStarted, ResizeDeferred),
//     InProgress and Conditions (the PodResizeInProgress condition until every running
//     container's actuated resources are the allocated ones; ResizeCompleted, ResizeError).
//   - store.go: Store, the checkpoint files (load, save, remove).
//
// Infeasible is never decided here: upstream's reasons (static CPU or memory manager policies,
// swap, pod-level resources, Windows) do not apply to Skiff's nodes, and a resize beyond the
// node's allocatable is refused by the API server's PodResizeValidator.
package allocation
