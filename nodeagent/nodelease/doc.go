// Package nodelease keeps a node's Lease in kube-node-lease, the heartbeat node lifecycle reads.
// A Renewer, as the kubelet's lease controller, updates the Lease it wrote last (one request a
// renewal) and reads it again only when that fails; after a failed renewal Renewer.Next retries
// from 200 ms doubling to 7 s rather than a whole interval later, so the nodes are back within
// seconds of a control-plane restart. The real agent and simulated nodes use it.
package nodelease
