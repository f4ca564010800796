package status

import (
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Condition reasons, as upstream's pkg/kubelet/status/generate.go names them.
const (
	UnknownContainerStatuses = "UnknownContainerStatuses"
	PodCompleted             = "PodCompleted"
	PodFailed                = "PodFailed"
	ContainersNotReady       = "ContainersNotReady"
	ContainersNotInitialized = "ContainersNotInitialized"
	ReadinessGatesNotReady   = "ReadinessGatesNotReady"
)

// Container waiting reasons, as upstream's kubelet names them.
const (
	ContainerCreating   = "ContainerCreating"
	PodInitializing     = "PodInitializing"
	ErrImagePull        = "ErrImagePull"
	ImagePullBackOff    = "ImagePullBackOff"
	ErrImageNeverPull   = "ErrImageNeverPull"
	ErrInvalidImageName = "InvalidImageName"
	CrashLoopBackOff    = "CrashLoopBackOff"
	CreateContainerErr  = "CreateContainerError"
	RunContainerError   = "RunContainerError"
)

// Input is everything Generate needs.
type Input struct {
	Pod *corev1.Pod
	// Runtime is what the runtime reports for the pod (nil: nothing known yet).
	Runtime *Runtime
	// StartFailures are the reasons containers failed to start in the last sync, by name.
	StartFailures map[string]Waiting
	// Readiness and Startup are probe results by container name; a container with a readiness
	// (startup) probe and no result is not ready (not started), one without a probe is ready
	// (started) as soon as it runs.
	Readiness map[string]bool
	Startup   map[string]bool
	// HostIPs of the node, primary first.
	HostIPs []string
	// PodIsTerminal: the pod worker has stopped every container for good (pod deleted,
	// evicted, or all containers finished with restartPolicy Never/OnFailure).
	PodIsTerminal bool
	// Now stamps startTime and condition transitions.
	Now time.Time
	// Actuated are the resources the containers run with, by name (in-place resize; nil: no
	// status resources). Input.Pod is then the pod as the node allocated it: its containers'
	// resources are status.containerStatuses[].allocatedResources (requests) and, but for what
	// Actuated says of a running container's cpu and memory, their resources.
	Actuated map[string]corev1.ResourceRequirements
	// ResizeConditions are PodResizePending and PodResizeInProgress as the node decided them.
	ResizeConditions []corev1.PodCondition
}

// Generate computes the pod status as upstream's generateAPIPodStatus does. The old status is
// Input.Pod.Status; condition transition times are carried over when a status did not change.
func Generate(in Input) corev1.PodStatus {
	pod := in.Pod
	old := pod.Status
	rt := in.Runtime
	if rt == nil {
		rt = &Runtime{}
	}
	s := corev1.PodStatus{QOSClass: old.QOSClass}

	hasInit := len(pod.Spec.InitContainers) > 0
	s.InitContainerStatuses = containerStatuses(in, rt, pod.Spec.InitContainers, old.InitContainerStatuses, hasInit, true)
	s.ContainerStatuses = containerStatuses(in, rt, pod.Spec.Containers, old.ContainerStatuses, hasInit, false)
	s.EphemeralContainerStatuses = ephemeralContainerStatuses(in, rt, old.EphemeralContainerStatuses, hasInit)

	all := append(append([]corev1.ContainerStatus{}, s.InitContainerStatuses...), s.ContainerStatuses...)
	s.Phase = GetPhase(pod, all, in.PodIsTerminal, HasAnyActiveRegularContainerStarted(&pod.Spec, rt))
	// upstream: pods are not allowed to transition out of terminal phases.
	if old.Phase == corev1.PodFailed || old.Phase == corev1.PodSucceeded {
		s.Phase = old.Phase
	}
	if s.Phase == corev1.PodFailed || s.Phase == corev1.PodSucceeded {
		// upstream: a terminal pod's containers are not ready (probe manager drops its workers).
		for i := range s.ContainerStatuses {
			s.ContainerStatuses[i].Ready = false
		}
		for i := range s.InitContainerStatuses {
			if isRestartableInit(pod.Spec.InitContainers, s.InitContainerStatuses[i].Name) {
				s.InitContainerStatuses[i].Ready = false
			}
		}
		if old.Reason != "" {
			s.Reason, s.Message = old.Reason, old.Message
		}
	}

	// Conditions in upstream's order: PodReadyToStartContainers, Initialized, Ready,
	// ContainersReady, PodScheduled; conditions owned by others (readiness gates,
	// DisruptionTarget) are kept.
	changed, _, _ := PodSandboxChanged(pod, rt)
	ready := corev1.PodCondition{Type: corev1.PodReadyToStartContainers, Status: corev1.ConditionTrue}
	if changed {
		ready.Status = corev1.ConditionFalse
	}
	conds := append(append([]corev1.PodCondition{}, in.ResizeConditions...), ready)
	conds = append(conds, GeneratePodInitializedCondition(pod, all, s.Phase))
	conds = append(conds, GeneratePodReadyCondition(pod, old.Conditions, all, s.Phase))
	conds = append(conds, GenerateContainersReadyCondition(pod, all, s.Phase))
	conds = append(conds, corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionTrue})
	for _, c := range old.Conditions {
		if !KubeletOwned(c.Type) {
			conds = append(conds, c)
		}
	}
	s.Conditions = carryTransitionTimes(old.Conditions, conds, in.Now)

	// startTime is set once, at the first status the kubelet writes.
	if old.StartTime != nil {
		s.StartTime = old.StartTime
	} else {
		t := metav1.NewTime(in.Now)
		s.StartTime = &t
	}

	if len(in.HostIPs) > 0 {
		s.HostIP = in.HostIPs[0]
		for _, ip := range in.HostIPs {
			s.HostIPs = append(s.HostIPs, corev1.HostIP{IP: ip})
		}
	} else {
		s.HostIP, s.HostIPs = old.HostIP, old.HostIPs
	}

	var ips []string
	if len(rt.Sandboxes) > 0 && rt.Sandboxes[0].Ready {
		ips = rt.Sandboxes[0].IPs
	}
	if pod.Spec.HostNetwork && len(ips) == 0 {
		ips = in.HostIPs
	}
	if len(ips) > 0 && ips[0] != "" {
		s.PodIP = ips[0]
		for _, ip := range ips {
			s.PodIPs = append(s.PodIPs, corev1.PodIP{IP: ip})
		}
	} else {
		// keep the IPs once assigned (upstream keeps them for terminated pods)
		s.PodIP, s.PodIPs = old.PodIP, old.PodIPs
	}
	s.NominatedNodeName = old.NominatedNodeName
	s.ObservedGeneration = pod.Generation
	return s
}

