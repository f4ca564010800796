// Package eviction is the node agent's node-pressure eviction, after the kubelet's eviction
// manager (pkg/kubelet/eviction): it observes the node's signals (memory.available,
// nodefs.available, nodefs.inodesFree, imagefs.available, imagefs.inodesFree, pid.available)
// from the stats Summary, compares them with hard and soft thresholds ("memory.available<100Mi",
// "nodefs.available<10%", soft ones after their grace period), reports the MemoryPressure,
// DiskPressure and PIDPressure node conditions (held for the pressure transition period after
// the last observation), refuses new pods under pressure as the kubelet's admission does, and
// evicts one pod per round while a threshold is met: ranked as upstream (memory: pods using more
// than they request first, then lower priority, then usage above requests; disk: the same with
// ephemeral storage; PIDs: priority, then process count), never critical pods, with upstream's
// message ("The node was low on resource: memory. Threshold quantity: ..., available: ...").
//
// ParseThresholds, Observe, Decide and Rank are pure and table-tested; Manager runs them on a
// period with injected stats, pods, eviction function and clock.
package eviction
