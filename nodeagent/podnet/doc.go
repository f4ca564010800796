// Package podnet finds and removes what a node's pods leave on the machine: the network
// namespaces attached to a node's bridge (with their addresses, processes and containerd
// shims), the shims of a containerd, the mounts under a data dir. Pods outlive their agent (as
// with the kubelet), so a node starting on a bridge that another cluster's node of the same
// name used finds that cluster's pods still there: Sweep removes them and keeps the node's
// host-local IPAM store from handing out an address that is live on the bridge. `skiff killall`
// and `skiff reset` use the same pieces to stop every pod of a node without its cluster.
//
// Attached reads kernel state only (netlink and /proc), no caches: the bridge's veths name
// their peer namespace by id, which is matched to the mounted (nsfs) and process-held
// namespaces. An ARP or neighbour table would only show the addresses the host has talked to,
// and a bridge FDB only MAC addresses; scanning the namespaces is exact and costs one netlink
// dump per namespace. The decisions (Foreign, PlanReservations, Descendants) are pure and
// table-tested.
package podnet