// KubeletOwned reports whether the node's agent writes the pod condition of type t; others
// (DisruptionTarget, readiness gates) are written by other components and kept.
func KubeletOwned(t corev1.PodConditionType) bool {
	switch t {
	case corev1.PodReadyToStartContainers, corev1.PodInitialized, corev1.PodReady, corev1.ContainersReady, corev1.PodScheduled,
		corev1.PodResizePending, corev1.PodResizeInProgress:
		return true
	}
	return false
}

// carryTransitionTimes keeps an old condition's lastTransitionTime when its status did not
// change and stamps now otherwise (upstream's status manager updateLastTransitionTime).
func carryTransitionTimes(old, conds []corev1.PodCondition, now time.Time) []corev1.PodCondition {
	for i := range conds {
		c := &conds[i]
		if !KubeletOwned(c.Type) {
			continue
		}
		c.LastTransitionTime = metav1.NewTime(now)
		for _, o := range old {
			if o.Type == c.Type {
				if o.Status == c.Status && !o.LastTransitionTime.IsZero() {
					c.LastTransitionTime = o.LastTransitionTime
				}
				if c.Type == corev1.PodScheduled {
					// the scheduler owns PodScheduled: keep its transition time and any reason.
					c.LastTransitionTime = o.LastTransitionTime
					if c.LastTransitionTime.IsZero() {
						c.LastTransitionTime = metav1.NewTime(now)
					}
				}
			}
		}
	}
	return conds
}

