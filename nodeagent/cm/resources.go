package cm

import (
	"fmt"
	"path"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	resourcehelper "k8s.io/component-helpers/resource"

	"github.com/skiff-dev/skiff/apis/helper"
	"github.com/skiff-dev/skiff/nodeagent/kuberuntime"
)

// Names of the cgroups, as upstream's (pkg/kubelet/cm: defaultNodeAllocatableCgroupName,
// podCgroupNamePrefix).
const (
	kubepods        = "kubepods"
	burstable       = "burstable"
	besteffort      = "besteffort"
	podCgroupPrefix = "pod"
	// SkiffRoot is the parent of every Skiff node's cgroups on the machine.
	SkiffRoot = "/skiff"
)

// NodeRoot is the cgroup root of node name (the kubelet's --cgroup-root): /skiff/<node>. Several
// Skiff nodes can share a machine, so each has its own kubepods under one Skiff-owned parent
// (found, and swept, in one place).
func NodeRoot(name string) string { return path.Join(SkiffRoot, name) }

// ResourceConfig is the subset of upstream's cm.ResourceConfig the agent sets on a cgroup; a nil
// field leaves the cgroup's value alone.
type ResourceConfig struct {
	CPUShares *uint64
	CPUQuota  *int64
	CPUPeriod *uint64
	Memory    *int64
	PidsLimit *int64
}

// Layout names the node's cgroups (cgroupfs names, the CgroupParent containerd is given).
type Layout struct {
	// Root is the node's cgroup root (NodeRoot).
	Root string
}

// Kubepods is the node allocatable cgroup: <root>/kubepods.
func (l Layout) Kubepods() string { return path.Join(l.Root, kubepods) }

// QOS is the cgroup of a QoS class: Guaranteed pods sit directly under kubepods, the others
// under kubepods/burstable and kubepods/besteffort, as upstream's qosContainerManager.
func (l Layout) QOS(class corev1.PodQOSClass) string {
	switch class {
	case corev1.PodQOSBurstable:
		return path.Join(l.Kubepods(), burstable)
	case corev1.PodQOSBestEffort:
		return path.Join(l.Kubepods(), besteffort)
	}
	return l.Kubepods()
}

// Pod is the pod's cgroup: <qos>/pod<uid>, upstream's GetPodContainerName.
func (l Layout) Pod(pod *corev1.Pod) string {
	return path.Join(l.QOS(PodQOS(pod)), podCgroupPrefix+string(pod.UID))
}

// PodDirs are the places a pod cgroup of uid can be (one per QoS class), for removal without
// the pod object.
func (l Layout) PodDirs(uid types.UID) []string {
	name := podCgroupPrefix + string(uid)
	return []string{path.Join(l.Kubepods(), name), path.Join(l.Kubepods(), burstable, name), path.Join(l.Kubepods(), besteffort, name)}
}

// PodQOS is the pod's status.qosClass (set by the API server), computed as the API server does
// when it is missing.
func PodQOS(pod *corev1.Pod) corev1.PodQOSClass {
	if pod.Status.QOSClass != "" {
		return pod.Status.QOSClass
	}
	return helper.QOSClass(&pod.Spec)
}

