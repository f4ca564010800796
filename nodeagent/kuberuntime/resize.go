package kuberuntime

import (
	"context"
	"errors"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	"k8s.io/klog/v2"
)

// Actuated are the resources each container of a pod runs with, by name, as the node recorded
// them when it started or resized the container (allocation.State.Actuated). A nil map turns
// in-place resize off.
type Actuated map[string]corev1.ResourceRequirements

// ContainerToUpdate is a running container resized in place (upstream's containerToUpdateInfo).
type ContainerToUpdate struct {
	ID, Name string
	// Container is the container with its allocated (desired) resources.
	Container *corev1.Container
	// MemoryLimitDecrease is set when the memory limit goes down (or is added): the container's
	// memory usage must be below the new limit.
	MemoryLimitDecrease bool
}

// resizeValues are the values a resize compares (upstream's containerResources).
type resizeValues struct {
	cpuRequest, cpuLimit, memoryRequest, memoryLimit int64
}

func valuesOf(r *corev1.ResourceRequirements) resizeValues {
	return resizeValues{r.Requests.Cpu().MilliValue(), r.Limits.Cpu().MilliValue(), r.Requests.Memory().Value(), r.Limits.Memory().Value()}
}

// computePodResizeAction is upstream's: a running container whose allocated resources (its
// spec, the node agent passes the allocated pod) differ from the actuated ones is restarted when
// the resize policy of a changed resource is RestartContainer (added to ContainersToKill and
// ContainersToStart or InitContainersToStart; false returned), else updated in place
// (ContainersToUpdate, memory limit decreases first, as upstream orders decreases before
// increases).
func computePodResizeAction(c *corev1.Container, idx int, init bool, id string, actuated Actuated, a *PodActions) bool {
	if actuated == nil {
		return true
	}
	cur := actuated[c.Name] // missing: the zero value, an idempotent update (upstream)
	want, have := valuesOf(&c.Resources), valuesOf(&cur)
	if want == have {
		return true
	}
	restart := false
	policy := func(name corev1.ResourceName) bool {
		for _, p := range c.ResizePolicy {
			if p.ResourceName == name {
				return p.RestartPolicy == corev1.RestartContainer
			}
		}
		return false // NotRequired by default
	}
	if want.cpuRequest != have.cpuRequest || want.cpuLimit != have.cpuLimit {
		restart = restart || policy(corev1.ResourceCPU)
	}
	if want.memoryRequest != have.memoryRequest || want.memoryLimit != have.memoryLimit {
		restart = restart || policy(corev1.ResourceMemory)
	}
	if restart {
		a.ContainersToKill[id] = ContainerToKill{ID: id, Name: c.Name, Message: fmt.Sprintf("Container %s resize requires restart", c.Name)}
		if init {
			a.InitContainersToStart = append(a.InitContainersToStart, idx)
		} else {
			a.ContainersToStart = append(a.ContainersToStart, idx)
		}
		return false
	}
	u := ContainerToUpdate{ID: id, Name: c.Name, Container: c,
		MemoryLimitDecrease: want.memoryLimit != 0 && (have.memoryLimit == 0 || want.memoryLimit < have.memoryLimit)}
	if u.MemoryLimitDecrease || want.cpuLimit < have.cpuLimit {
		a.ContainersToUpdate = slices.Insert(a.ContainersToUpdate, 0, u)
	} else {
		a.ContainersToUpdate = append(a.ContainersToUpdate, u)
	}
	return true
}

// updateContainers resizes the containers of a.ContainersToUpdate through CRI
// UpdateContainerResources, as upstream's doPodResizeAction: a memory limit may not go below
// the container's current usage (the resize then fails with upstream's message and is retried
// at the next sync). It returns the names updated and the error that stopped it.
func (m *Manager) updateContainers(ctx context.Context, pod *corev1.Pod, updates []ContainerToUpdate) ([]string, error) {
	var errs []error
	for _, u := range updates {
		if u.MemoryLimitDecrease {
			limit := u.Container.Resources.Limits.Memory().Value()
			stats, err := m.cfg.Runtime.ContainerStats(ctx, u.ID)
			if err != nil || stats.GetMemory().GetUsageBytes() == nil {
				errs = append(errs, fmt.Errorf("missing container %q memory usage", u.Name))
			} else if usage := stats.GetMemory().GetUsageBytes().GetValue(); usage >= uint64(limit) {
				errs = append(errs, fmt.Errorf("attempting to set container %q memory limit (%d) below current usage (%d)", u.Name, limit, usage))
			}
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("cannot decrease memory limits: %w", errors.Join(errs...))
	}
	var done []string
	for _, u := range updates {
		r := LinuxResources(u.Container)
		r.OomScoreAdj = OOMScoreAdj(pod, u.Container, m.cfg.NodeMemoryCapacity)
		klog.V(3).InfoS("Resizing container", "pod", klog.KObj(pod), "container", u.Name, "cpuShares", r.CpuShares, "cpuQuota", r.CpuQuota, "memoryLimit", r.MemoryLimitInBytes)
		if err := m.cfg.Runtime.UpdateContainerResources(ctx, u.ID, &runtimeapi.ContainerResources{Linux: r}); err != nil {
			return done, fmt.Errorf("updating the resources of container %q: %w", u.Name, err)
		}
		done = append(done, u.Name)
	}
	return done, nil
}
