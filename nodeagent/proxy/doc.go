// Package proxy is Skiff's service proxy, the kube-proxy of every node, modelled on upstream
// kube-proxy's nftables mode. It watches Services and IPv4 EndpointSlices and programs one
// nftables table (ip family) through sigs.k8s.io/knftables:
//
//   - ClusterIP:port is DNATed to one of the service's ready endpoints with equal probability
//     (numgen random + a verdict map per service port); services without endpoints reject
//     (icmp port-unreachable), as upstream;
//   - NodePorts answer on the node's local addresses (fib daddr type local, not 127.0.0.0/8),
//     LoadBalancer ingress IPs and externalIPs on their address and port;
//   - spec.loadBalancerSourceRanges: new connections to a LoadBalancer ingress IP from other
//     sources are dropped before DNAT (a firewall-ips verdict map to a per-service chain, as
//     upstream; NodePorts and externalIPs are not restricted);
//   - sessionAffinity ClientIP through per-endpoint sets with timeouts;
//   - externalTrafficPolicy and internalTrafficPolicy Local restrict to this node's endpoints
//     (drop when it has none);
//   - traffic is masqueraded where upstream does: off-cluster sources to a ClusterIP, external
//     (NodePort, LoadBalancer) traffic with externalTrafficPolicy Cluster, and hairpin traffic
//     (a pod reaching itself through a service).
//
// After a sync that changes a UDP service's serving endpoints or deletes it, the conntrack
// entries of UDP flows to its addresses and NodePorts whose replies come from no serving
// endpoint are deleted through netlink (upstream's CleanStaleEntries), so that clients move
// to the live endpoints at once instead of when the entry times out.
//
// Changes are coalesced and applied as one nft transaction within MinSyncInterval; each sync
// writes only what changed since the last one (chains whose rules changed, map elements added
// or removed), and a periodic full resync rewrites everything. Start never flushes the table:
// the first sync after a restart replaces the old rules in one atomic transaction, so the
// services keep working throughout. Cleanup removes the table.
//
// A sync that programs rules for pods whose endpoints appeared, went or changed their readiness
// since the last sync is a span "program rules: web-1 ready" of component proxy
// (Config.TracerProvider, insight/trace) naming those pods in skiff.related_uids (at most
// trace.MaxRelated), so that a pod's trace shows when each node's proxy made it reachable;
// other syncs are not kept, and with tracing off the pods' endpoints are not compared.
package proxy
