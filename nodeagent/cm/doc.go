// Package cm is the node agent's cgroup manager, as the kubelet's pkg/kubelet/cm with the
// cgroupfs driver (containerd's config sets SystemdCgroup = false, so the runtime and the agent
// agree on cgroupfs paths) on cgroup v1 or v2 (DetectVersion, as runc's unified-mode check):
//
//   - resources.go, pure: the node's cgroup names (Layout: <root>/kubepods for the node and
//     Guaranteed pods, kubepods/burstable and kubepods/besteffort, pod<uid> per pod; the root is
//     NodeRoot, /skiff/<node>, the kubelet's --cgroup-root, so that the Skiff nodes sharing a
//     machine have their own hierarchies under one Skiff-owned parent), a pod's QoS class
//     (status.qosClass, else apis/helper.QOSClass, the API server's), upstream's
//     ResourceConfigForPod (pod-level cpu shares, CFS quota and memory limit, pids limit),
//     kubepods' config from the node allocatable, the burstable cgroup's shares, and the files
//     each value goes to on v1 and v2 (ResourceConfig.Files, SharesToWeight).
//   - manager.go: Manager creates kubepods and the QoS cgroups (Init), a pod's cgroup before its
//     sandbox (EnsurePod; CgroupParent is the sandbox's CgroupParent, under which containerd and
//     runc put the pod's containers), raises its limits only while its containers are resized
//     in place (GrowPod: Grow of the current values, ParseLimits, as upstream raises pod limits
//     before containers and lowers them after), removes it with the pod (RemovePod: every hierarchy,
//     deepest first) and sweeps the empty pod cgroups an earlier run left (Sweep).
//
// Not done: hugepage limits, memory QoS (memory.min/low), the QoS cgroups' memory reservations
// (QOSReserved), the systemd driver, and killing processes left in a pod cgroup (upstream's
// Destroy does; here a cgroup with processes stays and RemovePod reports it), and pod-level
// resources' in-place resize (the API server refuses it).
package cm
