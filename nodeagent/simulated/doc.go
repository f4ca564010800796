// Package simulated is the node agent's explicit simulated mode, in the manner of kwok: it
// registers a Node, renews its Lease in kube-node-lease, marks the pods bound to it Running and
// Ready with an IP from the node's pod CIDR (Config.PodCIDR, or, without one, the podCIDR the node
// IPAM controller assigns to its Node; init containers shown completed, sidecars running and
// ready; ephemeral containers running once added), reports the pod generation it saw (observedGeneration, as the kubelet), and completes
// their graceful deletion, without running
// any container. It exists for scale tests, benchmarks and controller tests; it is never
// a fallback for the real agent.
package simulated
