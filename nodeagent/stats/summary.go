package stats

import (
	"cmp"
	"slices"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	statsv1alpha1 "k8s.io/kubelet/pkg/apis/stats/v1alpha1"
)

// CRIStats is what the runtime reports: its sandboxes and containers, and their statistics.
type CRIStats struct {
	Sandboxes      []*runtimeapi.PodSandbox
	Containers     []*runtimeapi.Container
	PodStats       []*runtimeapi.PodSandboxStats
	ContainerStats []*runtimeapi.ContainerStats
}

// HostSample is one reading of the host, taken at Time.
type HostSample struct {
	HostStats
	Time time.Time
	// UsageNanoCores is the CPU rate since the reading before, when there was one.
	UsageNanoCores *uint64
}

// NanoCores is the CPU rate between two cumulative readings (core-nanoseconds at times), or
// nil when they cannot give one (no time between them, or a counter that went back).
func NanoCores(prevUsage uint64, prevTime time.Time, usage uint64, at time.Time) *uint64 {
	d := at.Sub(prevTime)
	if d <= 0 || usage < prevUsage {
		return nil
	}
	v := uint64(float64(usage-prevUsage) / d.Seconds())
	return &v
}

// Disks is the node's storage use at one reading.
type Disks struct {
	// Time is when it was read.
	Time time.Time
	// NodeFs is the file system of the agent's data directory (the kubelet's nodefs); nil when
	// unknown.
	NodeFs *FsUsage
	// ImageFs is the runtime's image file system: UsedBytes and InodesUsed are what its images
	// take (CRI ImageFsInfo), the rest the file system's; nil when unknown.
	ImageFs *FsUsage
	// Logs are the pods' containers' log directories, by pod UID and container name.
	Logs map[string]map[string]DirUsage
	// Volumes are the pods' volumes on the node, by pod UID and volume name.
	Volumes map[string]map[string]DirUsage
}

