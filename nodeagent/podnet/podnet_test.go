package podnet

import (
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestParseStat(t *testing.T) {
	for _, tc := range []struct {
		stat      string
		ppid      int
		start     uint64
		wantError bool
	}{
		{stat: "1234 (containerd-shim) S 1 1234 1234 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 10 0 987654 0 0", ppid: 1, start: 987654},
		// A command name with spaces and parentheses.
		{stat: "77 (a b) (c)) R 42 77 77 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 0 0", ppid: 42, start: 5},
		{stat: "77 (x) R", wantError: true},
		{stat: "no parenthesis", wantError: true},
	} {
		ppid, start, err := ParseStat(tc.stat)
		if (err != nil) != tc.wantError || ppid != tc.ppid || start != tc.start {
			t.Errorf("ParseStat(%q) = %d, %d, %v; want %d, %d, error %v", tc.stat, ppid, start, err, tc.ppid, tc.start, tc.wantError)
		}
	}
}

func TestProcFlags(t *testing.T) {
	shim := Proc{Args: []string{"/usr/bin/containerd-shim-runc-v2", "-namespace", "k8s.io", "-id", "abc", "-address", "/d/node/containerd/containerd.sock"}}
	if !shim.IsShim() || shim.ShimAddress() != "/d/node/containerd/containerd.sock" || shim.ShimID() != "abc" {
		t.Errorf("shim: IsShim %v, address %q, id %q", shim.IsShim(), shim.ShimAddress(), shim.ShimID())
	}
	eq := Proc{Args: []string{"containerd-shim", "--address=/s.sock", "--id=x"}}
	if eq.ShimAddress() != "/s.sock" || eq.ShimID() != "x" {
		t.Errorf("shim with = flags: %q %q", eq.ShimAddress(), eq.ShimID())
	}
	notShim := Proc{Args: []string{"/bin/sleep", "-address", "/s.sock"}}
	if notShim.IsShim() || notShim.ShimAddress() != "" {
		t.Errorf("sleep is taken for a shim")
	}
	crd := Proc{Args: []string{"/usr/bin/containerd", "--config", "/d/config.toml"}}
	if crd.ContainerdConfig() != "/d/config.toml" || shim.ContainerdConfig() != "" {
		t.Errorf("containerd config: %q / %q", crd.ContainerdConfig(), shim.ContainerdConfig())
	}
	if !(Proc{Args: []string{"/tmp/x/skiff", "up"}}).IsSkiff() || (Proc{Args: []string{"skiffy"}}).IsSkiff() {
		t.Errorf("IsSkiff")
	}
}

func TestDescendantsAndShimsOf(t *testing.T) {
	procs := []Proc{
		{Pid: 1, PPid: 0, Args: []string{"init"}},
		{Pid: 10, PPid: 1, Args: []string{"containerd-shim-runc-v2", "-id", "s1", "-address", "/a/containerd.sock"}},
		{Pid: 11, PPid: 10, Args: []string{"/pause"}},
		{Pid: 12, PPid: 10, Args: []string{"sh"}},
		{Pid: 13, PPid: 12, Args: []string{"sleep"}},
		{Pid: 20, PPid: 1, Args: []string{"containerd-shim-runc-v2", "-id", "s2", "-address", "/b/containerd.sock"}},
		{Pid: 21, PPid: 20, Args: []string{"/pause"}},
	}
	if got, want := Descendants(procs, []int{10}), []int{10, 11, 12, 13}; !reflect.DeepEqual(got, want) {
		t.Errorf("Descendants(10) = %v, want %v", got, want)
	}
	// Each once; pid 1 is never a victim.
	if got, want := Descendants(procs, []int{12, 10, 1}), []int{12, 10, 13, 11}; !reflect.DeepEqual(got, want) {
		t.Errorf("Descendants(12, 10, 1) = %v, want %v", got, want)
	}
	shims := ShimsOf(procs, "/b/./containerd.sock")
	if len(shims) != 1 || shims[0].Pid != 20 {
		t.Errorf("ShimsOf(/b) = %v", shims)
	}
}

func TestForeign(t *testing.T) {
	own := Ownership{
		NetNSPaths:  map[string]bool{"/run/netns/cni-ours": true},
		NetNSInodes: map[uint64]bool{500: true},
		Socket:      "/new/node/containerd/containerd.sock",
	}
	ours1 := NetNS{Path: "/run/netns/cni-ours", Inode: 1, HostVeth: "veth1"}
	ours2 := NetNS{Path: "/run/netns/cni-x", Inode: 500, HostVeth: "veth2"}
	ours3 := NetNS{Path: "/run/netns/cni-y", Inode: 501, HostVeth: "veth3",
		Shims: []Shim{{Pid: 9, Socket: "/new/node/containerd/containerd.sock", Sandbox: "s"}}}
	old := NetNS{Path: "/run/netns/cni-old", Inode: 600, HostVeth: "veth4", IPs: []netip.Addr{netip.MustParseAddr("10.244.180.2")},
		Shims: []Shim{{Pid: 7, Socket: "/old/node/containerd/containerd.sock", Sandbox: "t"}}}
	orphanVeth := NetNS{HostVeth: "veth5"}
	noShim := NetNS{Path: "/run/netns/cni-dead", Inode: 700, HostVeth: "veth6"}
	got := Foreign([]NetNS{ours1, ours2, ours3, old, orphanVeth, noShim}, own)
	var names []string
	for _, n := range got {
		names = append(names, n.HostVeth)
	}
	if want := []string{"veth4", "veth5", "veth6"}; !reflect.DeepEqual(names, want) {
		t.Errorf("Foreign = %v, want %v", names, want)
	}
	// A node that has no sandboxes (a new cluster) owns nothing on the bridge.
	if got := Foreign([]NetNS{old}, Ownership{Socket: "/new/node/containerd/containerd.sock"}); len(got) != 1 {
		t.Errorf("Foreign with no sandboxes = %v", got)
	}
}

func addrs(s ...string) []netip.Addr {
	var out []netip.Addr
	for _, a := range s {
		out = append(out, netip.MustParseAddr(a))
	}
	return out
}

func TestPlanReservations(t *testing.T) {
	subnet := netip.MustParsePrefix("10.244.180.0/24")
	for _, tc := range []struct {
		name                  string
		live                  []netip.Addr
		store                 map[netip.Addr]string
		wantReserve, wantFree []netip.Addr
	}{
		{name: "nothing live, empty store"},
		{name: "a live address the fresh store does not hold is reserved",
			live: addrs("10.244.180.3", "10.244.180.2"), wantReserve: addrs("10.244.180.2", "10.244.180.3")},
		{name: "the node's own pods are held already",
			live: addrs("10.244.180.2"), store: map[netip.Addr]string{netip.MustParseAddr("10.244.180.2"): "sandbox1"}},
		{name: "addresses outside the subnet are none of the node's business",
			live: addrs("10.244.181.2", "fd00::2")},
		{name: "duplicates once", live: addrs("10.244.180.9", "10.244.180.9"), wantReserve: addrs("10.244.180.9")},
		{name: "a reservation whose address is gone is released, another's entry is not",
			store:    map[netip.Addr]string{netip.MustParseAddr("10.244.180.4"): ReservedID, netip.MustParseAddr("10.244.180.5"): "sandbox2"},
			wantFree: addrs("10.244.180.4")},
		{name: "a reservation still live stays",
			live:  addrs("10.244.180.4"),
			store: map[netip.Addr]string{netip.MustParseAddr("10.244.180.4"): ReservedID}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reserve, release := PlanReservations(subnet, tc.live, tc.store)
			if !slices.Equal(reserve, tc.wantReserve) || !slices.Equal(release, tc.wantFree) {
				t.Errorf("PlanReservations = reserve %v release %v, want %v %v", reserve, release, tc.wantReserve, tc.wantFree)
			}
		})
	}
}

