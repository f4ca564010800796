// Package nodeipam is the node IPAM controller, upstream kube-controller-manager's nodeipam
// controller with its range allocator (--allocate-node-cidrs, --cluster-cidr,
// --node-cidr-mask-size): every Node without spec.podCIDR gets the next free subnet of the
// cluster CIDR (default 10.244.0.0/16 cut into /24s; /64s for IPv6) in spec.podCIDR and
// spec.podCIDRs, which the API lets be set once. Dual-stack cluster CIDRs (an IPv4 and an IPv6
// one, comma-separated) give each node one subnet of each family.
//
// The state is the Nodes themselves: before the first allocation the controller lists every
// Node and marks their podCIDRs used (a podCIDR a node brought itself, e.g. with the agent's
// --pod-cidr, included; one outside the cluster CIDR is ignored), so allocations survive
// restarts and leader changes. A deleted Node's subnets are freed. The service range is kept
// out where it overlaps. When the range is full the Node gets upstream's event (type Normal,
// reason CIDRNotAvailable, "Node NAME status is now: CIDRNotAvailable", source cidrAllocator)
// and is tried again every RetryPeriod; a failed write gets CIDRAssignmentFailed. As upstream's
// range allocator, it sets no NetworkUnavailable condition (that is the route controller's).
//
// The subnet bitmap is package cidrset, pure and table-tested.
package nodeipam