// BuildSummary is the node's Summary, as the kubelet's CRI stats provider builds it: the node
// from the host (CPU, memory, network, process limits) and its disks (nodefs, and the
// runtime's image file system, also reported as the container file system when the runtime
// does not split them); a pod per ready sandbox (the newest of its UID), with its running
// containers (the newest of each name: CPU, memory, writable layer as rootfs, log directory
// as logs), the sandbox's CPU and memory, or their containers' sum when the runtime gives none
// for the sandbox, its network and process count, its volumes, and its ephemeral storage (the
// containers' rootfs and logs and the volumes on disk, tmpfs ones left out). Pods are sorted by
// namespace and name, containers by name.
func BuildSummary(nodeName string, host HostSample, cri CRIStats, disks Disks) statsv1alpha1.Summary {
	t := metav1.NewTime(host.Time)
	ws, usage, rss, faults, major := host.WorkingSetBytes(), host.MemoryUsageBytes, host.MemoryRSSBytes, host.PageFaults, host.MajorPageFaults
	avail := host.MemoryTotalBytes - min(ws, host.MemoryTotalBytes)
	cpu := host.CPUUsageCoreNanoSeconds
	s := statsv1alpha1.Summary{
		Node: statsv1alpha1.NodeStats{
			NodeName:  nodeName,
			StartTime: metav1.NewTime(host.BootTime),
			CPU:       &statsv1alpha1.CPUStats{Time: t, UsageCoreNanoSeconds: &cpu, UsageNanoCores: host.UsageNanoCores},
			Memory: &statsv1alpha1.MemoryStats{Time: t, AvailableBytes: &avail, UsageBytes: &usage, WorkingSetBytes: &ws,
				RSSBytes: &rss, PageFaults: &faults, MajorPageFaults: &major},
			Network: hostNetwork(host),
		},
		Pods: []statsv1alpha1.PodStats{},
	}
	if host.MaxPID > 0 {
		maxPID, procs := host.MaxPID, host.Processes
		s.Node.Rlimit = &statsv1alpha1.RlimitStats{Time: t, MaxPID: &maxPID, NumOfRunningProcesses: &procs}
	}
	dt := metav1.NewTime(disks.Time)
	nodeFs, imageFs := fsStats(dt, disks.NodeFs), fsStats(dt, disks.ImageFs)
	s.Node.Fs = nodeFs
	if imageFs != nil {
		s.Node.Runtime = &statsv1alpha1.RuntimeStats{ImageFs: imageFs, ContainerFs: fsStats(dt, disks.ImageFs)}
	}

	sandboxes := readySandboxes(cri.Sandboxes)
	// The newest running container of each name in each sandbox.
	type ctrKey struct{ sandbox, name string }
	containers := map[ctrKey]*runtimeapi.Container{}
	for _, c := range cri.Containers {
		if c.GetState() != runtimeapi.ContainerState_CONTAINER_RUNNING {
			continue
		}
		k := ctrKey{c.GetPodSandboxId(), c.GetMetadata().GetName()}
		if cur, ok := containers[k]; !ok || c.GetCreatedAt() > cur.GetCreatedAt() {
			containers[k] = c
		}
	}
	ctrStats := map[string]*runtimeapi.ContainerStats{}
	for _, cs := range cri.ContainerStats {
		ctrStats[cs.GetAttributes().GetId()] = cs
	}
	podStats := map[string]*runtimeapi.PodSandboxStats{}
	for _, ps := range cri.PodStats {
		podStats[ps.GetAttributes().GetId()] = ps
	}
	ctrsBySandbox := map[string][]*runtimeapi.Container{}
	for k, c := range containers {
		ctrsBySandbox[k.sandbox] = append(ctrsBySandbox[k.sandbox], c)
	}

	for _, sb := range sandboxes {
		md := sb.GetMetadata()
		ps := statsv1alpha1.PodStats{
			PodRef:     statsv1alpha1.PodReference{Name: md.GetName(), Namespace: md.GetNamespace(), UID: md.GetUid()},
			StartTime:  metav1.NewTime(time.Unix(0, sb.GetCreatedAt())),
			Containers: []statsv1alpha1.ContainerStats{},
		}
		for _, c := range ctrsBySandbox[sb.GetId()] {
			cs := statsv1alpha1.ContainerStats{Name: c.GetMetadata().GetName(), StartTime: metav1.NewTime(time.Unix(0, c.GetCreatedAt()))}
			if st, ok := ctrStats[c.GetId()]; ok {
				cs.CPU, cs.Memory = cpuStats(st.GetCpu()), memoryStats(st.GetMemory())
				if wl := st.GetWritableLayer(); wl != nil {
					cs.Rootfs = usedOn(metav1.NewTime(time.Unix(0, wl.GetTimestamp())), disks.ImageFs,
						DirUsage{UsedBytes: wl.GetUsedBytes().GetValue(), InodesUsed: wl.GetInodesUsed().GetValue()})
				}
			}
			if u, ok := disks.Logs[md.GetUid()][cs.Name]; ok {
				cs.Logs = usedOn(dt, disks.NodeFs, u)
			}
			ps.Containers = append(ps.Containers, cs)
		}
		slices.SortFunc(ps.Containers, func(a, b statsv1alpha1.ContainerStats) int { return cmp.Compare(a.Name, b.Name) })
		if linux := podStats[sb.GetId()].GetLinux(); linux != nil {
			ps.CPU, ps.Memory = cpuStats(linux.GetCpu()), memoryStats(linux.GetMemory())
			ps.Network = podNetwork(linux.GetNetwork())
			if p := linux.GetProcess(); p != nil && p.GetProcessCount() != nil {
				n := p.GetProcessCount().GetValue()
				ps.ProcessStats = &statsv1alpha1.ProcessStats{ProcessCount: &n}
			}
		}
		ps.VolumeStats, ps.EphemeralStorage = podStorage(dt, disks, md.GetUid(), ps.Containers)
		if ps.CPU == nil || ps.CPU.UsageCoreNanoSeconds == nil {
			ps.CPU = sumCPU(ps.Containers)
		}
		if ps.Memory == nil || ps.Memory.WorkingSetBytes == nil {
			ps.Memory = sumMemory(ps.Containers)
		}
		s.Pods = append(s.Pods, ps)
	}
	slices.SortFunc(s.Pods, func(a, b statsv1alpha1.PodStats) int {
		return cmp.Or(cmp.Compare(a.PodRef.Namespace, b.PodRef.Namespace), cmp.Compare(a.PodRef.Name, b.PodRef.Name))
	})
	return s
}

