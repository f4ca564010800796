package kuberuntime

import (
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"

	"github.com/skiff-dev/skiff/nodeagent/probes"
	"github.com/skiff-dev/skiff/nodeagent/status"
)

// ContainerToKill is one running container to stop, with why (for the event and the log).
type ContainerToKill struct {
	ID      string
	Name    string
	Message string
	// GracePeriod, when set, replaces the pod's: the terminationGracePeriodSeconds of the
	// liveness or startup probe that failed (upstream's setTerminationGracePeriod).
	GracePeriod *int64
}

// PodActions is what SyncPod must do, as upstream's podActions.
type PodActions struct {
	// KillPod stops every container and the sandbox first.
	KillPod bool
	// CreateSandbox makes a new sandbox with Attempt; SandboxID is the current one otherwise.
	CreateSandbox bool
	SandboxID     string
	Attempt       uint32
	// InitContainersToStart are indexes into pod.Spec.InitContainers, in spec order: the next
	// init container to run and the sidecars (restartable init containers) to (re)start.
	InitContainersToStart []int
	// ContainersToStart are indexes into pod.Spec.Containers.
	ContainersToStart []int
	// EphemeralContainersToStart are indexes into pod.Spec.EphemeralContainers: those never
	// created yet (an ephemeral container runs once, it is never restarted), started in the
	// current sandbox even while the pod initializes.
	EphemeralContainersToStart []int
	// ContainersToKill, by container ID.
	ContainersToKill map[string]ContainerToKill
	// ContainersToUpdate are running containers resized in place (CRI
	// UpdateContainerResources), decreases first.
	ContainersToUpdate []ContainerToUpdate
}

// What ProbeResults.Failed returns for a failed liveness or startup probe (the prober's).
const (
	FailedLivenessProbe = probes.FailedLivenessProbe
	FailedStartupProbe  = probes.FailedStartupProbe
)

