package podnet

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	internalapi "k8s.io/cri-api/pkg/apis"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/skiff-dev/skiff/test/poll"
)

// fakeRuntime is a CRI runtime with sandboxes whose verbose status names their namespace.
type fakeRuntime struct {
	internalapi.RuntimeService
	netns map[string]string // sandbox ID -> network namespace path
}

func (f *fakeRuntime) ListPodSandbox(context.Context, *runtimeapi.PodSandboxFilter) ([]*runtimeapi.PodSandbox, error) {
	var out []*runtimeapi.PodSandbox
	for id := range f.netns {
		out = append(out, &runtimeapi.PodSandbox{Id: id})
	}
	return out, nil
}

func (f *fakeRuntime) PodSandboxStatus(_ context.Context, id string, _ bool) (*runtimeapi.PodSandboxStatusResponse, error) {
	info := fmt.Sprintf(`{"pid":0,"runtimeSpec":{"linux":{"namespaces":[{"type":"network","path":%q}]}}}`, f.netns[id])
	return &runtimeapi.PodSandboxStatusResponse{Status: &runtimeapi.PodSandboxStatus{Id: id}, Info: map[string]string{"info": info}}, nil
}

// podOn makes a pod's namespace with address addr, attached to bridge by veth.
func podOn(t *testing.T, bridge, name, veth, addr string) string {
	t.Helper()
	ipCmd(t, "netns", "add", name)
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", name).Run() })
	ipCmd(t, "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", name)
	ipCmd(t, "link", "set", veth, "master", bridge, "up")
	ipCmd(t, "-n", name, "addr", "add", addr+"/24", "dev", "eth0")
	ipCmd(t, "-n", name, "link", "set", "eth0", "up")
	return "/run/netns/" + name
}

func ipCmd(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// TestSweepOnARealBridge builds a bridge with two pod namespaces as the CNI bridge plugin does,
// one the node's (its sandbox lists it) and one another cluster's with a process in it, and
// sweeps: the foreign one goes with its process, mount and veth; the node's address, which a
// fresh IPAM store does not hold, is reserved, and released once it is gone.
func TestSweepOnARealBridge(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for bridges and network namespaces")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs ip")
	}
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	r := hex.EncodeToString(b)
	bridge := "clean-br-" + r
	ipCmd(t, "link", "add", bridge, "type", "bridge")
	t.Cleanup(func() { _ = exec.Command("ip", "link", "del", bridge).Run() })
	ipCmd(t, "link", "set", bridge, "up")
	// Another Skiff bridge (a node of another name) with the same pod subnet and a pod.
	b4 := make([]byte, 4)
	_, _ = rand.Read(b4)
	otherBridge := "skiff-" + hex.EncodeToString(b4)
	ipCmd(t, "link", "add", otherBridge, "type", "bridge")
	t.Cleanup(func() { _ = exec.Command("ip", "link", "del", otherBridge).Run() })
	ipCmd(t, "addr", "add", "10.244.189.1/24", "dev", otherBridge)
	ipCmd(t, "link", "set", otherBridge, "up")
	pod := func(name, veth, addr string) string {
		return podOn(t, bridge, name, veth, addr)
	}
	otherNS := podOn(t, otherBridge, "clean-oth-"+r, "clean-vx-"+r, "10.244.189.7")

	foreignNS := pod("clean-old-"+r, "clean-vo-"+r, "10.244.189.2")
	ownNS := pod("clean-own-"+r, "clean-vn-"+r, "10.244.189.3")
	sleeper := exec.Command("ip", "netns", "exec", filepath.Base(foreignNS), "sleep", "300")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- sleeper.Wait() }()
	t.Cleanup(func() { _ = sleeper.Process.Kill() })
	// Wait until the sleeper is in the namespace (ip netns exec enters it, then execs sleep).
	var sleeperNS uint64
	poll.Until(t, 5*time.Second, "sleep started in "+foreignNS, poll.Check(func() (bool, string) {
		p, _ := ReadProc(sleeper.Process.Pid)
		if len(p.Args) > 0 && p.Args[0] == "sleep" {
			sleeperNS = p.NetNS
			return true, ""
		}
		return false, fmt.Sprintf("process %v", p.Args)
	}))

	ctx := context.Background()
	store := filepath.Join(t.TempDir(), "skiff-net")
	cfg := SweepConfig{Bridge: bridge, PodCIDR: "10.244.189.0/24", Socket: "/nonexistent/containerd.sock",
		Runtime: &fakeRuntime{netns: map[string]string{"own": ownNS}}, IPAMStore: store}

	procs, err := ListProcs()
	if err != nil {
		t.Fatal(err)
	}
	attached, err := Attached(bridge, procs)
	if err != nil {
		t.Fatal(err)
	}
	if len(attached) != 2 {
		t.Fatalf("Attached = %v, want the 2 namespaces", attached)
	}
	for _, n := range attached {
		if n.Path == foreignNS && (n.Inode != sleeperNS || !slices.Contains(n.Pids, sleeper.Process.Pid) ||
			!slices.Equal(n.IPs, []netip.Addr{netip.MustParseAddr("10.244.189.2")})) {
			t.Errorf("foreign namespace: %+v, want inode %d, the sleeper %d and 10.244.189.2", n, sleeperNS, sleeper.Process.Pid)
		}
	}

	res, err := Sweep(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var removed []string
	for _, n := range res.Removed {
		removed = append(removed, n.Path)
	}
	slices.Sort(removed)
	if want := []string{foreignNS, otherNS}; !slices.Equal(removed, want) {
		t.Errorf("removed %v, want %v", removed, want)
	}
	if !slices.Equal(res.StaleBridges, []string{otherBridge}) || LinkExists(otherBridge) {
		t.Errorf("stale bridges %v (exists: %v), want %s deleted", res.StaleBridges, LinkExists(otherBridge), otherBridge)
	}
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		t.Errorf("the process in the foreign namespace still runs")
	}
	if _, err := os.Stat(foreignNS); err == nil {
		t.Errorf("%s still exists", foreignNS)
	}
	if LinkExists("clean-vo-" + r) {
		t.Errorf("the foreign veth still exists")
	}
	if !slices.Equal(res.Reserved, []netip.Addr{netip.MustParseAddr("10.244.189.3")}) {
		t.Errorf("reserved %v, want the node's live 10.244.189.3 that the fresh store lacks", res.Reserved)
	}
	if got, _ := ReadStore(store); got[netip.MustParseAddr("10.244.189.3")] != ReservedID {
		t.Errorf("store = %v", got)
	}

	// Nothing more to do; then the address goes and its reservation with it.
	if res, err := Sweep(ctx, cfg); err != nil || len(res.Removed)+len(res.Reserved)+len(res.Released) != 0 {
		t.Errorf("second sweep: %+v, %v", res, err)
	}
	// (The kernel destroys a namespace asynchronously: its veth may still be on the bridge,
	// with no namespace to resolve to, and the sweep deletes it.)
	ipCmd(t, "netns", "del", filepath.Base(ownNS))
	if res, err := Sweep(ctx, cfg); err != nil || !slices.Equal(res.Released, []netip.Addr{netip.MustParseAddr("10.244.189.3")}) {
		t.Errorf("sweep after the node's pod went: %+v, %v; want 10.244.189.3 released", res, err)
	}
	if got, _ := ReadStore(store); len(got) != 0 {
		t.Errorf("store after release = %v", got)
	}
}