func value(v *runtimeapi.UInt64Value) *uint64 {
	if v == nil {
		return nil
	}
	x := v.GetValue()
	return &x
}

func cpuStats(u *runtimeapi.CpuUsage) *statsv1alpha1.CPUStats {
	if u == nil {
		return nil
	}
	return &statsv1alpha1.CPUStats{Time: metav1.NewTime(time.Unix(0, u.GetTimestamp())),
		UsageCoreNanoSeconds: value(u.GetUsageCoreNanoSeconds()), UsageNanoCores: value(u.GetUsageNanoCores())}
}

func memoryStats(u *runtimeapi.MemoryUsage) *statsv1alpha1.MemoryStats {
	if u == nil {
		return nil
	}
	return &statsv1alpha1.MemoryStats{Time: metav1.NewTime(time.Unix(0, u.GetTimestamp())),
		WorkingSetBytes: value(u.GetWorkingSetBytes()), AvailableBytes: value(u.GetAvailableBytes()),
		UsageBytes: value(u.GetUsageBytes()), RSSBytes: value(u.GetRssBytes()),
		PageFaults: value(u.GetPageFaults()), MajorPageFaults: value(u.GetMajorPageFaults())}
}

// sumCPU is the pod's CPU as the sum of its containers' (at the latest of their times), or nil
// when no container has any.
func sumCPU(ctrs []statsv1alpha1.ContainerStats) *statsv1alpha1.CPUStats {
	var out *statsv1alpha1.CPUStats
	for _, c := range ctrs {
		if c.CPU == nil || c.CPU.UsageCoreNanoSeconds == nil {
			continue
		}
		if out == nil {
			out = &statsv1alpha1.CPUStats{UsageCoreNanoSeconds: new(uint64)}
		}
		*out.UsageCoreNanoSeconds += *c.CPU.UsageCoreNanoSeconds
		if c.CPU.UsageNanoCores != nil {
			if out.UsageNanoCores == nil {
				out.UsageNanoCores = new(uint64)
			}
			*out.UsageNanoCores += *c.CPU.UsageNanoCores
		}
		if c.CPU.Time.After(out.Time.Time) {
			out.Time = c.CPU.Time
		}
	}
	return out
}

// sumMemory is the pod's working set as the sum of its containers', or nil when no container
// has one.
func sumMemory(ctrs []statsv1alpha1.ContainerStats) *statsv1alpha1.MemoryStats {
	var out *statsv1alpha1.MemoryStats
	for _, c := range ctrs {
		if c.Memory == nil || c.Memory.WorkingSetBytes == nil {
			continue
		}
		if out == nil {
			out = &statsv1alpha1.MemoryStats{WorkingSetBytes: new(uint64)}
		}
		*out.WorkingSetBytes += *c.Memory.WorkingSetBytes
		if c.Memory.Time.After(out.Time.Time) {
			out.Time = c.Memory.Time
		}
	}
	return out
}

// readySandboxes is the newest ready sandbox of each pod, by UID.
func readySandboxes(all []*runtimeapi.PodSandbox) map[string]*runtimeapi.PodSandbox {
	out := map[string]*runtimeapi.PodSandbox{}
	for _, sb := range all {
		if sb.GetState() != runtimeapi.PodSandboxState_SANDBOX_READY || sb.GetMetadata() == nil {
			continue
		}
		uid := sb.GetMetadata().GetUid()
		if cur, ok := out[uid]; !ok || sb.GetCreatedAt() > cur.GetCreatedAt() {
			out[uid] = sb
		}
	}
	return out
}

// fsStats is a whole file system's statistics, or nil.
func fsStats(t metav1.Time, u *FsUsage) *statsv1alpha1.FsStats {
	if u == nil {
		return nil
	}
	c := *u
	return &statsv1alpha1.FsStats{Time: t, CapacityBytes: &c.CapacityBytes, AvailableBytes: &c.AvailableBytes, UsedBytes: &c.UsedBytes,
		Inodes: &c.Inodes, InodesFree: &c.InodesFree, InodesUsed: &c.InodesUsed}
}