func isRestartableInit(inits []corev1.Container, name string) bool {
	for i := range inits {
		if inits[i].Name == name {
			return IsRestartableInitContainer(&inits[i])
		}
	}
	return false
}

// IsRestartableInitContainer reports a sidecar: an init container with restartPolicy Always.
func IsRestartableInitContainer(c *corev1.Container) bool {
	return c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
}

// containerStatuses is upstream's convertToAPIContainerStatuses plus the probe manager's
// ready/started.
func containerStatuses(in Input, rt *Runtime, containers []corev1.Container, oldStatuses []corev1.ContainerStatus, hasInit, isInit bool) []corev1.ContainerStatus {
	if len(containers) == 0 {
		return nil
	}
	pod := in.Pod
	oldByName := map[string]corev1.ContainerStatus{}
	for _, o := range oldStatuses {
		oldByName[o.Name] = o
	}
	// upstream: every container starts as waiting; PodInitializing when the pod has init
	// containers, ContainerCreating otherwise.
	defaultWaiting := corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: ContainerCreating}}
	if hasInit {
		defaultWaiting = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: PodInitializing}}
	}
	out := make([]corev1.ContainerStatus, 0, len(containers))
	for i := range containers {
		c := &containers[i]
		st := corev1.ContainerStatus{Name: c.Name, Image: c.Image, State: defaultWaiting}
		if o, ok := oldByName[c.Name]; ok {
			if o.State.Terminated != nil && len(rt.Attempts(c.Name)) == 0 {
				// upstream: a terminated container whose runtime record is gone keeps its status.
				st = *o.DeepCopy()
			} else {
				st.RestartCount = o.RestartCount
				st.LastTerminationState = *o.LastTerminationState.DeepCopy()
			}
		}
		attempts := rt.Attempts(c.Name)
		if len(attempts) > 0 {
			cur := convert(rt.RuntimeName, attempts[0])
			cur.VolumeMounts = st.VolumeMounts
			if cur.Image == "" {
				cur.Image = c.Image
			}
			st = cur
			if len(attempts) > 1 {
				prev := convert(rt.RuntimeName, attempts[1])
				st.LastTerminationState = prev.State
			} else if o, ok := oldByName[c.Name]; ok && o.ContainerID != st.ContainerID && o.State.Terminated != nil {
				// the previous attempt was removed from the runtime: keep what the API had.
				st.LastTerminationState = *o.State.DeepCopy()
			} else if ok {
				st.LastTerminationState = *o.LastTerminationState.DeepCopy()
			}
			if in.Actuated != nil {
				st.AllocatedResources = c.Resources.Requests.DeepCopy()
				st.Resources = statusResources(c, st.State.Running != nil, in.Actuated)
			}
		}
		// upstream: a container that will be restarted in the next sync and failed to start
		// in the last one shows the failure as waiting (the reasonCache).
		if w, ok := in.StartFailures[c.Name]; ok && ShouldContainerBeRestarted(c, pod, rt) {
			if st.State.Terminated != nil {
				st.LastTerminationState = st.State
			}
			st.State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: w.Reason, Message: w.Message}}
		}
		running := st.State.Running != nil
		started := running
		if running && c.StartupProbe != nil {
			started = in.Startup[c.Name]
		}
		st.Started = &started
		switch {
		case isInit && !IsRestartableInitContainer(c):
			// upstream prober: an init container is ready once it exited 0.
			st.Ready = st.State.Terminated != nil && st.State.Terminated.ExitCode == 0
		default:
			st.Ready = running && started
			if st.Ready && c.ReadinessProbe != nil {
				st.Ready = in.Readiness[c.Name]
			}
		}
		out = append(out, st)
	}
	return out
}

