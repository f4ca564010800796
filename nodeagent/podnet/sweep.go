package podnet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"syscall"

	internalapi "k8s.io/cri-api/pkg/apis"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	"k8s.io/klog/v2"
)

// SweepConfig is a node whose bridge is swept when it starts.
type SweepConfig struct {
	// Bridge is the node's pod bridge; PodCIDR its pod subnet.
	Bridge  string
	PodCIDR string
	// Socket is the node's containerd socket and Runtime its CRI client: the sandboxes it lists
	// are the node's own.
	Socket  string
	Runtime internalapi.RuntimeService
	// IPAMStore is the directory of the host-local store of the node's network
	// (<dataDir>/<network name>).
	IPAMStore string
	// BridgeInUse tells whether another Skiff bridge that holds an address of PodCIDR belongs to
	// a node that runs (e.g. by its record); such a bridge is reported and left alone. nil: only
	// the running containerds of the pods on it count.
	BridgeInUse func(bridge string) bool
}

// SweepResult is what a sweep did.
type SweepResult struct {
	Removed []NetNS
	// StaleBridges are the other Skiff bridges of the pod subnet that were deleted.
	StaleBridges       []string
	Reserved, Released []netip.Addr
}

// Sweep runs when a node's containerd has started and before the node creates pods. Pods
// outlive their agent, so a node of the same name that ran on another data dir (another
// cluster) may have left pods on the same bridge, holding addresses that this node's fresh IPAM
// store would hand out again. Sweep finds the namespaces attached to the bridge that are not
// this node's sandboxes, reports them in one log line and removes them; then it reserves in the
// IPAM store every address still live on the bridge that the store does not hold, so that no
// address in use is ever handed out (and releases such reservations whose address is gone).
// Another Skiff bridge holding the same pod subnet (a node of another name with the same
// --pod-cidr) is removed with its pods in the same sweep, unless its node still runs.
func Sweep(ctx context.Context, cfg SweepConfig) (SweepResult, error) {
	log := klog.FromContext(ctx)
	var res SweepResult
	subnet, err := netip.ParsePrefix(cfg.PodCIDR)
	if err != nil {
		return res, fmt.Errorf("pod CIDR %q: %w", cfg.PodCIDR, err)
	}
	own, err := OwnershipOf(ctx, cfg.Runtime, cfg.Socket)
	if err != nil {
		return res, err
	}
	procs, err := ListProcs()
	if err != nil {
		return res, err
	}
	attached, err := Attached(cfg.Bridge, procs)
	if err != nil {
		return res, err
	}
	// Another Skiff bridge holding this pod subnet (a node of another name that used the same
	// --pod-cidr) would take the host's traffic to it: its pods go too, and the bridge.
	var staleBridges []string
	foreign := Foreign(attached, own)
	others, err := BridgesWithSubnet(cfg.Bridge, subnet)
	if err != nil {
		return res, err
	}
	for _, b := range others {
		if !IsSkiffBridge(b) {
			log.Error(nil, "Another bridge holds the node's pod subnet: the host may route pod traffic to it", "bridge", b, "podCIDR", cfg.PodCIDR)
			continue
		}
		att, err := Attached(b, procs)
		if err != nil {
			return res, err
		}
		if (cfg.BridgeInUse != nil && cfg.BridgeInUse(b)) || anyContainerdRunning(procs, att) {
			log.Error(nil, "A running node's bridge holds this node's pod subnet: give the nodes distinct --pod-cidr", "bridge", b, "podCIDR", cfg.PodCIDR)
			continue
		}
		foreign = append(foreign, att...)
		staleBridges = append(staleBridges, b)
	}
	var removeErr error
	if len(foreign)+len(staleBridges) > 0 {
		var names, sockets []string
		seen := map[string]bool{}
		for _, n := range foreign {
			names = append(names, n.String())
			for _, s := range n.Shims {
				if !seen[s.Socket] {
					seen[s.Socket] = true
					sockets = append(sockets, s.Socket)
				}
			}
		}
		log.Info("Removing leftover pod sandboxes of another cluster", "count", len(foreign), "bridge", cfg.Bridge,
			"sandboxes", names, "containerd", sockets, "staleBridges", staleBridges)
		res.Removed, res.StaleBridges = foreign, staleBridges
		var errs []error
		if err := RemoveNetNS(ctx, procs, foreign); err != nil {
			// What is left stays live: its addresses are reserved below.
			errs = append(errs, err)
		}
		for _, b := range staleBridges {
			errs = append(errs, DeleteBridge(b))
		}
		if err := errors.Join(errs...); err != nil {
			removeErr = fmt.Errorf("removing leftover pod sandboxes: %w", err)
		}
		if procs, err = ListProcs(); err != nil {
			return res, err
		}
		if attached, err = Attached(cfg.Bridge, procs); err != nil {
			return res, err
		}
	}
	store, err := ReadStore(cfg.IPAMStore)
	if err != nil {
		return res, err
	}
	res.Reserved, res.Released = PlanReservations(subnet, LiveAddrs(attached), store)
	if len(res.Reserved)+len(res.Released) > 0 {
		log.Info("Reserving the addresses live on the bridge in the IPAM store", "bridge", cfg.Bridge,
			"reserved", res.Reserved, "released", res.Released)
		if err := ApplyReservations(cfg.IPAMStore, res.Reserved, res.Released); err != nil {
			return res, errors.Join(removeErr, err)
		}
	}
	return res, removeErr
}

