// Package status computes a pod's API status (phase, conditions, container statuses) from its
// spec and what the container runtime reports, following upstream's kubelet
// (pkg/kubelet/kubelet_pods.go getPhase / convertToAPIContainerStatuses / generateAPIPodStatus and
// pkg/kubelet/status/generate.go). Everything here is a pure function of its inputs. Sidecars
// (init containers with restartPolicy Always) appear in initContainerStatuses with started,
// ready and restartCount as app containers do; they count for Initialized once started, for
// ContainersReady and Ready with their readiness, and not for the phase once terminated.
// Ephemeral containers appear in ephemeralContainerStatuses, never ready, and count for
// nothing else.
// With in-place resize (Input.Actuated) container statuses carry allocatedResources and
// resources, and the node's PodResizePending and PodResizeInProgress conditions come first.
package status

import (
	"time"
)

// ContainerState is the runtime state of one container, as CRI reports it.
type ContainerState string

// The CRI container states (runtimeapi.ContainerState), named as upstream's kubecontainer does.
const (
	ContainerStateCreated ContainerState = "created"
	ContainerStateRunning ContainerState = "running"
	ContainerStateExited  ContainerState = "exited"
	ContainerStateUnknown ContainerState = "unknown"
)

// Container is one container instance (one attempt) seen in the runtime.
type Container struct {
	// ID is the runtime's container ID (without the "containerd://" prefix).
	ID string
	// Name is the container's name in the pod spec.
	Name  string
	State ContainerState
	// SandboxID is the sandbox the container runs in.
	SandboxID string
	// CreatedAt orders attempts: the newest attempt of a name is its current state.
	CreatedAt  time.Time
	StartedAt  time.Time
	FinishedAt time.Time
	ExitCode   int32
	// Reason and Message as the runtime reports them (containerd: Completed, Error, OOMKilled);
	// a termination message read from terminationMessagePath goes in Message.
	Reason  string
	Message string
	// RestartCount comes from the io.kubernetes.container.restartCount annotation.
	RestartCount int32
	// Hash is the io.kubernetes.container.hash annotation (the spec the attempt was made from).
	Hash string
	// Image is the image the runtime reports; ImageRef its resolved reference (digest).
	Image    string
	ImageRef string
}

// Sandbox is one pod sandbox seen in the runtime.
type Sandbox struct {
	ID        string
	Ready     bool
	CreatedAt time.Time
	// IPs of the sandbox, primary first ("" when the network is not set up yet).
	IPs []string
	// HostNetwork is the network namespace mode the sandbox was created with.
	HostNetwork bool
	// Attempt is the sandbox's metadata attempt number.
	Attempt uint32
}

// Runtime is what the runtime reports for one pod.
type Runtime struct {
	// RuntimeName prefixes container IDs in the API ("containerd").
	RuntimeName string
	// Sandboxes, newest first.
	Sandboxes []Sandbox
	// Containers, every attempt still present in the runtime (any order).
	Containers []Container
}

// Waiting is a reason a container could not be started in the last sync (upstream's reasonCache):
// ErrImagePull, ImagePullBackOff, ErrImageNeverPull, CrashLoopBackOff, CreateContainerError, ...
type Waiting struct {
	Reason  string
	Message string
}

// Latest returns the newest attempt of the named container, or nil.
func (r *Runtime) Latest(name string) *Container {
	var best *Container
	for i := range r.Containers {
		c := &r.Containers[i]
		if c.Name != name {
			continue
		}
		if best == nil || c.CreatedAt.After(best.CreatedAt) {
			best = c
		}
	}
	return best
}

// ActiveSandboxID is the sandbox the pod's containers run in now: the newest, when ready
// ("" otherwise), as upstream's GetPodStatus picks the sandbox of ActiveContainerStatuses.
func (r *Runtime) ActiveSandboxID() string {
	if len(r.Sandboxes) == 0 || !r.Sandboxes[0].Ready {
		return ""
	}
	return r.Sandboxes[0].ID
}

// LatestActive returns the newest attempt of the named container in the active sandbox, or nil
// (upstream's FindActiveContainerStatusByName).
func (r *Runtime) LatestActive(name string) *Container {
	sb := r.ActiveSandboxID()
	if sb == "" {
		return nil
	}
	var best *Container
	for i := range r.Containers {
		c := &r.Containers[i]
		if c.Name != name || c.SandboxID != sb {
			continue
		}
		if best == nil || c.CreatedAt.After(best.CreatedAt) {
			best = c
		}
	}
	return best
}

// Attempts returns the attempts of the named container, newest first.
func (r *Runtime) Attempts(name string) []*Container {
	var out []*Container
	for i := range r.Containers {
		if r.Containers[i].Name == name {
			out = append(out, &r.Containers[i])
		}
	}
	// insertion sort, newest first (few attempts are kept)
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].CreatedAt.After(out[j-1].CreatedAt); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}
