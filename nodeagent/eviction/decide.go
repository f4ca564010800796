package eviction

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	statsv1alpha1 "k8s.io/kubelet/pkg/apis/stats/v1alpha1"
)

// Observation is one signal's reading: what is available of what capacity.
type Observation struct {
	Available, Capacity int64
}

// Observations are the signals read from one Summary.
type Observations map[Signal]Observation

// Observe reads the signals from the node's Summary as the kubelet's makeSignalObservations:
// memory from the node's available memory (capacity = available + working set), nodefs from
// the node's file system, imagefs from the runtime's image file system, PIDs as pid_max less
// the tasks running. A signal whose numbers are missing is not observed.
func Observe(s *statsv1alpha1.Summary) Observations {
	obs := Observations{}
	n := s.Node
	if m := n.Memory; m != nil && m.AvailableBytes != nil && m.WorkingSetBytes != nil {
		obs[SignalMemoryAvailable] = Observation{int64(*m.AvailableBytes), int64(*m.AvailableBytes + *m.WorkingSetBytes)}
	}
	fs := func(f *statsv1alpha1.FsStats, space, inodes Signal) {
		if f == nil {
			return
		}
		if f.AvailableBytes != nil && f.CapacityBytes != nil {
			obs[space] = Observation{int64(*f.AvailableBytes), int64(*f.CapacityBytes)}
		}
		if f.InodesFree != nil && f.Inodes != nil {
			obs[inodes] = Observation{int64(*f.InodesFree), int64(*f.Inodes)}
		}
	}
	fs(n.Fs, SignalNodeFsAvailable, SignalNodeFsInodesFree)
	if n.Runtime != nil {
		fs(n.Runtime.ImageFs, SignalImageFsAvailable, SignalImageFsInodesFree)
	}
	if r := n.Rlimit; r != nil && r.MaxPID != nil && r.NumOfRunningProcesses != nil {
		obs[SignalPIDAvailable] = Observation{*r.MaxPID - *r.NumOfRunningProcesses, *r.MaxPID}
	}
	return obs
}

// met reports whether a threshold is met by the observations.
func met(t Threshold, obs Observations) bool {
	o, ok := obs[t.Signal]
	if !ok {
		return false
	}
	return resource.NewQuantity(o.Available, resource.BinarySI).Cmp(*t.quantity(o.Capacity)) < 0
}

// State is what Decide carries from one round to the next.
type State struct {
	// FirstObserved is when each threshold (by key) was first seen met, in the current run of
	// rounds where it stayed met.
	FirstObserved map[string]time.Time
	// LastObserved is when each pressure condition was last seen.
	LastObserved map[corev1.NodeConditionType]time.Time
}

func key(t Threshold) string { return fmt.Sprintf("%s<%s/%v", t.Signal, t.Value(), t.GracePeriod) }

// Decision is one round's outcome.
type Decision struct {
	// Conditions are the node's pressure conditions now: seen within the transition period.
	Conditions []corev1.NodeConditionType
	// Evict are the thresholds met past their grace periods, the one to reclaim first (memory
	// before the rest) at the front; none: nothing to evict.
	Evict []Threshold
}

// Decide is one round of the kubelet's eviction manager's synchronize, without side effects:
// the thresholds met now, when each was first met, the pressure conditions (true while seen
// within transition), and the thresholds whose grace periods have passed.
func Decide(now time.Time, obs Observations, ts []Threshold, transition time.Duration, prev State) (Decision, State) {
	next := State{FirstObserved: map[string]time.Time{}, LastObserved: map[corev1.NodeConditionType]time.Time{}}
	for c, at := range prev.LastObserved {
		next.LastObserved[c] = at
	}
	var d Decision
	for _, t := range ts {
		if !met(t, obs) {
			continue
		}
		k := key(t)
		first, ok := prev.FirstObserved[k]
		if !ok {
			first = now
		}
		next.FirstObserved[k] = first
		next.LastObserved[signalInfo[t.Signal].condition] = now
		if now.Sub(first) >= t.GracePeriod {
			d.Evict = append(d.Evict, t)
		}
	}
	for _, c := range Conditions {
		if at, ok := next.LastObserved[c]; ok {
			if now.Sub(at) < transition || at.Equal(now) {
				d.Conditions = append(d.Conditions, c)
			} else {
				delete(next.LastObserved, c)
			}
		}
	}
	sortByPriority(d.Evict)
	return d, next
}