// OwnershipOf lists the sandboxes of the containerd at socket (rs) and their network namespaces.
func OwnershipOf(ctx context.Context, rs internalapi.RuntimeService, socket string) (Ownership, error) {
	own := Ownership{NetNSPaths: map[string]bool{}, NetNSInodes: map[uint64]bool{}, Socket: socket}
	sandboxes, err := rs.ListPodSandbox(ctx, &runtimeapi.PodSandboxFilter{})
	if err != nil {
		return own, fmt.Errorf("listing the node's sandboxes: %w", err)
	}
	for _, s := range sandboxes {
		st, err := rs.PodSandboxStatus(ctx, s.Id, true)
		if err != nil {
			continue // gone meanwhile
		}
		path, pid := SandboxNetNS(st.GetInfo()["info"])
		if path != "" {
			own.NetNSPaths[filepath.Clean(path)] = true
			var fst syscall.Stat_t
			if syscall.Stat(path, &fst) == nil {
				own.NetNSInodes[fst.Ino] = true
			}
		}
		if pid > 0 {
			if p, ok := ReadProc(pid); ok && p.NetNS != 0 {
				own.NetNSInodes[p.NetNS] = true
			}
		}
	}
	return own, nil
}

// SandboxNetNS reads the network namespace path and the sandbox process of containerd's verbose
// sandbox info (the "info" JSON of PodSandboxStatus): runtimeSpec.linux.namespaces and pid.
func SandboxNetNS(info string) (path string, pid int) {
	var v struct {
		Pid         int `json:"pid"`
		RuntimeSpec struct {
			Linux struct {
				Namespaces []struct {
					Type string `json:"type"`
					Path string `json:"path"`
				} `json:"namespaces"`
			} `json:"linux"`
		} `json:"runtimeSpec"`
	}
	if json.Unmarshal([]byte(info), &v) != nil {
		return "", 0
	}
	for _, ns := range v.RuntimeSpec.Linux.Namespaces {
		if ns.Type == "network" {
			path = ns.Path
		}
	}
	return path, v.Pid
}

// anyContainerdRunning tells whether a shim of the namespaces reports to a containerd that runs
// (a process whose --config sits next to the shim's socket, as Skiff lays out its containerds).
func anyContainerdRunning(procs []Proc, nss []NetNS) bool {
	for _, n := range nss {
		for _, s := range n.Shims {
			cfg := filepath.Join(filepath.Dir(s.Socket), "config.toml")
			for _, p := range procs {
				if c := p.ContainerdConfig(); c != "" && filepath.Clean(c) == cfg {
					return true
				}
			}
		}
	}
	return false
}
