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

// BuildSummary is the node's Summary, as the kubelet's CRI stats provider builds it: the node
// from the host; a pod per ready sandbox (the newest of its UID), with its running containers
// (the newest of each name) and the sandbox's CPU and memory, or their containers' sum when
// the runtime gives none for the sandbox. Pods are sorted by namespace and name, containers by
// name.
func BuildSummary(nodeName string, host HostSample, cri CRIStats) statsv1alpha1.Summary {
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
		},
		Pods: []statsv1alpha1.PodStats{},
	}

	// The newest ready sandbox of each pod.
	sandboxes := map[string]*runtimeapi.PodSandbox{}
	for _, sb := range cri.Sandboxes {
		if sb.GetState() != runtimeapi.PodSandboxState_SANDBOX_READY || sb.GetMetadata() == nil {
			continue
		}
		uid := sb.GetMetadata().GetUid()
		if cur, ok := sandboxes[uid]; !ok || sb.GetCreatedAt() > cur.GetCreatedAt() {
			sandboxes[uid] = sb
		}
	}
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
			}
			ps.Containers = append(ps.Containers, cs)
		}
		slices.SortFunc(ps.Containers, func(a, b statsv1alpha1.ContainerStats) int { return cmp.Compare(a.Name, b.Name) })
		if linux := podStats[sb.GetId()].GetLinux(); linux != nil {
			ps.CPU, ps.Memory = cpuStats(linux.GetCpu()), memoryStats(linux.GetMemory())
		}
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