// usedOn is what a directory or layer uses, with the capacity and free space of the file
// system it is on (when known), as the kubelet reports rootfs, logs and volumes.
func usedOn(t metav1.Time, on *FsUsage, u DirUsage) *statsv1alpha1.FsStats {
	used, inodes := u.UsedBytes, u.InodesUsed
	out := &statsv1alpha1.FsStats{Time: t, UsedBytes: &used, InodesUsed: &inodes}
	if on != nil {
		c := *on
		out.CapacityBytes, out.AvailableBytes, out.Inodes, out.InodesFree = &c.CapacityBytes, &c.AvailableBytes, &c.Inodes, &c.InodesFree
	}
	return out
}

// podStorage is the pod's volumes (sorted by name) and its ephemeral storage: its running
// containers' rootfs, all its log directories and its volumes on disk, on the node's file
// system (nil when nothing is known).
func podStorage(t metav1.Time, disks Disks, uid string, ctrs []statsv1alpha1.ContainerStats) ([]statsv1alpha1.VolumeStats, *statsv1alpha1.FsStats) {
	var vols []statsv1alpha1.VolumeStats
	var total DirUsage
	known := false
	for name, u := range disks.Volumes[uid] {
		vols = append(vols, statsv1alpha1.VolumeStats{Name: name, FsStats: *usedOn(t, disks.NodeFs, u)})
		if !u.Tmpfs {
			total.UsedBytes, total.InodesUsed, known = total.UsedBytes+u.UsedBytes, total.InodesUsed+u.InodesUsed, true
		}
	}
	slices.SortFunc(vols, func(a, b statsv1alpha1.VolumeStats) int { return cmp.Compare(a.Name, b.Name) })
	// Every container's logs count, those of exited containers too: they are on the disk.
	for _, u := range disks.Logs[uid] {
		total.UsedBytes, total.InodesUsed, known = total.UsedBytes+u.UsedBytes, total.InodesUsed+u.InodesUsed, true
	}
	for _, c := range ctrs {
		if f := c.Rootfs; f != nil && f.UsedBytes != nil {
			total.UsedBytes, known = total.UsedBytes+*f.UsedBytes, true
			if f.InodesUsed != nil {
				total.InodesUsed += *f.InodesUsed
			}
		}
	}
	if !known {
		return vols, nil
	}
	return vols, usedOn(t, disks.NodeFs, total)
}

// hostNetwork is the node's network statistics: its default route's interface, and all.
func hostNetwork(host HostSample) *statsv1alpha1.NetworkStats {
	if len(host.Interfaces) == 0 {
		return nil
	}
	n := &statsv1alpha1.NetworkStats{Time: metav1.NewTime(host.Time)}
	for _, i := range host.Interfaces {
		rx, rxe, tx, txe := i.RxBytes, i.RxErrors, i.TxBytes, i.TxErrors
		is := statsv1alpha1.InterfaceStats{Name: i.Name, RxBytes: &rx, RxErrors: &rxe, TxBytes: &tx, TxErrors: &txe}
		n.Interfaces = append(n.Interfaces, is)
		if i.Name == host.DefaultInterface {
			n.InterfaceStats = is
		}
	}
	return n
}

// podNetwork is a sandbox's network statistics from the runtime (nil when it gives none).
func podNetwork(u *runtimeapi.NetworkUsage) *statsv1alpha1.NetworkStats {
	if u == nil || u.GetDefaultInterface() == nil {
		return nil
	}
	conv := func(i *runtimeapi.NetworkInterfaceUsage) statsv1alpha1.InterfaceStats {
		return statsv1alpha1.InterfaceStats{Name: i.GetName(), RxBytes: value(i.GetRxBytes()), RxErrors: value(i.GetRxErrors()),
			TxBytes: value(i.GetTxBytes()), TxErrors: value(i.GetTxErrors())}
	}
	n := &statsv1alpha1.NetworkStats{Time: metav1.NewTime(time.Unix(0, u.GetTimestamp())), InterfaceStats: conv(u.GetDefaultInterface())}
	for _, i := range u.GetInterfaces() {
		n.Interfaces = append(n.Interfaces, conv(i))
	}
	return n
}
