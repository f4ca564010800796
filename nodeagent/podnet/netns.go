package podnet

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// NetNS is one network namespace attached to a bridge: the far end of one of the bridge's veths.
type NetNS struct {
	// Inode identifies the namespace (0 when no mount or process of it was found).
	Inode uint64
	// Path is where it is mounted (/run/netns/cni-...), "" when it is not.
	Path string
	// HostVeth is the bridge's end of its veth.
	HostVeth string
	// IPs are the addresses of the namespace's end of that veth.
	IPs []netip.Addr
	// Pids are the processes in the namespace.
	Pids []int
	// Shims are the containerd shims of those processes (their parents), with the socket of the
	// containerd each reports to and the sandbox they serve.
	Shims []Shim
}

// Shim is one containerd shim of a pod.
type Shim struct {
	Pid     int
	Socket  string
	Sandbox string
}

func (n NetNS) String() string {
	name := n.Path
	if name == "" {
		name = "veth " + n.HostVeth
	}
	var ips []string
	for _, ip := range n.IPs {
		ips = append(ips, ip.String())
	}
	return fmt.Sprintf("%s (%s)", name, strings.Join(ips, ","))
}

// mountinfoPath is read for the mount table.
var mountinfoPath = "/proc/self/mountinfo"

// Mount is one line of mountinfo: the mount point and the filesystem type.
type Mount struct{ Point, FSType string }

// ParseMountinfo reads /proc/<pid>/mountinfo text (mount points unescaped).
func ParseMountinfo(r io.Reader) ([]Mount, error) {
	var out []Mount
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		// id parent major:minor root mountpoint options [optional...] - fstype source superopts
		if len(f) < 7 {
			continue
		}
		sep := -1
		for i := 6; i < len(f); i++ {
			if f[i] == "-" {
				sep = i
				break
			}
		}
		if sep < 0 || sep+1 >= len(f) {
			continue
		}
		out = append(out, Mount{Point: unescapeMount(f[4]), FSType: f[sep+1]})
	}
	return out, sc.Err()
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space, ...).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// Mounts reads this process's mount table.
func Mounts() ([]Mount, error) {
	f, err := os.Open(mountinfoPath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ParseMountinfo(f)
}

// MountsUnder returns the mount points at or below dir, deepest first (the order to unmount them).
func MountsUnder(mounts []Mount, dir string) []string {
	dir = filepath.Clean(dir)
	seen := map[string]bool{}
	var out []string
	for _, m := range mounts {
		p := filepath.Clean(m.Point)
		if (p == dir || strings.HasPrefix(p, dir+"/")) && !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if ci, cj := strings.Count(out[i], "/"), strings.Count(out[j], "/"); ci != cj {
			return ci > cj
		}
		return out[i] > out[j]
	})
	return out
}

// Attached finds the network namespaces at the far end of the veths of bridge, with their
// addresses, processes and shims. It reads kernel state only: the bridge's ports (netlink), each
// port's peer namespace id, the namespaces mounted (nsfs in mountinfo) or held by a process
// (/proc/*/ns/net), matched by their id. A port whose namespace is neither mounted nor held
// is returned with its veth only. No bridge: nothing attached.
func Attached(bridge string, procs []Proc) ([]NetNS, error) {
	br, err := netlink.LinkByName(bridge)
	if err != nil {
		var nf netlink.LinkNotFoundError
		if errors.As(err, &nf) {
			return nil, nil
		}
		return nil, fmt.Errorf("bridge %s: %w", bridge, err)
	}
	links, err := netlink.LinkList()
	if err != nil {
		return nil, fmt.Errorf("listing links: %w", err)
	}
	// The bridge's veths, by the id of their peer's namespace.
	ports := map[int]netlink.Link{}
	var unresolved []netlink.Link
	for _, l := range links {
		a := l.Attrs()
		if a.MasterIndex != br.Attrs().Index || l.Type() != "veth" {
			continue
		}
		if a.NetNsID < 0 {
			unresolved = append(unresolved, l)
			continue
		}
		ports[a.NetNsID] = l
	}
	if len(ports) == 0 && len(unresolved) == 0 {
		return nil, nil
	}
	// Candidate namespaces: the mounted ones, then those of processes.
	type cand struct {
		inode uint64
		path  string // a mount, or /proc/<pid>/ns/net
		named bool
	}
	var cands []cand
	seen := map[uint64]bool{}
	mounts, err := Mounts()
	if err != nil {
		return nil, fmt.Errorf("reading mounts: %w", err)
	}
	for _, m := range mounts {
		if m.FSType != "nsfs" {
			continue
		}
		var st syscall.Stat_t
		if err := syscall.Stat(m.Point, &st); err != nil || seen[st.Ino] {
			continue
		}
		seen[st.Ino] = true
		cands = append(cands, cand{inode: st.Ino, path: m.Point, named: true})
	}
	for _, p := range procs {
		if p.NetNS == 0 || seen[p.NetNS] {
			continue
		}
		seen[p.NetNS] = true
		cands = append(cands, cand{inode: p.NetNS, path: filepath.Join(procRoot, fmt.Sprint(p.Pid), "ns", "net")})
	}
	var out []NetNS
	for _, c := range cands {
		ns, err := netns.GetFromPath(c.path)
		if err != nil {
			continue
		}
		id, err := netlink.GetNetNsIdByFd(int(ns))
		if err != nil || id < 0 {
			ns.Close()
			continue
		}
		port, ok := ports[id]
		if !ok {
			ns.Close()
			continue
		}
		delete(ports, id)
		n := NetNS{Inode: c.inode, HostVeth: port.Attrs().Name}
		if c.named {
			n.Path = c.path
		}
		n.IPs = peerAddrs(ns, port.Attrs().ParentIndex)
		ns.Close()
		out = append(out, n)
	}
	for _, l := range unresolved {
		out = append(out, NetNS{HostVeth: l.Attrs().Name})
	}
	for _, l := range ports {
		out = append(out, NetNS{HostVeth: l.Attrs().Name})
	}
	addProcs(out, procs)
	sort.Slice(out, func(i, j int) bool { return out[i].HostVeth < out[j].HostVeth })
	return out, nil
}

