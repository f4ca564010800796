// Package routes makes every node's pod subnet reachable from this node, as a host-gw network
// plugin does: for each other Node with spec.podCIDR(s) and an InternalIP that is not an
// address of this machine, a route "<podCIDR> via <InternalIP>" (protocol 201, so Skiff's routes
// are told apart from others and the stale ones removed), updated from a Node informer. Nodes
// on the same machine need no route (their bridges are local); the package makes sure the
// kernel forwards between them (net.ipv4.ip_forward, and ACCEPT rules for the pod subnets when
// the iptables FORWARD policy is DROP). Cleanup (`skiff agent --cleanup`) removes the routes
// and those FORWARD rules without a cluster.
package routes
