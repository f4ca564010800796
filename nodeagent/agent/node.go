package agent

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"runtime"
	"strconv"
	"strings"

	"github.com/skiff-dev/skiff/nodeagent/apistatus"

	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// KubeletVersion is what the agent reports as nodeInfo.kubeletVersion.
const KubeletVersion = apistatus.KubeletVersion

// MachineInfo is what the agent knows about the machine.
type MachineInfo struct {
	NumCPU           int
	MemoryBytes      int64
	EphemeralStorage int64
	KernelVersion    string
	OSImage          string
	MachineID        string
	BootID           string
}

// ReadMachineInfo reads /proc/meminfo, statfs of dataDir, uname and /etc/os-release.
func ReadMachineInfo(dataDir string) MachineInfo {
	mi := MachineInfo{NumCPU: runtime.NumCPU()}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		mi.MemoryBytes = ParseMemTotal(b)
	}
	var st unix.Statfs_t
	if err := unix.Statfs(dataDir, &st); err == nil {
		mi.EphemeralStorage = int64(st.Blocks) * int64(st.Bsize)
	}
	var u unix.Utsname
	if err := unix.Uname(&u); err == nil {
		mi.KernelVersion = unix.ByteSliceToString(u.Release[:])
	}
	mi.OSImage = "Linux"
	if b, err := os.ReadFile("/etc/os-release"); err == nil {
		if v := ParseOSRelease(b)["PRETTY_NAME"]; v != "" {
			mi.OSImage = v
		}
	}
	if b, err := os.ReadFile("/etc/machine-id"); err == nil {
		mi.MachineID = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/sys/kernel/random/boot_id"); err == nil {
		mi.BootID = strings.TrimSpace(string(b))
	}
	return mi
}

// ParseMemTotal returns MemTotal of /proc/meminfo in bytes.
func ParseMemTotal(b []byte) int64 {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && f[0] == "MemTotal:" {
			n, _ := strconv.ParseInt(f[1], 10, 64)
			if len(f) >= 3 && strings.EqualFold(f[2], "kB") {
				n *= 1024
			}
			return n
		}
	}
	return 0
}

// ParseOSRelease parses KEY=value lines, unquoting values.
func ParseOSRelease(b []byte) map[string]string {
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "=")
		if !ok || strings.HasPrefix(k, "#") {
			continue
		}
		if uq, err := strconv.Unquote(v); err == nil {
			v = uq
		} else {
			v = strings.Trim(v, `"'`)
		}
		out[k] = v
	}
	return out
}

// Capacity is the node's capacity; Allocatable subtracts upstream's default hard eviction
// thresholds (memory.available<100Mi, nodefs.available<10%).
func (mi MachineInfo) Capacity() (capacity, allocatable corev1.ResourceList) {
	capacity = corev1.ResourceList{
		corev1.ResourceCPU:              *resource.NewQuantity(int64(mi.NumCPU), resource.DecimalSI),
		corev1.ResourceMemory:           *resource.NewQuantity(mi.MemoryBytes, resource.BinarySI),
		corev1.ResourcePods:             *resource.NewQuantity(110, resource.DecimalSI),
		corev1.ResourceEphemeralStorage: *resource.NewQuantity(mi.EphemeralStorage, resource.BinarySI),
	}
	allocatable = capacity.DeepCopy()
	allocatable[corev1.ResourceMemory] = *resource.NewQuantity(max(0, mi.MemoryBytes-100*1024*1024), resource.BinarySI)
	allocatable[corev1.ResourceEphemeralStorage] = *resource.NewQuantity(mi.EphemeralStorage-mi.EphemeralStorage/10, resource.BinarySI)
	return capacity, allocatable
}

func (a *Agent) nodeLabels() map[string]string {
	l := map[string]string{
		corev1.LabelHostname:      a.cfg.NodeName,
		corev1.LabelOSStable:      runtime.GOOS,
		corev1.LabelArchStable:    runtime.GOARCH,
		"beta.kubernetes.io/os":   runtime.GOOS,
		"beta.kubernetes.io/arch": runtime.GOARCH,
	}
	for k, v := range a.cfg.NodeLabels {
		l[k] = v
	}
	return l
}

// nodeStatus computes the agent's node status from its machine, runtime and eviction state.
func (a *Agent) nodeStatus(old *corev1.NodeStatus) corev1.NodeStatus {
	capacity, allocatable := a.machine.Capacity()
	hostname, _ := os.Hostname()
	if hostname == "" {
		hostname = a.cfg.NodeName
	}
	var addrs []corev1.NodeAddress
	if a.cfg.NodeIP != "" {
		addrs = append(addrs, corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: a.cfg.NodeIP})
	}
	addrs = append(addrs, corev1.NodeAddress{Type: corev1.NodeHostName, Address: hostname})
	return apistatus.NodeStatus(apistatus.NodeStatusInput{
		Capacity: capacity, Allocatable: allocatable, Addresses: addrs, KubeletPort: a.cfg.KubeletPort,
		NodeInfo: corev1.NodeSystemInfo{
			MachineID:               a.machine.MachineID,
			SystemUUID:              a.machine.MachineID,
			BootID:                  a.machine.BootID,
			KernelVersion:           a.machine.KernelVersion,
			OSImage:                 a.machine.OSImage,
			ContainerRuntimeVersion: a.runtimeVersion,
			KubeletVersion:          KubeletVersion,
			OperatingSystem:         runtime.GOOS,
			Architecture:            runtime.GOARCH,
		},
		NetworkNotReady: a.networkNotReady, Pressure: a.pressure(), Now: a.cfg.Clock.Now(),
	}, old)
}

func (a *Agent) registration() apistatus.NodeRegistration {
	return apistatus.NodeRegistration{Client: a.cfg.Client, Name: a.cfg.NodeName, Labels: a.nodeLabels(), Taints: a.cfg.Taints,
		PodCIDR: a.cfg.PodCIDR, Status: a.nodeStatus}
}

// registerNode creates the Node, or reconciles an existing one (labels, pod CIDR) and posts
// its status.
func (a *Agent) registerNode(ctx context.Context) error {
	st, err := a.registration().Register(ctx)
	if err != nil {
		return err
	}
	a.lastNodeStatus.Set(st.DeepCopy(), a.cfg.Clock.Now())
	return nil
}

// syncNodeStatus posts the node status when it is due (apistatus.NodeStatusDue).
func (a *Agent) syncNodeStatus(ctx context.Context) error {
	if a.heartbeatStopped(ctx) {
		return nil
	}
	last, lastReport := a.lastNodeStatus.Get()
	next := a.nodeStatus(last)
	if !apistatus.NodeStatusDue(last, &next, lastReport, a.cfg.Clock.Now(), a.cfg.StatusReportInterval, a.cfg.NodeName) {
		return nil
	}
	st, err := a.registration().Post(ctx)
	if err != nil {
		return err
	}
	a.lastNodeStatus.Set(st.DeepCopy(), a.cfg.Clock.Now())
	return nil
}

// renewLease creates or renews the node's Lease in kube-node-lease.
func (a *Agent) renewLease(ctx context.Context) error {
	if a.heartbeatStopped(ctx) {
		return nil
	}
	return a.lease.Renew(ctx, a.cfg.Client, a.cfg.NodeName, a.cfg.LeaseDuration, a.cfg.Clock.Now())
}