// peerAddrs returns the IPv4 and IPv6 (global) addresses of link index idx in namespace ns.
func peerAddrs(ns netns.NsHandle, idx int) []netip.Addr {
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return nil
	}
	defer h.Close()
	l, err := h.LinkByIndex(idx)
	if err != nil {
		return nil
	}
	addrs, err := h.AddrList(l, netlink.FAMILY_ALL)
	if err != nil {
		return nil
	}
	var out []netip.Addr
	for _, a := range addrs {
		ip, ok := netip.AddrFromSlice(a.IP)
		if ok && !ip.Unmap().IsLinkLocalUnicast() {
			out = append(out, ip.Unmap())
		}
	}
	return out
}

// addProcs fills the processes of each namespace and their shims.
func addProcs(nss []NetNS, procs []Proc) {
	byPid := map[int]Proc{}
	for _, p := range procs {
		byPid[p.Pid] = p
	}
	for i := range nss {
		if nss[i].Inode == 0 {
			continue
		}
		shims := map[int]bool{}
		for _, p := range procs {
			if p.NetNS != nss[i].Inode {
				continue
			}
			nss[i].Pids = append(nss[i].Pids, p.Pid)
			if parent, ok := byPid[p.PPid]; ok && parent.IsShim() && !shims[parent.Pid] {
				shims[parent.Pid] = true
				nss[i].Shims = append(nss[i].Shims, Shim{Pid: parent.Pid, Socket: parent.ShimAddress(), Sandbox: parent.ShimID()})
			}
		}
	}
}

// IsSkiffBridge tells a bridge name of Skiff's nodes (containerd.BridgeNameFor): skiff0 or
// skiff-<8 hex digits>.
func IsSkiffBridge(name string) bool {
	if name == "skiff0" {
		return true
	}
	hex, ok := strings.CutPrefix(name, "skiff-")
	if !ok || len(hex) != 8 {
		return false
	}
	_, err := strconv.ParseUint(hex, 16, 32)
	return err == nil
}

// BridgesWithSubnet returns the bridges other than self with an address whose prefix overlaps
// subnet.
func BridgesWithSubnet(self string, subnet netip.Prefix) ([]string, error) {
	links, err := netlink.LinkList()
	if err != nil {
		return nil, fmt.Errorf("listing links: %w", err)
	}
	var out []string
	for _, l := range links {
		if l.Type() != "bridge" || l.Attrs().Name == self {
			continue
		}
		addrs, err := netlink.AddrList(l, netlink.FAMILY_ALL)
		if err != nil {
			continue
		}
		for _, a := range addrs {
			if a.IPNet == nil {
				continue
			}
			ip, ok := netip.AddrFromSlice(a.IP)
			ones, _ := a.Mask.Size()
			if ok && netip.PrefixFrom(ip.Unmap(), ones).Masked().Overlaps(subnet) {
				out = append(out, l.Attrs().Name)
				break
			}
		}
	}
	sort.Strings(out)
	return out, nil
}