// ephemeralContainerStatuses is upstream's convertToAPIContainerStatuses over the ephemeral
// containers: the same states and waiting reasons, never ready and without started (the
// probe manager does not look at them); they count for neither the phase nor the conditions.
func ephemeralContainerStatuses(in Input, rt *Runtime, oldStatuses []corev1.ContainerStatus, hasInit bool) []corev1.ContainerStatus {
	ecs := in.Pod.Spec.EphemeralContainers
	if len(ecs) == 0 {
		return nil
	}
	specs := make([]corev1.Container, len(ecs))
	for i := range ecs {
		specs[i] = corev1.Container(ecs[i].EphemeralContainerCommon)
	}
	out := containerStatuses(in, rt, specs, oldStatuses, hasInit, false)
	for i := range out {
		// Ephemeral containers have no resources to allocate or resize.
		out[i].Ready, out[i].Started = false, nil
		out[i].AllocatedResources, out[i].Resources = nil, nil
	}
	return out
}

// statusResources is upstream's convertContainerStatusResources with the actuated resources in
// place of the runtime's: a container that does not run shows its allocation; a running one
// the cpu and memory it was started or last resized with.
func statusResources(c *corev1.Container, running bool, actuated map[string]corev1.ResourceRequirements) *corev1.ResourceRequirements {
	r := c.Resources.DeepCopy()
	act, ok := actuated[c.Name]
	if !running || !ok {
		return r
	}
	for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		if q, ok := act.Limits[name]; ok && r.Limits != nil {
			r.Limits[name] = q.DeepCopy()
		}
		if q, ok := act.Requests[name]; ok && r.Requests != nil {
			r.Requests[name] = q.DeepCopy()
		}
	}
	return r
}

// convert is upstream's convertContainerStatus.
func convert(runtimeName string, c *Container) corev1.ContainerStatus {
	cid := ""
	if c.ID != "" {
		cid = runtimeName + "://" + c.ID
		if runtimeName == "" {
			cid = "containerd://" + c.ID
		}
	}
	st := corev1.ContainerStatus{
		Name:         c.Name,
		RestartCount: c.RestartCount,
		Image:        c.Image,
		ImageID:      c.ImageRef,
		ContainerID:  cid,
	}
	switch c.State {
	case ContainerStateRunning:
		st.State.Running = &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(c.StartedAt)}
	case ContainerStateExited:
		reason := c.Reason
		if reason == "" {
			// what containerd reports when it gives no reason of its own
			reason = "Error"
			if c.ExitCode == 0 {
				reason = "Completed"
			}
		}
		st.State.Terminated = &corev1.ContainerStateTerminated{
			ExitCode:    c.ExitCode,
			Reason:      reason,
			Message:     c.Message,
			StartedAt:   metav1.NewTime(c.StartedAt),
			FinishedAt:  metav1.NewTime(c.FinishedAt),
			ContainerID: cid,
		}
	default:
		// upstream: created (not yet started) and unknown collapse to waiting without reason.
		st.State.Waiting = &corev1.ContainerStateWaiting{}
	}
	return st
}

// ShouldContainerBeRestarted is upstream's kubecontainer.ShouldContainerBeRestarted.
func ShouldContainerBeRestarted(c *corev1.Container, pod *corev1.Pod, rt *Runtime) bool {
	if pod.DeletionTimestamp != nil {
		return false
	}
	latest := rt.Latest(c.Name)
	if latest == nil {
		return true
	}
	switch latest.State {
	case ContainerStateRunning:
		return false
	case ContainerStateUnknown, ContainerStateCreated:
		return true
	}
	policy := pod.Spec.RestartPolicy
	if c.RestartPolicy != nil {
		policy = corev1.RestartPolicy(*c.RestartPolicy)
	}
	switch policy {
	case corev1.RestartPolicyNever:
		return false
	case corev1.RestartPolicyOnFailure:
		return latest.ExitCode != 0
	}
	return true
}

