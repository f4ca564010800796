// Package nodeagent is Skiff's kubelet: it turns the pods bound to its node into CRI calls
// against containerd and reports their status. Subpackages: agent (the loop), runtime/containerd,
// images, kuberuntime, status, podworkers, volumes, probes, server (logs/exec/port-forward,
// every request authenticated and authorized through the API server as the kubelet's),
// join (TLS bootstrap with a token) and simulated (an explicit mode without containers).
package nodeagent
