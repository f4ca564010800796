// Package nodelease keeps a node's Lease in kube-node-lease, the heartbeat node lifecycle reads.
package nodelease
