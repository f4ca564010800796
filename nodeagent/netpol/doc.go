// Package netpol enforces networking.k8s.io/v1 NetworkPolicies on a node, with upstream
// Kubernetes' semantics, in one nftables table (ip family, `skiff-netpol-<node>`) programmed
// through sigs.k8s.io/knftables, as the service proxy (nodeagent/proxy) programs its own.
//
// It watches NetworkPolicies, Pods and Namespaces. Plan (pure, table-tested) decides: a pod
// of this node (spec.nodeName; no hostNetwork; with an IPv4 address) selected by a policy
// whose policyTypes hold Ingress is isolated for ingress, and then only admits the traffic
// the ingress rules of the policies selecting it allow (their union); likewise for Egress.
// Peers: podSelector (the policy's namespace), namespaceSelector (with podSelector: both
// must match), ipBlock with except; an empty from/to admits everybody and a rule without
// ports every port; ports are TCP, UDP or SCTP, numbered (with endPort, a range) or named
// (resolved against the target pod's container ports for ingress, against each destination
// pod's for egress). policyTypes default as the API server's (Ingress, plus Egress when the
// policy has egress rules).
//
// The table has a chain on the forward hook (filter priority): the service proxy DNATs in
// prerouting, so it sees the real destination pod, and policies apply to traffic through
// Services too. Established and related packets pass; then `ip daddr vmap @ingress-isolated`
// jumps to the destination pod's ingress chain and `ip saddr vmap @egress-isolated` to the
// source pod's egress chain. Each pod chain returns what a rule admits (the peer sets are
// named sets, so pod churn changes elements, not rules) and drops the rest, so a packet
// between two isolated pods must pass both; a pod always reaches itself. Traffic between a
// pod and its own node (input and output: probes, the node's DNS) never crosses forward and
// is always allowed, as upstream. Traffic between pods of one
// bridge reaches the forward hook through br_netfilter (Config.ConfigureHost sets it up, as
// the service proxy does).
//
// Syncs are coalesced within MinSyncInterval and write only what changed; a periodic full
// resync rewrites everything. Start never flushes the table: the first sync after a restart
// replaces the old rules in one atomic transaction. Cleanup removes the table. IPv4 only:
// IPv6 traffic is not filtered.
package netpol
