// Package nodeagent is Skiff's kubelet: it turns the pods bound to its node into CRI calls
// against containerd and reports their status. Subpackages: agent (the loop), runtime/containerd,
// images, kuberuntime, cm (the node's cgroups: kubepods, QoS and pod cgroups with the pod-level
// limits), allocation (what the node allocated to and actuated for each pod: in-place resize),
// runtimeclass (a pod's RuntimeClass to its sandbox's runtime handler), status,
// podworkers, volumes, probes, server (logs/exec/port-forward,
// every request authenticated and authorized through the API server as the kubelet's),
// join (TLS bootstrap with a token), podnet (the pods a node's bridge holds: the sweep of another
// cluster's leftovers at start, and what `skiff killall` removes), noderecord (the nodes' records
// in the run directory) and simulated (an explicit mode without containers).
package nodeagent
