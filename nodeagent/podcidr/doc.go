// Package podcidr waits for a node's pod subnet: a node started without --pod-cidr registers its
// Node without spec.podCIDR and waits here until the node IPAM controller (controllers/nodeipam)
// has set it (watching its Node, not polling it), then configures its pod network with it.
// Shared by the node agent and simulated nodes.
package podcidr
