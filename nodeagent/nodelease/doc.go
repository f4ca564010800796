// Package nodelease keeps a node's Lease in kube-node-lease, the heartbeat node lifecycle reads.
// A Renewer, as the kubelet's lease controller, updates the Lease it wrote last (one request a
// renewal) and reads it again only when that fails; after a failed renewal Renewer.Next retries
// from 200 ms doubling to 7 s rather than a whole interval later, so the nodes are back within
// seconds of a control-plane restart. Renewer.Heartbeat runs one renewal under a deadline of the
// interval and returns the wait before the next: the real agent's Lease loop and a simulated
// pool's Lease task both renew through it.
package nodelease
