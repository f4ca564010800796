// Package faults is the node's side of chaos.skiff.dev Faults: a Watcher caches every Fault and
// tells a node whether its heartbeats must stop (NodeHeartbeat), whether an image pull must fail
// (ImagePull, through the Images wrapper of the CRI image service) and which pods' containers to
// kill (PodKill, carried out through CRI by PodKiller and recorded on the Fault's status).
package faults
