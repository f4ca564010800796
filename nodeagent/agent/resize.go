package agent

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"

	"github.com/skiff-dev/skiff/nodeagent/allocation"
	"github.com/skiff-dev/skiff/nodeagent/kuberuntime"
	"github.com/skiff-dev/skiff/nodeagent/status"
)

// allocState is the pod's allocation (memory, else its checkpoint file).
func (a *Agent) allocState(uid types.UID) (allocation.State, bool) {
	a.mu.Lock()
	st, ok := a.allocations[uid]
	a.mu.Unlock()
	if ok {
		return st, true
	}
	st, ok, err := a.allocStore.Load(string(uid))
	if err != nil {
		klog.Background().Error(err, "Reading a pod's allocation failed", "podUID", uid)
		return allocation.State{}, false
	}
	if ok {
		a.mu.Lock()
		a.allocations[uid] = st
		a.mu.Unlock()
	}
	return st, ok
}

// setAllocState records and checkpoints the pod's allocation.
func (a *Agent) setAllocState(uid types.UID, st allocation.State) error {
	a.mu.Lock()
	a.allocations[uid] = st
	a.mu.Unlock()
	if err := a.allocStore.Save(string(uid), st); err != nil {
		return fmt.Errorf("checkpointing the allocation of pod %s: %w", uid, err)
	}
	return nil
}

// allocatedPods are the other pods the node runs as it allocated them.
func (a *Agent) allocatedPods(except types.UID) []*corev1.Pod {
	var out []*corev1.Pod
	for _, uid := range a.workers.Known() {
		p := a.podByUID(uid)
		if uid == except || p == nil || isTerminalAPI(p) {
			continue
		}
		if st, ok := a.allocState(uid); ok {
			p, _ = allocation.UpdatePodFromAllocation(p, st.Allocated)
		}
		out = append(out, p)
	}
	return out
}

// allocate is the allocation manager's part of a sync (upstream's handlePodResourcesResize and
// UpdatePodFromAllocation): a pod seen for the first time is allocated its spec; a changed spec
// is allocated when it fits beside the other pods, else left pending. It returns the pod as the
// node runs it.
func (a *Agent) allocate(pod *corev1.Pod) (*corev1.Pod, allocation.State, error) {
	st, ok := a.allocState(pod.UID)
	if !ok {
		st = allocation.Initial(pod)
		if err := a.setAllocState(pod.UID, st); err != nil {
			return nil, st, err
		}
	}
	_, allocatable := a.machine.Capacity()
	next, events := allocation.HandleResize(pod, st, a.allocatedPods(pod.UID), allocatable, metav1.NewTime(a.cfg.Clock.Now()))
	for _, e := range events {
		a.podEvent(pod, e.Type, e.Reason, e.Message)
	}
	if len(events) > 0 || (st.Pending == nil) != (next.Pending == nil) {
		if err := a.setAllocState(pod.UID, next); err != nil {
			return nil, next, err
		}
	}
	allocated, _ := allocation.UpdatePodFromAllocation(pod, next.Allocated)
	return allocated, next, nil
}

// actuated gives kuberuntime the resources the pod's containers run with.
func (a *Agent) actuated(pod *corev1.Pod) kuberuntime.Actuated {
	st, ok := a.allocState(pod.UID)
	if !ok {
		return nil
	}
	return st.Actuated
}

// settleResize records what the sync actuated (containers resized in place, and those started,
// with their allocation), sets the pod cgroup's exact values once no resize is under way, and
// updates PodResizeInProgress (upstream's SetPodResizeInProgressCondition with reason Error, and
// its clearing with ResizeCompleted).
func (a *Agent) settleResize(ctx context.Context, pod, allocated *corev1.Pod, res kuberuntime.SyncResult) {
	st, ok := a.allocState(pod.UID)
	if !ok {
		return
	}
	next := st
	next.Actuated = make(map[string]corev1.ResourceRequirements, len(st.Actuated))
	for k, v := range st.Actuated {
		next.Actuated[k] = v
	}
	record := func(name string) { next.Actuated[name] = st.Allocated[name] }
	for _, name := range res.Resized {
		record(name)
	}
	for _, i := range res.Actions.InitContainersToStart {
		if name := allocated.Spec.InitContainers[i].Name; res.StartFailures[name].Reason == "" {
			record(name)
		}
	}
	for _, i := range res.Actions.ContainersToStart {
		if name := allocated.Spec.Containers[i].Name; res.StartFailures[name].Reason == "" {
			record(name)
		}
	}
	var running []string
	if rt, err := a.kr.PodRuntime(ctx, string(pod.UID)); err == nil {
		for _, c := range rt.Containers {
			if c.State == status.ContainerStateRunning && c.SandboxID == rt.ActiveSandboxID() {
				running = append(running, c.Name)
			}
		}
	}
	next, events := allocation.Settle(allocated, next, running, res.ResizeErr, metav1.NewTime(a.cfg.Clock.Now()))
	for _, e := range events {
		a.podEvent(pod, e.Type, e.Reason, e.Message)
	}
	if st.InProgress != nil && next.InProgress == nil {
		// the containers run with their allocation: the pod cgroup gets its exact values.
		if err := a.ensurePodCgroup(allocated); err != nil {
			klog.FromContext(ctx).Error(err, "Setting the pod cgroup after a resize failed", "pod", klog.KObj(pod))
		}
	}
	if err := a.setAllocState(pod.UID, next); err != nil {
		klog.FromContext(ctx).Error(err, "Checkpointing a pod's allocation failed", "pod", klog.KObj(pod))
	}
}

// growPodCgroup is ensurePodCgroup while a resize is under way (cm.Manager.GrowPod).
func (a *Agent) growPodCgroup(pod *corev1.Pod) error {
	if a.cgroups == nil {
		return nil
	}
	if err := a.cgroups.GrowPod(pod); err != nil {
		return fmt.Errorf("failed to ensure that the pod: %s cgroups exist and are correctly applied: %w", pod.UID, err)
	}
	return nil
}