// PodUsage is what a pod uses, from the Summary.
type PodUsage struct {
	Pod *corev1.Pod
	// Found: the Summary has the pod.
	Found bool
	// Memory is its working set, Disk its ephemeral storage (rootfs, logs, volumes on disk),
	// Processes its process count.
	Memory, Disk, Processes int64
	// ContainerMemory and ContainerDisk (rootfs + logs) by container name, for the message.
	ContainerMemory, ContainerDisk map[string]int64
}

// Usage pairs each pod with its statistics in the Summary (by UID).
func Usage(s *statsv1alpha1.Summary, pods []*corev1.Pod) []PodUsage {
	byUID := map[string]*statsv1alpha1.PodStats{}
	for i := range s.Pods {
		byUID[s.Pods[i].PodRef.UID] = &s.Pods[i]
	}
	out := make([]PodUsage, 0, len(pods))
	for _, p := range pods {
		u := PodUsage{Pod: p, ContainerMemory: map[string]int64{}, ContainerDisk: map[string]int64{}}
		ps, ok := byUID[string(p.UID)]
		if ok {
			u.Found = true
			for _, c := range ps.Containers {
				if c.Memory != nil && c.Memory.WorkingSetBytes != nil {
					u.ContainerMemory[c.Name] = int64(*c.Memory.WorkingSetBytes)
				}
				if c.Rootfs != nil && c.Rootfs.UsedBytes != nil && c.Logs != nil && c.Logs.UsedBytes != nil {
					u.ContainerDisk[c.Name] = int64(*c.Rootfs.UsedBytes + *c.Logs.UsedBytes)
				}
			}
			if ps.Memory != nil && ps.Memory.WorkingSetBytes != nil {
				u.Memory = int64(*ps.Memory.WorkingSetBytes)
			} else {
				for _, v := range u.ContainerMemory {
					u.Memory += v
				}
			}
			if e := ps.EphemeralStorage; e != nil && e.UsedBytes != nil {
				u.Disk = int64(*e.UsedBytes)
			}
			if ps.ProcessStats != nil && ps.ProcessStats.ProcessCount != nil {
				u.Processes = int64(*ps.ProcessStats.ProcessCount)
			}
		}
		out = append(out, u)
	}
	return out
}

// podRequest is the pod's request of a resource: its containers' sum, or its largest init
// container's when larger (sidecars' requests add to both), as upstream's PodRequests.
func podRequest(pod *corev1.Pod, name corev1.ResourceName) int64 {
	var sum, sidecars, maxInit int64
	for _, c := range pod.Spec.Containers {
		if q, ok := c.Resources.Requests[name]; ok {
			sum += q.Value()
		}
	}
	for _, c := range pod.Spec.InitContainers {
		q := c.Resources.Requests[name]
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			sidecars += q.Value()
			maxInit = max(maxInit, sidecars)
			continue
		}
		maxInit = max(maxInit, sidecars+q.Value())
	}
	return max(sum+sidecars, maxInit)
}

func priority(p *corev1.Pod) int32 {
	if p.Spec.Priority != nil {
		return *p.Spec.Priority
	}
	return 0
}

