// Package nodelease keeps a node's Lease in kube-node-lease, the heartbeat node lifecycle reads.
// A Renewer, as the kubelet's lease controller, updates the Lease it wrote last (one request a
// renewal) and reads it again only when that fails; the real agent and simulated nodes use it.
package nodelease