// ResourceConfigForPod is upstream's ResourceConfigForPod (helpers_linux.go) with CFS quota
// enforced (--cpu-cfs-quota, the default), period cpuPeriod, no memory QoS, and the pod pids
// limit (--pod-max-pids; <= 0: none, upstream's default): cpu shares from the pod's requests;
// for a Guaranteed pod quota and memory limit from its limits; for a Burstable pod quota only
// when every container has a cpu limit and memory limit only when every container has a memory
// limit; a BestEffort pod gets the minimum shares.
func ResourceConfigForPod(pod *corev1.Pod, cpuPeriod uint64, podPidsLimit int64) ResourceConfig {
	opts := resourcehelper.PodResourcesOptions{}
	reqs := resourcehelper.PodRequests(pod, opts)
	limits := resourcehelper.PodLimits(pod, opts)
	cpuLimitsDeclared, memoryLimitsDeclared := true, true
	for _, cs := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for i := range cs {
			if cs[i].Resources.Limits.Cpu().IsZero() {
				cpuLimitsDeclared = false
			}
			if cs[i].Resources.Limits.Memory().IsZero() {
				memoryLimitsDeclared = false
			}
		}
	}
	if resourcehelper.IsPodLevelResourcesSet(pod) {
		if !pod.Spec.Resources.Limits.Cpu().IsZero() {
			cpuLimitsDeclared = true
		}
		if !pod.Spec.Resources.Limits.Memory().IsZero() {
			memoryLimitsDeclared = true
		}
	}
	var cpuRequests, cpuLimits, memoryLimits int64
	if q, ok := reqs[corev1.ResourceCPU]; ok {
		cpuRequests = q.MilliValue()
	}
	if q, ok := limits[corev1.ResourceCPU]; ok {
		cpuLimits = q.MilliValue()
	}
	if q, ok := limits[corev1.ResourceMemory]; ok {
		memoryLimits = q.Value()
	}
	shares := uint64(kuberuntime.MilliCPUToShares(cpuRequests))
	quota := kuberuntime.MilliCPUToQuota(cpuLimits, int64(cpuPeriod))
	if quota == 0 {
		quota = -1 // upstream's MilliCPUToQuota: no limit
	}
	var rc ResourceConfig
	switch PodQOS(pod) {
	case corev1.PodQOSGuaranteed:
		rc = ResourceConfig{CPUShares: &shares, CPUQuota: &quota, CPUPeriod: &cpuPeriod, Memory: &memoryLimits}
	case corev1.PodQOSBurstable:
		rc.CPUShares = &shares
		if cpuLimitsDeclared {
			rc.CPUQuota, rc.CPUPeriod = &quota, &cpuPeriod
		}
		if memoryLimitsDeclared {
			rc.Memory = &memoryLimits
		}
	default:
		minShares := uint64(kuberuntime.MilliCPUToShares(0))
		rc.CPUShares = &minShares
	}
	if podPidsLimit > 0 {
		rc.PidsLimit = &podPidsLimit
	}
	return rc
}

// NodeConfig is the kubepods cgroup's: cpu shares and memory limit of the node's allocatable
// (upstream's getCgroupConfig with --enforce-node-allocatable=pods), pids unlimited.
func NodeConfig(allocatable corev1.ResourceList) ResourceConfig {
	var rc ResourceConfig
	if q, ok := allocatable[corev1.ResourceCPU]; ok {
		shares := uint64(kuberuntime.MilliCPUToShares(q.MilliValue()))
		rc.CPUShares = &shares
	}
	if q, ok := allocatable[corev1.ResourceMemory]; ok {
		m := q.Value()
		rc.Memory = &m
	}
	return rc
}

// BurstableShares are the burstable QoS cgroup's cpu shares: the sum of its pods' cpu requests
// (upstream's qosContainerManager.setCPUCgroupConfig); the besteffort cgroup has the minimum.
func BurstableShares(milliCPURequests []int64) uint64 {
	var sum int64
	for _, m := range milliCPURequests {
		sum += m
	}
	return uint64(kuberuntime.MilliCPUToShares(sum))
}

// CPURequest is the pod's cpu request in millicores (as the QoS cgroup counts it).
func CPURequest(pod *corev1.Pod) int64 {
	reqs := resourcehelper.PodRequests(pod, resourcehelper.PodResourcesOptions{})
	q := reqs[corev1.ResourceCPU]
	return q.MilliValue()
}

// Version is the host's cgroup version.
type Version int

const (
	V1 Version = 1
	V2 Version = 2
)

// File is a value to write to a controller's file: Controller is the v1 hierarchy (cpu,
// memory, pids; "" on v2, one hierarchy).
type File struct {
	Controller, Name, Value string
}

