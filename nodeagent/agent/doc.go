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
// capacity are kept. Statuses carry the pod generation they were computed from
// (status.observedGeneration and the agent's conditions'); a spec change gets its status
// written before the runtime acts on it, as the kubelet's.
//
// spec.activeDeadlineSeconds is enforced as upstream's active deadline handler (deadline.go):
// every second the pods are checked against their status' startTime, and a pod active longer
// than its deadline (read afresh, so a decrease takes effect) gets a DeadlineExceeded event,
// phase Failed with reason DeadlineExceeded, and its containers are stopped with the grace
// period. Containers' postStart and preStop hooks run in package kuberuntime.
//
// The agent is also its node's skiff.dev/local-path provisioner (package localpath, off with
// Config.DisableLocalPath): claims scheduled to the node get a directory under
// <DataDir>/storage and a local PersistentVolume pinned to the node, deleted once released.
// Pods mount claims and generic ephemeral volumes through package volumes.
//
// Resources are enforced as the kubelet's cgroup manager (package cm, cgroups.go; on with
// Config.CgroupRoot, /skiff/<node> for `skiff up` and `skiff agent`): at start the agent creates
// <root>/kubepods and its burstable and besteffort cgroups and removes the empty pod cgroups an
// earlier run left; before a pod's sandbox it creates the pod's cgroup pod<uid> with the
// pod-level limits (cpu shares, CFS quota, memory limit, --pod-max-pids) and gives it to
// containerd as the sandbox's CgroupParent, so the pod's containers run under it; the cgroup goes
// when the pod's containers are stopped or removed (and with orphaned pods). Containers keep
// their own limits (kuberuntime); a container killed by the kernel over its memory limit is
// reported as containerd says, terminated with reason OOMKilled and exit code 137.
//
// Pods are resized in place (resize.go), as the kubelet with InPlacePodVerticalScaling: package
// allocation keeps what the node allocated to each pod's containers and what they run with
// (a checkpoint in the pod's directory); a sync first lets a changed spec be allocated if it fits
// beside the other pods (else PodResizePending/Deferred), then runs the pod as allocated: the
// pod cgroup is only raised while its containers are resized (cm.GrowPod), kuberuntime updates
// the running containers through CRI UpdateContainerResources (or restarts those whose
// resizePolicy says RestartContainer), and once every running container has its allocation the
// pod cgroup gets its exact values and PodResizeInProgress goes (ResizeCompleted). The status
// shows containerStatuses[].allocatedResources and resources.
//
// Housekeeping runs beside the pods, as the kubelet's: container log rotation (package logs,
// Config.ContainerLogMaxSize and ContainerLogMaxFiles), image garbage collection by the image
// file system's use (package imagegc; Skiff's builtin images are never removed) and, every
// ContainerGCPeriod, the container GC (kuberuntime.PlanGC: pods the API has, the workers know
// or the agent is finishing keep their containers).
//
// The Node's status, its registration and posting, and the pod status write are package
// apistatus's, shared with simulated nodes (nodeagent/simulated), which also run the agent's pod
// workers, kuberuntime and status generation on an in-memory runtime.
//
// A node given no pod CIDR starts with AwaitPodCIDR: it registers NotReady and waits for the node
// IPAM controller to set spec.podCIDR, which its runtime's pod network then uses.
package agent
