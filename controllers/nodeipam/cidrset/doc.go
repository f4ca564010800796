// Package cidrset is the node IPAM controller's pure allocation logic, after upstream's
// pkg/controller/nodeipam/ipam/cidrset: a cluster CIDR cut into node subnets of one mask size,
// with a bitmap of the subnets in use. AllocateNext hands out the next free subnet round-robin
// from the last one given, Occupy marks subnets taken by someone else (a node's explicit
// podCIDR, the service range), Release gives them back. It does no I/O and keeps no locks: the
// controller serializes its calls.
package cidrset
