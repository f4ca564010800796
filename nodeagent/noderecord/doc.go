// Package noderecord keeps the records of the Skiff nodes of this machine: each node, when it
// starts, writes a small JSON file (node name, data dir, containerd socket and dirs, bridge, pod
// CIDR, proxy table, process) into a run directory, by default /run/skiff/nodes (--run-dir or
// SKIFF_RUN_DIR). Pods outlive their node, so the records stay after the node stops: `skiff
// killall` reads them to find every node whose pods, network and mounts it must remove, and
// removes a record once its node is clean. A copy in the node's data dir lets `skiff reset`
// find the node of a data dir without the run directory.
package noderecord
