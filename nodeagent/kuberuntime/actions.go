package kuberuntime

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"

	"github.com/skiff-dev/skiff/nodeagent/status"
)

// ContainerToKill is one running container to stop, with why (for the event and the log).
type ContainerToKill struct {
	ID      string
	Name    string
	Message string
}

// PodActions is what SyncPod must do, as upstream's podActions.
type PodActions struct {
	// KillPod stops every container and the sandbox first.
	KillPod bool
	// CreateSandbox makes a new sandbox with Attempt; SandboxID is the current one otherwise.
	CreateSandbox bool
	SandboxID     string
	Attempt       uint32
	// NextInitContainerToStart is the init container to run now (nil: none).
	NextInitContainerToStart *corev1.Container
	// ContainersToStart are indexes into pod.Spec.Containers.
	ContainersToStart []int
	// ContainersToKill, by container ID.
	ContainersToKill map[string]ContainerToKill
}

// ProbeResults tells ComputePodActions about failed liveness/startup probes by container ID.
type ProbeResults interface {
	// Failed returns a message such as "failed liveness probe" when the container must be
	// restarted, "" otherwise.
	Failed(containerID string) string
}

func shouldRestartOnFailure(pod *corev1.Pod) bool {
	return pod.Spec.RestartPolicy != corev1.RestartPolicyNever
}

func containerSucceeded(c *corev1.Container, rt *status.Runtime) bool {
	l := rt.Latest(c.Name)
	return l != nil && l.State == status.ContainerStateExited && l.ExitCode == 0
}

func isInitContainerFailed(c *status.Container) bool {
	return (c.State == status.ContainerStateExited && c.ExitCode != 0) || c.State == status.ContainerStateUnknown
}

// findNextInitContainerToRun is upstream's: the last failed init container (status and spec),
// else the next one to run, and whether initialization is done.
func findNextInitContainerToRun(pod *corev1.Pod, rt *status.Runtime) (*status.Container, *corev1.Container, bool) {
	inits := pod.Spec.InitContainers
	if len(inits) == 0 {
		return nil, nil, true
	}
	// a running regular container means every init container has run.
	for _, c := range pod.Spec.Containers {
		if l := rt.Latest(c.Name); l != nil && l.State == status.ContainerStateRunning {
			return nil, nil, true
		}
	}
	for i := len(inits) - 1; i >= 0; i-- {
		if l := rt.Latest(inits[i].Name); l != nil && isInitContainerFailed(l) {
			return l, &inits[i], false
		}
	}
	for i := len(inits) - 1; i >= 0; i-- {
		l := rt.Latest(inits[i].Name)
		if l == nil {
			continue
		}
		if l.State == status.ContainerStateRunning {
			return nil, nil, false
		}
		if l.State == status.ContainerStateExited {
			if i == len(inits)-1 {
				return nil, nil, true
			}
			return nil, &inits[i+1], false
		}
	}
	return nil, &inits[0], false
}

// ComputePodActions is upstream's computePodActions (pkg/kubelet/kuberuntime/
// kuberuntime_manager.go) for regular init containers and app containers.
func ComputePodActions(pod *corev1.Pod, rt *status.Runtime, probes ProbeResults) PodActions {
	createSandbox, attempt, sandboxID := status.PodSandboxChanged(pod, rt)
	a := PodActions{KillPod: createSandbox, CreateSandbox: createSandbox, SandboxID: sandboxID, Attempt: attempt, ContainersToKill: map[string]ContainerToKill{}}

	if createSandbox {
		// upstream: a pod that must not restart whose sandbox died after its containers
		// ran is not recreated.
		if !shouldRestartOnFailure(pod) && attempt != 0 && len(rt.Containers) != 0 {
			a.CreateSandbox = false
			return a
		}
		var toStart []int
		for i := range pod.Spec.Containers {
			c := &pod.Spec.Containers[i]
			if pod.Spec.RestartPolicy == corev1.RestartPolicyOnFailure && containerSucceeded(c, rt) {
				continue
			}
			toStart = append(toStart, i)
		}
		// nothing left to run (OnFailure and every container succeeded): no new sandbox.
		if len(toStart) == 0 {
			if _, _, done := findNextInitContainerToRun(pod, rt); done {
				a.CreateSandbox = false
				return a
			}
		}
		if len(pod.Spec.InitContainers) != 0 {
			// a new sandbox runs the init containers again from the first.
			a.NextInitContainerToStart = &pod.Spec.InitContainers[0]
			return a
		}
		a.ContainersToStart = toStart
		return a
	}

	last, next, done := findNextInitContainerToRun(pod, rt)
	if !done {
		if next != nil {
			if last != nil && isInitContainerFailed(last) && !shouldRestartOnFailure(pod) {
				// upstream: a failed init container with restartPolicy Never fails the pod.
				a.KillPod = true
			} else {
				if last != nil && last.State == status.ContainerStateUnknown {
					a.ContainersToKill[last.ID] = ContainerToKill{ID: last.ID, Name: last.Name, Message: "Init container is in unknown state, try killing it before restart"}
				}
				a.NextInitContainerToStart = next
			}
		}
		return a
	}

	keep := 0
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		l := rt.Latest(c.Name)
		if l == nil || l.State != status.ContainerStateRunning {
			if status.ShouldContainerBeRestarted(c, pod, rt) {
				a.ContainersToStart = append(a.ContainersToStart, i)
				if l != nil && l.State == status.ContainerStateUnknown {
					a.ContainersToKill[l.ID] = ContainerToKill{ID: l.ID, Name: c.Name, Message: "Container is in unknown state, try killing it before restart"}
				}
			}
			continue
		}
		restart := shouldRestartOnFailure(pod)
		var msg string
		if l.Hash != "" && l.Hash != HashContainer(c) {
			// upstream: a changed spec restarts the container whatever the restart policy.
			msg = fmt.Sprintf("Container %s definition changed", c.Name)
			restart = true
		} else if f := probeFailed(probes, l.ID); f != "" {
			msg = fmt.Sprintf("Container %s %s", c.Name, f)
		} else {
			keep++
			continue
		}
		if restart {
			msg += ", will be restarted"
			a.ContainersToStart = append(a.ContainersToStart, i)
		}
		a.ContainersToKill[l.ID] = ContainerToKill{ID: l.ID, Name: c.Name, Message: msg}
	}
	if keep == 0 && len(a.ContainersToStart) == 0 {
		a.KillPod = true
	}
	return a
}

func probeFailed(p ProbeResults, id string) string {
	if p == nil {
		return ""
	}
	return p.Failed(id)
}