// HasAnyActiveRegularContainerStarted is upstream's kubecontainer function: a regular container
// exists (in any state) in the active sandbox, so the pod has been initialized.
func HasAnyActiveRegularContainerStarted(spec *corev1.PodSpec, rt *Runtime) bool {
	for _, c := range spec.Containers {
		if rt.LatestActive(c.Name) != nil {
			return true
		}
	}
	return false
}

// HasAnyRegularContainerCreated is upstream's (kuberuntime): a regular container was created,
// started or exited in any sandbox, so every init container has run.
func HasAnyRegularContainerCreated(spec *corev1.PodSpec, rt *Runtime) bool {
	for _, c := range spec.Containers {
		if l := rt.Latest(c.Name); l != nil && l.State != ContainerStateUnknown {
			return true
		}
	}
	return false
}

// PodSandboxChanged is upstream's runtimeutil.PodSandboxChanged: whether the pod needs a new
// sandbox, the attempt number for it, and the sandbox to kill first ("" for none).
func PodSandboxChanged(pod *corev1.Pod, rt *Runtime) (bool, uint32, string) {
	if len(rt.Sandboxes) == 0 {
		return true, 0, ""
	}
	readyCount := 0
	for _, s := range rt.Sandboxes {
		if s.Ready {
			readyCount++
		}
	}
	sb := rt.Sandboxes[0]
	if readyCount > 1 {
		return true, sb.Attempt + 1, sb.ID
	}
	if !sb.Ready {
		return true, sb.Attempt + 1, sb.ID
	}
	if sb.HostNetwork != pod.Spec.HostNetwork {
		return true, sb.Attempt + 1, ""
	}
	if !pod.Spec.HostNetwork && (len(sb.IPs) == 0 || sb.IPs[0] == "") {
		return true, sb.Attempt + 1, sb.ID
	}
	return false, sb.Attempt, sb.ID
}

func findStatus(statuses []corev1.ContainerStatus, name string) (corev1.ContainerStatus, bool) {
	for _, s := range statuses {
		if s.Name == name {
			return s, true
		}
	}
	return corev1.ContainerStatus{}, false
}