// Files are the files that set rc on a cgroup of version v, in the order to write them, as
// runc's fs and fs2 managers write them for the kubelet (v2: cpu.weight from the shares by
// upstream's getCPUWeight, cpu.max "<quota|max> <period>", memory.max, pids.max).
func (rc ResourceConfig) Files(v Version) []File {
	var fs []File
	itoa := func(n int64) string { return strconv.FormatInt(n, 10) }
	if v == V2 {
		if rc.CPUShares != nil {
			fs = append(fs, File{"", "cpu.weight", strconv.FormatUint(SharesToWeight(*rc.CPUShares), 10)})
		}
		if rc.CPUQuota != nil && rc.CPUPeriod != nil {
			q := "max"
			if *rc.CPUQuota > 0 {
				q = itoa(*rc.CPUQuota)
			}
			fs = append(fs, File{"", "cpu.max", q + " " + strconv.FormatUint(*rc.CPUPeriod, 10)})
		}
		if rc.Memory != nil {
			m := "max"
			if *rc.Memory > 0 {
				m = itoa(*rc.Memory)
			}
			fs = append(fs, File{"", "memory.max", m})
		}
		if rc.PidsLimit != nil {
			fs = append(fs, File{"", "pids.max", pidsValue(*rc.PidsLimit)})
		}
		return fs
	}
	if rc.CPUShares != nil {
		fs = append(fs, File{"cpu", "cpu.shares", strconv.FormatUint(*rc.CPUShares, 10)})
	}
	// The period first: a quota is checked against the current period.
	if rc.CPUPeriod != nil {
		fs = append(fs, File{"cpu", "cpu.cfs_period_us", strconv.FormatUint(*rc.CPUPeriod, 10)})
	}
	if rc.CPUQuota != nil {
		fs = append(fs, File{"cpu", "cpu.cfs_quota_us", itoa(*rc.CPUQuota)})
	}
	if rc.Memory != nil {
		m := int64(-1)
		if *rc.Memory > 0 {
			m = *rc.Memory
		}
		fs = append(fs, File{"memory", "memory.limit_in_bytes", itoa(m)})
	}
	if rc.PidsLimit != nil {
		fs = append(fs, File{"pids", "pids.max", pidsValue(*rc.PidsLimit)})
	}
	return fs
}

func pidsValue(n int64) string {
	if n <= 0 {
		return "max"
	}
	return strconv.FormatInt(n, 10)
}

// SharesToWeight converts cgroup v1 cpu.shares to v2 cpu.weight as upstream's getCPUWeight
// (cgroup_manager_linux.go): [2, 262144] onto [1, 10000], linearly.
func SharesToWeight(shares uint64) uint64 {
	if shares == 0 {
		return 0
	}
	if shares >= 262144 {
		return 10000
	}
	return 1 + ((shares-2)*9999)/262142
}

// Limits are a cgroup's current CFS quota and memory limit (-1: unlimited; nil: unknown).
type Limits struct {
	CPUQuota, Memory *int64
}

// Grow is want with its CFS quota and memory limit raised to cur's where cur's are higher (or
// unlimited): the pod cgroup's values while its containers are resized, so that no container
// ever has a higher limit than its pod (cgroup v1 refuses a child's quota above its parent's),
// as upstream's doPodResizeAction raises pod limits before containers and lowers them after.
func Grow(cur Limits, want ResourceConfig) ResourceConfig {
	higher := func(c, w *int64) *int64 {
		if c == nil || w == nil {
			return w
		}
		switch {
		case *w <= 0: // unlimited already
			return w
		case *c <= 0 || *c > *w:
			v := *c
			if v <= 0 {
				v = -1
			}
			return &v
		}
		return w
	}
	out := want
	out.CPUQuota = higher(cur.CPUQuota, want.CPUQuota)
	out.Memory = higher(cur.Memory, want.Memory)
	return out
}

// ParseLimits reads the quota and memory limit from the files' contents of version v (v1:
// cpu.cfs_quota_us, memory.limit_in_bytes; v2: cpu.max, memory.max); an empty content is
// unknown.
func ParseLimits(v Version, quota, memory string) (Limits, error) {
	var l Limits
	parse := func(s string) (*int64, error) {
		s = strings.TrimSpace(s)
		if s == "" {
			return nil, nil
		}
		if s == "max" {
			n := int64(-1)
			return &n, nil
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("parsing cgroup limit %q: %w", s, err)
		}
		if n > 1<<62 { // v1's unlimited memory (PAGE_COUNTER_MAX pages)
			n = -1
		}
		return &n, nil
	}
	var err error
	if v == V2 {
		quota, _, _ = strings.Cut(strings.TrimSpace(quota), " ")
	}
	if l.CPUQuota, err = parse(quota); err != nil {
		return l, err
	}
	l.Memory, err = parse(memory)
	return l, err
}
