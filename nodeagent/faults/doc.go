// Package faults is the node's side of chaos.skiff.dev Faults: a Watcher caches every Fault and
// tells a node whether its heartbeats must stop (NodeHeartbeat), whether an image pull must fail
// (ImagePull, through the Images wrapper of the CRI image service) and which pods' containers to
// kill (PodKill, carried out through CRI by PodKiller and recorded on the Fault's status).
// Traced, a Gate records "stop heartbeats" and "heartbeats stopped" about the Fault, and a
// PodKiller with a Tracer "kill containers" about each pod, caused by the Fault (insight/trace).
package faults