// GetPhase is upstream's getPhase (pkg/kubelet/kubelet_pods.go), including restartable init
// containers: info holds init and regular container statuses; podIsTerminal means no container
// will run again; podHasInitialized means a regular container of the current sandbox started.
func GetPhase(pod *corev1.Pod, info []corev1.ContainerStatus, podIsTerminal, podHasInitialized bool) corev1.PodPhase {
	spec := pod.Spec
	pendingRestartableInit, pendingRegularInit, failedInit := 0, 0, 0
	for i := range spec.InitContainers {
		c := &spec.InitContainers[i]
		if IsRestartableInitContainer(c) {
			continue
		}
		st, ok := findStatus(info, c.Name)
		if !ok {
			pendingRegularInit++
			continue
		}
		switch {
		case st.State.Running != nil:
			pendingRegularInit++
		case st.State.Terminated != nil:
			if st.State.Terminated.ExitCode != 0 {
				failedInit++
			}
		case st.State.Waiting != nil:
			if st.LastTerminationState.Terminated != nil {
				if st.LastTerminationState.Terminated.ExitCode != 0 {
					failedInit++
				}
			} else {
				pendingRegularInit++
			}
		default:
			pendingRegularInit++
		}
	}

	unknown, running, waiting, stopped, succeeded := 0, 0, 0, 0, 0
	for i := range spec.InitContainers {
		c := &spec.InitContainers[i]
		if !IsRestartableInitContainer(c) {
			continue
		}
		st, ok := findStatus(info, c.Name)
		if !ok {
			unknown++
			continue
		}
		switch {
		case st.State.Running != nil:
			if st.Started == nil || !*st.Started {
				pendingRestartableInit++
			}
			running++
		case st.State.Terminated != nil:
			// terminated sidecars do not count for the phase
		case st.State.Waiting != nil:
			if st.LastTerminationState.Terminated == nil {
				pendingRestartableInit++
				waiting++
			}
		default:
			pendingRestartableInit++
			unknown++
		}
	}
	for _, c := range spec.Containers {
		st, ok := findStatus(info, c.Name)
		if !ok {
			unknown++
			continue
		}
		switch {
		case st.State.Running != nil:
			running++
		case st.State.Terminated != nil:
			stopped++
			if st.State.Terminated.ExitCode == 0 {
				succeeded++
			}
		case st.State.Waiting != nil:
			if st.LastTerminationState.Terminated != nil {
				stopped++
			} else {
				waiting++
			}
		default:
			unknown++
		}
	}

	if failedInit > 0 && spec.RestartPolicy == corev1.RestartPolicyNever {
		return corev1.PodFailed
	}
	switch {
	case pendingRegularInit > 0 || (pendingRestartableInit > 0 && !podHasInitialized):
		return corev1.PodPending
	case waiting > 0:
		return corev1.PodPending
	case running > 0 && unknown == 0:
		return corev1.PodRunning
	case running == 0 && stopped > 0 && unknown == 0:
		if podIsTerminal {
			if stopped == succeeded {
				return corev1.PodSucceeded
			}
			return corev1.PodFailed
		}
		if spec.RestartPolicy == corev1.RestartPolicyAlways {
			return corev1.PodRunning
		}
		if stopped == succeeded {
			return corev1.PodSucceeded
		}
		if spec.RestartPolicy == corev1.RestartPolicyNever {
			return corev1.PodFailed
		}
		return corev1.PodRunning
	default:
		return corev1.PodPending
	}
}

// GenerateContainersReadyCondition is upstream's.
func GenerateContainersReadyCondition(pod *corev1.Pod, statuses []corev1.ContainerStatus, phase corev1.PodPhase) corev1.PodCondition {
	if statuses == nil {
		return corev1.PodCondition{Type: corev1.ContainersReady, Status: corev1.ConditionFalse, Reason: UnknownContainerStatuses}
	}
	var unknown, unready []string
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		if !IsRestartableInitContainer(c) {
			continue
		}
		if st, ok := findStatus(statuses, c.Name); !ok {
			unknown = append(unknown, c.Name)
		} else if !st.Ready {
			unready = append(unready, c.Name)
		}
	}
	for _, c := range pod.Spec.Containers {
		if st, ok := findStatus(statuses, c.Name); !ok {
			unknown = append(unknown, c.Name)
		} else if !st.Ready {
			unready = append(unready, c.Name)
		}
	}
	if (phase == corev1.PodSucceeded && len(unknown) == 0) || phase == corev1.PodFailed {
		return terminalCondition(corev1.ContainersReady, phase)
	}
	var msgs []string
	if len(unknown) > 0 {
		msgs = append(msgs, fmt.Sprintf("containers with unknown status: %s", unknown))
	}
	if len(unready) > 0 {
		msgs = append(msgs, fmt.Sprintf("containers with unready status: %s", unready))
	}
	if len(msgs) > 0 {
		return corev1.PodCondition{Type: corev1.ContainersReady, Status: corev1.ConditionFalse, Reason: ContainersNotReady, Message: strings.Join(msgs, ", ")}
	}
	return corev1.PodCondition{Type: corev1.ContainersReady, Status: corev1.ConditionTrue}
}

func terminalCondition(t corev1.PodConditionType, phase corev1.PodPhase) corev1.PodCondition {
	c := corev1.PodCondition{Type: t, Status: corev1.ConditionFalse}
	switch phase {
	case corev1.PodFailed:
		c.Reason = PodFailed
	case corev1.PodSucceeded:
		c.Reason = PodCompleted
	}
	return c
}