// Rank orders pods for eviction under a signal, the first victim first, as upstream's
// rankMemoryPressure / rankDiskPressureFunc / rankPIDPressure: pods without statistics first;
// memory and disk: pods using more than they request, then lower priority, then the most used
// above the request; PIDs: lower priority, then the most processes.
func Rank(s Signal, pods []PodUsage) {
	res := signalInfo[s].resource
	usage := func(u PodUsage) int64 {
		if res == corev1.ResourceMemory {
			return u.Memory
		}
		return u.Disk
	}
	slices.SortStableFunc(pods, func(a, b PodUsage) int {
		if a.Found != b.Found {
			if !a.Found {
				return -1
			}
			return 1
		}
		if s == SignalPIDAvailable {
			return cmp.Or(cmp.Compare(priority(a.Pod), priority(b.Pod)), cmp.Compare(b.Processes, a.Processes))
		}
		ra, rb := podRequest(a.Pod, res), podRequest(b.Pod, res)
		ea, eb := usage(a) > ra, usage(b) > rb
		if ea != eb {
			if ea {
				return -1
			}
			return 1
		}
		return cmp.Or(cmp.Compare(priority(a.Pod), priority(b.Pod)), cmp.Compare(usage(b)-rb, usage(a)-ra))
	})
}

// Message is upstream's eviction message: the resource, the threshold and what was available,
// and each container using more than it requests.
func Message(t Threshold, obs Observations, u PodUsage) string {
	res := signalInfo[t.Signal].resource
	var b strings.Builder
	fmt.Fprintf(&b, "The node was low on resource: %v. ", res)
	if o, ok := obs[t.Signal]; ok {
		fmt.Fprintf(&b, "Threshold quantity: %v, available: %v. ", t.quantity(o.Capacity).String(), quantityString(t.Signal, o.Available))
	}
	usage := u.ContainerMemory
	if res == corev1.ResourceEphemeralStorage {
		usage = u.ContainerDisk
	} else if res != corev1.ResourceMemory {
		return b.String()
	}
	for _, c := range u.Pod.Spec.Containers {
		used, ok := usage[c.Name]
		if !ok {
			continue
		}
		req := c.Resources.Requests[res]
		if resource.NewQuantity(used, resource.BinarySI).Cmp(req) > 0 {
			fmt.Fprintf(&b, "Container %s was using %s, request is %s, has larger consumption of %v. ",
				c.Name, resource.NewQuantity(used, resource.BinarySI).String(), req.String(), res)
		}
	}
	return b.String()
}

func quantityString(s Signal, v int64) string {
	switch s {
	case SignalMemoryAvailable, SignalNodeFsAvailable, SignalImageFsAvailable:
		return resource.NewQuantity(v, resource.BinarySI).String()
	}
	return resource.NewQuantity(v, resource.DecimalSI).String()
}

// Critical reports whether a pod is never evicted, as upstream's IsCriticalPod: a static or
// mirror pod, or one of system-critical priority.
func Critical(p *corev1.Pod) bool {
	if _, mirror := p.Annotations[corev1.MirrorPodAnnotationKey]; mirror {
		return true
	}
	if src, ok := p.Annotations["kubernetes.io/config.source"]; ok && src != "api" {
		return true
	}
	return p.Spec.Priority != nil && *p.Spec.Priority >= 2000000000
}

// Admit is the kubelet's eviction admission: under no pressure every pod runs, critical pods
// always; under memory pressure only, pods that are not BestEffort, and BestEffort pods that
// tolerate the memory-pressure taint; under disk or PID pressure none. The message is
// upstream's ("The node had condition: [MemoryPressure]. ").
func Admit(pod *corev1.Pod, conditions []corev1.NodeConditionType) (bool, string) {
	if len(conditions) == 0 || Critical(pod) {
		return true, ""
	}
	if len(conditions) == 1 && conditions[0] == corev1.NodeMemoryPressure {
		if pod.Status.QOSClass != corev1.PodQOSBestEffort {
			return true, ""
		}
		taint := corev1.Taint{Key: corev1.TaintNodeMemoryPressure, Effect: corev1.TaintEffectNoSchedule}
		for _, t := range pod.Spec.Tolerations {
			if t.ToleratesTaint(logr.Discard(), &taint, false) {
				return true, ""
			}
		}
	}
	return false, fmt.Sprintf("The node had condition: %v. ", conditions)
}
