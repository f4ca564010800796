package proxy

import (
	"context"
	"fmt"
	"maps"
	"net/netip"
	"strconv"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// ConntrackFlow is the part of an IPv4 UDP conntrack entry the stale-entry decision reads.
type ConntrackFlow struct {
	// OrigDst and OrigDstPort are where the client sent the packet (a service address).
	OrigDst     netip.Addr
	OrigDstPort uint16
	// ReplySrc is where replies come from: the endpoint the flow was DNATed to (OrigDst
	// when it was not translated).
	ReplySrc netip.Addr
}

// Conntrack deletes conntrack entries.
type Conntrack interface {
	// DeleteUDP deletes the IPv4 UDP entries for which stale is true and returns how many.
	DeleteUDP(ctx context.Context, stale func(ConntrackFlow) bool) (int, error)
}

// NewNetlinkConntrack returns the kernel's conntrack table through netlink: of the network
// namespace at netnsPath (e.g. /run/netns/<name>), or of this process's when it is empty.
func NewNetlinkConntrack(netnsPath string) Conntrack { return netlinkConntrack{netns: netnsPath} }

type netlinkConntrack struct{ netns string }

// staleFilter adapts a decision to netlink's flow filter.
type staleFilter func(ConntrackFlow) bool

func (f staleFilter) MatchConntrackFlow(fl *netlink.ConntrackFlow) bool {
	if fl.Forward.Protocol != unix.IPPROTO_UDP {
		return false
	}
	dst, ok1 := netip.AddrFromSlice(fl.Forward.DstIP.To4())
	src, ok2 := netip.AddrFromSlice(fl.Reverse.SrcIP.To4())
	if !ok1 || !ok2 {
		return false
	}
	return f(ConntrackFlow{OrigDst: dst, OrigDstPort: fl.Forward.DstPort, ReplySrc: src})
}

func (c netlinkConntrack) DeleteUDP(_ context.Context, stale func(ConntrackFlow) bool) (int, error) {
	var h *netlink.Handle
	var err error
	if c.netns == "" {
		h, err = netlink.NewHandle(unix.NETLINK_NETFILTER)
	} else {
		var ns netns.NsHandle
		if ns, err = netns.GetFromPath(c.netns); err != nil {
			return 0, fmt.Errorf("conntrack: network namespace %s: %w", c.netns, err)
		}
		defer ns.Close()
		h, err = netlink.NewHandleAt(ns, unix.NETLINK_NETFILTER)
	}
	if err != nil {
		return 0, fmt.Errorf("conntrack: netlink: %w", err)
	}
	defer h.Close()
	n, err := h.ConntrackDeleteFilters(netlink.ConntrackTable, unix.AF_INET, staleFilter(stale))
	if err != nil {
		return int(n), fmt.Errorf("conntrack: deleting stale UDP entries: %w", err)
	}
	return int(n), nil
}

// udpState is what the UDP services look like for conntrack: for each service address and
// port (ClusterIPs, externalIPs, LoadBalancer IPs) and each NodePort, the IPs of the serving
// endpoints. Entries of a UDP flow to one of them whose replies come from anywhere else go
// to an endpoint that is gone, and clients would keep sending there until the entry times
// out (UDP has no connection to fail): upstream's conntrack.CleanStaleEntries.
type udpState struct {
	services  map[string]map[netip.Addr]bool // "ip:port"
	nodePorts map[uint16]map[netip.Addr]bool
}

func udpStateOf(services []svcEndpoints) udpState {
	st := udpState{services: map[string]map[netip.Addr]bool{}, nodePorts: map[uint16]map[netip.Addr]bool{}}
	for _, s := range services {
		if s.sp.protocol != "udp" {
			continue
		}
		// Several ports of one service may share a port number with different endpoints:
		// each address keeps the union of its serving endpoints.
		serving := map[netip.Addr]bool{}
		for _, e := range s.eps {
			if a, err := netip.ParseAddr(e.ip); err == nil && e.serving {
				serving[a] = true
			}
		}
		add := func(m map[netip.Addr]bool) map[netip.Addr]bool {
			if m == nil {
				m = map[netip.Addr]bool{}
			}
			for a := range serving {
				m[a] = true
			}
			return m
		}
		port := strconv.Itoa(int(s.sp.port))
		for _, ip := range append(append([]string{}, s.sp.clusterIPs...), s.sp.externalIPs...) {
			k := ip + ":" + port
			st.services[k] = add(st.services[k])
		}
		if s.sp.nodePort > 0 {
			np := uint16(s.sp.nodePort)
			st.nodePorts[np] = add(st.nodePorts[np])
		}
	}
	return st
}

func (s udpState) empty() bool { return len(s.services) == 0 && len(s.nodePorts) == 0 }

func (s udpState) equal(o udpState) bool {
	return maps.EqualFunc(s.services, o.services, maps.Equal) && maps.EqualFunc(s.nodePorts, o.nodePorts, maps.Equal)
}

// withGone adds the addresses and NodePorts of prev that s no longer has, with no serving
// endpoint: the entries of a deleted UDP service are all stale.
func (s udpState) withGone(prev udpState) udpState {
	out := udpState{services: maps.Clone(s.services), nodePorts: maps.Clone(s.nodePorts)}
	for k := range prev.services {
		if _, ok := out.services[k]; !ok {
			out.services[k] = nil
		}
	}
	for k := range prev.nodePorts {
		if _, ok := out.nodePorts[k]; !ok {
			out.nodePorts[k] = nil
		}
	}
	return out
}

// stale says whether a UDP flow must be deleted: it was sent to a service address (or a
// NodePort, translated) and its replies do not come from a serving endpoint of it.
func (s udpState) stale(f ConntrackFlow) bool {
	if eps, ok := s.services[f.OrigDst.String()+":"+strconv.Itoa(int(f.OrigDstPort))]; ok {
		return !eps[f.ReplySrc]
	}
	// A NodePort is any local address's port: only translated flows are the proxy's (an
	// untranslated flow to that port elsewhere is none of its business).
	if eps, ok := s.nodePorts[f.OrigDstPort]; ok && f.ReplySrc != f.OrigDst && !eps[f.ReplySrc] {
		return true
	}
	return false
}
