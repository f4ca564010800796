package podnet

import (
	"net/netip"
	"path/filepath"
	"slices"
)

// Ownership is what a node knows of its own pods: the network namespaces of its containerd's
// sandboxes and that containerd's socket.
type Ownership struct {
	// NetNSPaths and NetNSInodes are the namespaces of the node's sandboxes (from CRI).
	NetNSPaths  map[string]bool
	NetNSInodes map[uint64]bool
	// Socket is the node's containerd socket: a pod whose shim reports to it is the node's.
	Socket string
}

// Owns tells whether a namespace attached to the node's bridge is one of the node's pods.
func (o Ownership) Owns(n NetNS) bool {
	if n.Path != "" && o.NetNSPaths[n.Path] {
		return true
	}
	if n.Inode != 0 && o.NetNSInodes[n.Inode] {
		return true
	}
	for _, s := range n.Shims {
		if o.Socket != "" && filepath.Clean(s.Socket) == filepath.Clean(o.Socket) {
			return true
		}
	}
	return false
}

// Foreign returns the namespaces attached to the node's bridge that are not the node's own pods:
// sandboxes left by another cluster that used the same bridge (a node of the same name on
// another data dir), or veths whose namespace is gone from every mount and process.
func Foreign(attached []NetNS, own Ownership) []NetNS {
	var out []NetNS
	for _, n := range attached {
		if !own.Owns(n) {
			out = append(out, n)
		}
	}
	return out
}

// ReservedID is the container ID of the host-local IPAM entries that Skiff writes for addresses
// live on the bridge that the store does not know of, so that host-local never hands them out.
const ReservedID = "skiff-live-on-bridge"

// PlanReservations decides the host-local IPAM entries to write and to remove: every address of
// subnet live on the bridge that the store does not hold is reserved (ReservedID); a reservation
// of Skiff's whose address is no longer live is released. store maps the stored addresses to the
// container ID holding them.
func PlanReservations(subnet netip.Prefix, live []netip.Addr, store map[netip.Addr]string) (reserve, release []netip.Addr) {
	isLive := map[netip.Addr]bool{}
	for _, ip := range live {
		ip = ip.Unmap()
		if !subnet.Contains(ip) || isLive[ip] {
			continue
		}
		isLive[ip] = true
		if _, held := store[ip]; !held {
			reserve = append(reserve, ip)
		}
	}
	for ip, id := range store {
		if id == ReservedID && !isLive[ip] {
			release = append(release, ip)
		}
	}
	slices.SortFunc(reserve, netip.Addr.Compare)
	slices.SortFunc(release, netip.Addr.Compare)
	return reserve, release
}

// LiveAddrs returns the addresses of the namespaces.
func LiveAddrs(nss []NetNS) []netip.Addr {
	var out []netip.Addr
	for _, n := range nss {
		out = append(out, n.IPs...)
	}
	return out
}
