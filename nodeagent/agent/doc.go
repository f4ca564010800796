// Package agent is Skiff's kubelet loop: it registers the Node (capacity, addresses, node
// info, conditions) and renews its Lease, watches the pods bound to its node, and runs them
// through kuberuntime on a CRI runtime: volumes (package volumes), environment, DNS, probes
// (package probes), pod workers, status written only when it changed, graceful termination
// ending with the API object's deletion, events as the kubelet words them, and metrics on a
// registry of its own. An agent restarted on the same runtime adopts its sandboxes and
// containers through their labels; sandboxes of pods the API no longer knows are removed.
//
// A new pod is admitted first (admit.go): one whose host ports another pod here holds fails
// with reason NodePorts, as the kubelet's admission. Only changes of a pod's spec, labels,
// annotations or deletion (and statuses others wrote) sync it; the echo of the agent's own
// status write does not, so a failing pod keeps its retry back-off. Conditions others own
// (DisruptionTarget, readiness gates) and extended resources others advertise in the node's
// capacity are kept.
//
// The agent is also its node's skiff.dev/local-path provisioner (package localpath, off with
// Config.DisableLocalPath): claims scheduled to the node get a directory under
// <DataDir>/storage and a local PersistentVolume pinned to the node, deleted once released.
// Pods mount claims and generic ephemeral volumes through package volumes.
//
// Housekeeping runs beside the pods, as the kubelet's: container log rotation (package logs,
// Config.ContainerLogMaxSize and ContainerLogMaxFiles), image garbage collection by the image
// file system's use (package imagegc; Skiff's builtin images are never removed) and, every
// ContainerGCPeriod, the container GC (kuberuntime.PlanGC: pods the API has, the workers know
// or the agent is finishing keep their containers).
//
// A node given no pod CIDR starts with AwaitPodCIDR: it registers NotReady and waits for the node
// IPAM controller to set spec.podCIDR, which its runtime's pod network then uses.
package agent
