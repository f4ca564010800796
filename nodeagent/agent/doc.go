// Package agent is Skiff's kubelet loop: it registers the Node (capacity, addresses, node
// info, conditions) and renews its Lease, watches the pods bound to its node, and runs them
// through kuberuntime on a CRI runtime: volumes (package volumes), environment, DNS, probes
// (package probes), pod workers, status written only when it changed, graceful termination
// ending with the API object's deletion, events as the kubelet words them, and metrics on a
// registry of its own. An agent restarted on the same runtime adopts its sandboxes and
// containers through their labels; sandboxes of pods the API no longer knows are removed.
//
// A node given no pod CIDR starts with AwaitPodCIDR: it registers NotReady and waits for the node
// IPAM controller to set spec.podCIDR, which its runtime's pod network then uses.
package agent