// GeneratePodReadyCondition is upstream's: Ready follows ContainersReady, then readiness gates
// (looked up in conditions).
func GeneratePodReadyCondition(pod *corev1.Pod, conditions []corev1.PodCondition, statuses []corev1.ContainerStatus, phase corev1.PodPhase) corev1.PodCondition {
	cr := GenerateContainersReadyCondition(pod, statuses, phase)
	if cr.Status != corev1.ConditionTrue {
		return corev1.PodCondition{Type: corev1.PodReady, Status: cr.Status, Reason: cr.Reason, Message: cr.Message}
	}
	var msgs []string
	for _, rg := range pod.Spec.ReadinessGates {
		var found *corev1.PodCondition
		for i := range conditions {
			if conditions[i].Type == rg.ConditionType {
				found = &conditions[i]
			}
		}
		if found == nil {
			msgs = append(msgs, fmt.Sprintf("corresponding condition of pod readiness gate %q does not exist.", string(rg.ConditionType)))
		} else if found.Status != corev1.ConditionTrue {
			msgs = append(msgs, fmt.Sprintf("the status of pod readiness gate %q is not \"True\", but %v", string(rg.ConditionType), found.Status))
		}
	}
	if len(msgs) > 0 {
		return corev1.PodCondition{Type: corev1.PodReady, Status: corev1.ConditionFalse, Reason: ReadinessGatesNotReady, Message: strings.Join(msgs, ", ")}
	}
	return corev1.PodCondition{Type: corev1.PodReady, Status: corev1.ConditionTrue}
}

// GeneratePodInitializedCondition is upstream's.
func GeneratePodInitializedCondition(pod *corev1.Pod, statuses []corev1.ContainerStatus, phase corev1.PodPhase) corev1.PodCondition {
	if statuses == nil && len(pod.Spec.InitContainers) > 0 {
		return corev1.PodCondition{Type: corev1.PodInitialized, Status: corev1.ConditionFalse, Reason: UnknownContainerStatuses}
	}
	var unknown, incomplete []string
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		st, ok := findStatus(statuses, c.Name)
		if !ok {
			unknown = append(unknown, c.Name)
			continue
		}
		if IsRestartableInitContainer(c) {
			if st.Started == nil || !*st.Started {
				incomplete = append(incomplete, c.Name)
			}
		} else if !st.Ready {
			incomplete = append(incomplete, c.Name)
		}
	}
	if phase == corev1.PodSucceeded && len(unknown) == 0 {
		return corev1.PodCondition{Type: corev1.PodInitialized, Status: corev1.ConditionTrue, Reason: PodCompleted}
	}
	if hasAnyRegularContainerStarted(&pod.Spec, statuses) {
		return corev1.PodCondition{Type: corev1.PodInitialized, Status: corev1.ConditionTrue}
	}
	var msgs []string
	if len(unknown) > 0 {
		msgs = append(msgs, fmt.Sprintf("containers with unknown status: %s", unknown))
	}
	if len(incomplete) > 0 {
		msgs = append(msgs, fmt.Sprintf("containers with incomplete status: %s", incomplete))
	}
	if len(msgs) > 0 {
		return corev1.PodCondition{Type: corev1.PodInitialized, Status: corev1.ConditionFalse, Reason: ContainersNotInitialized, Message: strings.Join(msgs, ", ")}
	}
	return corev1.PodCondition{Type: corev1.PodInitialized, Status: corev1.ConditionTrue}
}

func hasAnyRegularContainerStarted(spec *corev1.PodSpec, statuses []corev1.ContainerStatus) bool {
	for _, c := range spec.Containers {
		if st, ok := findStatus(statuses, c.Name); ok && (st.State.Running != nil || st.State.Terminated != nil) {
			return true
		}
	}
	return false
}