// ProbeResults tells ComputePodActions about liveness/startup probes by container ID.
type ProbeResults interface {
	// Failed returns FailedLivenessProbe or FailedStartupProbe when the container must be
	// restarted, "" otherwise.
	Failed(containerID string) string
	// Started reports whether the container's startup probe succeeded.
	Started(containerID string) bool
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

// computeInitContainerActions is upstream's (kuberuntime_container.go): it adds to a the init
// container to run next, the sidecars to (re)start and the sidecars to kill (failed liveness or
// startup probe, changed spec, unknown state), and returns whether the pod is initialized. A
// sidecar counts as initialized once it runs and its startup probe, if any, succeeded; it is
// restarted whenever it exits, whatever the pod's restartPolicy.
func computeInitContainerActions(pod *corev1.Pod, rt *status.Runtime, probes ProbeResults, actuated Actuated, a *PodActions) bool {
	inits := pod.Spec.InitContainers
	if len(inits) == 0 {
		return true
	}
	// a regular container in the current sandbox means every init container has run.
	initialized := status.HasAnyActiveRegularContainerStarted(&pod.Spec, rt)
	previouslyInitialized := initialized
	var start []int
	kill := func(l *status.Container, grace *int64, format string, args ...any) {
		a.ContainersToKill[l.ID] = ContainerToKill{ID: l.ID, Name: l.Name, Message: fmt.Sprintf(format, args...), GracePeriod: grace}
	}
	// backwards: completed init containers may be gone from the runtime, the last one seen
	// tells where initialization is.
	for i := len(inits) - 1; i >= 0; i-- {
		c := &inits[i]
		sidecar := status.IsRestartableInitContainer(c)
		l := rt.LatestActive(c.Name)
		if l == nil {
			if previouslyInitialized && sidecar {
				start = append(start, i)
			}
			continue
		}
		if previouslyInitialized && !sidecar {
			continue // after initialization only sidecars are kept running
		}
		switch l.State {
		case status.ContainerStateCreated:
			// created but not started: the runtime failed to start it, start it again.
			start = append(start, i)
		case status.ContainerStateRunning:
			if !sidecar {
				break
			}
			if c.StartupProbe != nil && !probeStarted(probes, l.ID) {
				if f := probeFailed(probes, l.ID); f != "" {
					kill(l, probeGracePeriod(pod, c, f), "Init container %s %s", c.Name, f)
					start = append(start, i)
				}
				break // wait for the startup probe
			}
			if i == len(inits)-1 {
				initialized = true
			} else if !previouslyInitialized {
				start = append(start, i+1) // started for the first time: start the next one
			}
			if l.Hash != "" && l.Hash != HashContainer(c) {
				kill(l, nil, "Init container %s definition changed", c.Name)
				start = append(start, i)
				break
			}
			if f := probeFailed(probes, l.ID); f != "" && c.LivenessProbe != nil {
				kill(l, probeGracePeriod(pod, c, f), "Init container %s %s", c.Name, f)
				start = append(start, i)
				break
			}
			// a resize whose policy restarts the sidecar adds it to InitContainersToStart.
			computePodResizeAction(c, i, true, l.ID, actuated, a)
		case status.ContainerStateExited:
			if sidecar {
				start = append(start, i)
				break
			}
			if isInitContainerFailed(l) {
				if !shouldRestartOnFailure(pod) {
					// upstream: a failed init container with restartPolicy Never fails the pod.
					a.KillPod = true
					a.InitContainersToStart = nil
					return false
				}
				start = append(start, i)
				break
			}
			if i == len(inits)-1 {
				initialized = true
			} else {
				start = append(start, i+1)
			}
		default: // unknown
			if !sidecar && !shouldRestartOnFailure(pod) {
				a.KillPod = true
				a.InitContainersToStart = nil
				return false
			}
			kill(l, nil, "Init container is in %q state, try killing it before restart", l.State)
			start = append(start, i)
		}
		previouslyInitialized = true
	}
	if !previouslyInitialized {
		start = append(start, 0) // nothing started yet: the first one
	}
	slices.Reverse(start)
	a.InitContainersToStart = append(a.InitContainersToStart, start...)
	return initialized
}

// ComputePodActions is upstream's computePodActions (pkg/kubelet/kuberuntime/
// kuberuntime_manager.go) for init containers, sidecars, app containers and ephemeral
// containers (started in an existing sandbox only; a new sandbox does not run them again), with
// its in-place resizes (computePodResizeAction): pod is the pod as the node allocated it,
// actuated what its containers run with (nil: no resize).
func ComputePodActions(pod *corev1.Pod, rt *status.Runtime, probes ProbeResults, actuated Actuated) PodActions {
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
		if len(toStart) == 0 && status.HasAnyRegularContainerCreated(&pod.Spec, rt) {
			a.CreateSandbox = false
			return a
		}
		if len(pod.Spec.InitContainers) != 0 {
			// a new sandbox runs the init containers again from the first.
			a.InitContainersToStart = []int{0}
			return a
		}
		a.ContainersToStart = toStart
		return a
	}

	// upstream: ephemeral containers may be started even if initialization is not complete.
	for i := range pod.Spec.EphemeralContainers {
		if rt.Latest(pod.Spec.EphemeralContainers[i].Name) == nil {
			a.EphemeralContainersToStart = append(a.EphemeralContainersToStart, i)
		}
	}

	if initialized := computeInitContainerActions(pod, rt, probes, actuated, &a); a.KillPod || !initialized {
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
					a.ContainersToKill[l.ID] = ContainerToKill{ID: l.ID, Name: c.Name, Message: fmt.Sprintf("Container is in %q state, try killing it before restart", l.State)}
				}
			}
			continue
		}
		restart := shouldRestartOnFailure(pod)
		var msg string
		var grace *int64
		if l.Hash != "" && l.Hash != HashContainer(c) {
			// upstream: a changed spec restarts the container whatever the restart policy.
			msg = fmt.Sprintf("Container %s definition changed", c.Name)
			restart = true
		} else if f := probeFailed(probes, l.ID); f != "" {
			msg = fmt.Sprintf("Container %s %s", c.Name, f)
			grace = probeGracePeriod(pod, c, f)
		} else {
			if computePodResizeAction(c, i, false, l.ID, actuated, &a) {
				keep++
			}
			continue
		}
		if restart {
			msg += ", will be restarted"
			a.ContainersToStart = append(a.ContainersToStart, i)
		}
		a.ContainersToKill[l.ID] = ContainerToKill{ID: l.ID, Name: c.Name, Message: msg, GracePeriod: grace}
	}
	if keep == 0 && len(a.ContainersToStart) == 0 {
		a.KillPod = true
		// sidecars do not keep a pod whose containers are done alive.
		a.InitContainersToStart = nil
	}
	return a
}

func probeFailed(p ProbeResults, id string) string {
	if p == nil {
		return ""
	}
	return p.Failed(id)
}

// probeGracePeriod is upstream's setTerminationGracePeriod for a container killed because a
// probe failed: the probe's terminationGracePeriodSeconds, unless the pod is being deleted
// (its deletion grace period applies).
func probeGracePeriod(pod *corev1.Pod, c *corev1.Container, failed string) *int64 {
	if pod.DeletionGracePeriodSeconds != nil || pod.Spec.TerminationGracePeriodSeconds == nil {
		return nil
	}
	switch {
	case failed == FailedLivenessProbe && c.LivenessProbe != nil:
		return c.LivenessProbe.TerminationGracePeriodSeconds
	case failed == FailedStartupProbe && c.StartupProbe != nil:
		return c.StartupProbe.TerminationGracePeriodSeconds
	}
	return nil
}

// probeStarted: without probe results (tests) a startup probe counts as succeeded.
func probeStarted(p ProbeResults, id string) bool {
	return p == nil || p.Started(id)
}