func TestStoreReservations(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "skiff-net")
	store, err := ReadStore(dir)
	if err != nil || len(store) != 0 {
		t.Fatalf("missing store: %v, %v", store, err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	// host-local's own files: an allocation, its last-reserved marker and its lock.
	for name, content := range map[string]string{"10.244.180.2": "abc123\r\neth0", "last_reserved_ip.0": "10.244.180.2", "lock": ""} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := ApplyReservations(dir, addrs("10.244.180.2", "10.244.180.3"), nil); err != nil {
		t.Fatal(err)
	}
	store, err = ReadStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := map[netip.Addr]string{netip.MustParseAddr("10.244.180.2"): "abc123", netip.MustParseAddr("10.244.180.3"): ReservedID}
	if !reflect.DeepEqual(store, want) {
		t.Errorf("store = %v, want %v (an existing allocation is not overwritten)", store, want)
	}
	// Release removes only Skiff's own reservations.
	if err := ApplyReservations(dir, nil, addrs("10.244.180.2", "10.244.180.3")); err != nil {
		t.Fatal(err)
	}
	store, _ = ReadStore(dir)
	if want := map[netip.Addr]string{netip.MustParseAddr("10.244.180.2"): "abc123"}; !reflect.DeepEqual(store, want) {
		t.Errorf("after release: %v, want %v", store, want)
	}
}

func TestMountinfo(t *testing.T) {
	const text = `22 1 0:21 / /run rw,nosuid shared:5 - tmpfs tmpfs rw
600 22 0:4 net:[4026532500] /run/netns/cni-1234 rw shared:200 - nsfs nsfs rw
601 30 0:50 / /data/d\040x/node/containerd/state/io.containerd.runtime.v2.task/k8s.io/abc/rootfs rw - overlay overlay rw,lowerdir=/a
602 30 0:51 / /data/d\040x/node/containerd/state/io.containerd.grpc.v1.cri/sandboxes/abc/shm rw - tmpfs shm rw
603 30 0:52 / /data/d\040x/node rw - tmpfs tmpfs rw
604 30 0:53 / /data/d\040xy rw - tmpfs tmpfs rw
`
	mounts, err := ParseMountinfo(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	if len(mounts) != 6 || mounts[1] != (Mount{Point: "/run/netns/cni-1234", FSType: "nsfs"}) {
		t.Fatalf("mounts = %v", mounts)
	}
	got := MountsUnder(mounts, "/data/d x/node/")
	want := []string{
		"/data/d x/node/containerd/state/io.containerd.runtime.v2.task/k8s.io/abc/rootfs",
		"/data/d x/node/containerd/state/io.containerd.grpc.v1.cri/sandboxes/abc/shm",
		"/data/d x/node",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("MountsUnder = %q, want %q (deepest first, a sibling with the same prefix left out)", got, want)
	}
}

func TestSandboxNetNS(t *testing.T) {
	info := `{"pid":4242,"processStatus":"running","netNamespaceClosed":false,
"runtimeSpec":{"linux":{"namespaces":[{"type":"pid"},{"type":"ipc"},{"type":"network","path":"/var/run/netns/cni-77"},{"type":"mount"}]}}}`
	if path, pid := SandboxNetNS(info); path != "/var/run/netns/cni-77" || pid != 4242 {
		t.Errorf("SandboxNetNS = %q, %d", path, pid)
	}
	// hostNetwork sandboxes have no network namespace path; garbage gives nothing.
	if path, pid := SandboxNetNS(`{"pid":1,"runtimeSpec":{"linux":{"namespaces":[{"type":"pid"}]}}}`); path != "" || pid != 1 {
		t.Errorf("host network: %q, %d", path, pid)
	}
	if path, pid := SandboxNetNS("not json"); path != "" || pid != 0 {
		t.Errorf("garbage: %q, %d", path, pid)
	}
}

func TestIsSkiffBridge(t *testing.T) {
	for name, want := range map[string]bool{
		"skiff0": true, "skiff-d7d21418": true, "skiff-D7D21418": true,
		"skiff-d7d2141": false, "skiff-d7d21418x": false, "skiff-zzzzzzzz": false, "cni0": false, "docker0": false, "skiff1": false,
	} {
		if got := IsSkiffBridge(name); got != want {
			t.Errorf("IsSkiffBridge(%q) = %v, want %v", name, got, want)
		}
	}
}
