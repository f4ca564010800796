package kuberuntime

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	cri "k8s.io/cri-api/pkg/apis"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"

	"github.com/skiff-dev/skiff/nodeagent/status"
)

// Config configures a Manager.
type Config struct {
	Runtime cri.RuntimeService
	Images  cri.ImageManagerService
	// RuntimeName prefixes container IDs in the API (default "containerd").
	RuntimeName string
	// RuntimeHandler gives the runtime handler of a pod's sandbox, from its runtimeClassName
	// (nodeagent/runtimeclass; nil: the runtime's default, ""). An error fails the sandbox's
	// creation, as upstream's createPodSandbox.
	RuntimeHandler func(*corev1.Pod) (string, error)
	// PodLogsDir is the root of pod log directories (default /var/log/pods).
	PodLogsDir    string
	ClusterDomain string
	// DNSConfig gives a pod's resolv.conf settings (nil: the runtime's default).
	DNSConfig func(*corev1.Pod) *runtimeapi.DNSConfig
	// ContainerOptions resolves env, mounts and devices (nil: literal env values only).
	ContainerOptions func(ctx context.Context, pod *corev1.Pod, c *corev1.Container) (*ContainerOptions, error)
	// PullSecrets gives the auth for an image (nil: anonymous).
	PullSecrets func(pod *corev1.Pod, image string) *runtimeapi.AuthConfig
	// Probes reports failed liveness/startup probes (nil: none).
	Probes ProbeResults
	// CgroupParent gives the pod's cgroup, the sandbox's CgroupParent (nil: none, the
	// runtime's default place).
	CgroupParent func(*corev1.Pod) string
	// NodeMemoryCapacity for oom_score_adj of burstable pods.
	NodeMemoryCapacity int64
	// CrashLoop back-off (defaults 10 s doubling to 5 min, as upstream), and image pull
	// back-off (same defaults).
	BackoffInitial, BackoffMax           time.Duration
	ImageBackoffInitial, ImageBackoffMax time.Duration
	// MinimumGracePeriod for stopping containers (default 2 s, upstream's).
	MinimumGracePeriod time.Duration
	Clock              clock.Clock
	// Event, when set, is told about what upstream's kubelet records as events on a
	// container (Pulling, Pulled, Failed, BackOff, Created, Started, Killing) or, with an
	// empty container name, on the pod (SandboxChanged, FailedCreatePodSandBox), in its words.
	Event func(pod *corev1.Pod, containerName, eventType, reason, message string)
	// Hooks run the containers' postStart and preStop handlers (hooks.go; nil fields: CRI
	// ExecSync, an HTTP client, the sandbox IP, the clock).
	Hooks HookRunners
	// Actuated gives the resources the pod's containers run with (nil: in-place resize off;
	// SyncPod is then given the pod as the node allocated it).
	Actuated func(*corev1.Pod) Actuated
}

func (m *Manager) event(pod *corev1.Pod, container, eventType, reason, format string, args ...any) {
	if m.cfg.Event != nil {
		m.cfg.Event(pod, container, eventType, reason, fmt.Sprintf(format, args...))
	}
}

// Manager runs pods on a CRI runtime.
type Manager struct {
	cfg          Config
	crashBackoff *Backoff
	imageBackoff *Backoff
	prevPullErr  sync.Map // backoff key -> "ErrImagePull: <message>"
}

// NewManager fills in defaults.
func NewManager(cfg Config) *Manager {
	if cfg.RuntimeName == "" {
		cfg.RuntimeName = "containerd"
	}
	if cfg.PodLogsDir == "" {
		cfg.PodLogsDir = "/var/log/pods"
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	if cfg.BackoffInitial == 0 {
		cfg.BackoffInitial = 10 * time.Second
	}
	if cfg.BackoffMax == 0 {
		cfg.BackoffMax = 5 * time.Minute
	}
	if cfg.ImageBackoffInitial == 0 {
		cfg.ImageBackoffInitial = 10 * time.Second
	}
	if cfg.ImageBackoffMax == 0 {
		cfg.ImageBackoffMax = 5 * time.Minute
	}
	if cfg.MinimumGracePeriod == 0 {
		cfg.MinimumGracePeriod = 2 * time.Second
	}
	m := &Manager{
		cfg:          cfg,
		crashBackoff: NewBackoff(cfg.BackoffInitial, cfg.BackoffMax, cfg.Clock),
		imageBackoff: NewBackoff(cfg.ImageBackoffInitial, cfg.ImageBackoffMax, cfg.Clock),
	}
	m.defaultHookRunners()
	return m
}

// PodRuntime reads a pod's sandboxes and containers from the runtime, by the pod UID label.
func (m *Manager) PodRuntime(ctx context.Context, uid string) (*status.Runtime, error) {
	sel := map[string]string{PodUIDLabel: uid}
	rt := &status.Runtime{RuntimeName: m.cfg.RuntimeName}
	sbs, err := m.cfg.Runtime.ListPodSandbox(ctx, &runtimeapi.PodSandboxFilter{LabelSelector: sel})
	if err != nil {
		return nil, fmt.Errorf("listing sandboxes: %w", err)
	}
	for _, sb := range sbs {
		s := status.Sandbox{ID: sb.Id, Ready: sb.State == runtimeapi.PodSandboxState_SANDBOX_READY, CreatedAt: time.Unix(0, sb.CreatedAt)}
		if sb.Metadata != nil {
			s.Attempt = sb.Metadata.Attempt
		}
		resp, err := m.cfg.Runtime.PodSandboxStatus(ctx, sb.Id, false)
		if err == nil && resp.GetStatus() != nil {
			st := resp.Status
			if st.Network != nil && st.Network.Ip != "" {
				s.IPs = append(s.IPs, st.Network.Ip)
				for _, ip := range st.Network.AdditionalIps {
					s.IPs = append(s.IPs, ip.Ip)
				}
			}
			s.HostNetwork = st.GetLinux().GetNamespaces().GetOptions().GetNetwork() == runtimeapi.NamespaceMode_NODE
		}
		rt.Sandboxes = append(rt.Sandboxes, s)
	}
	sort.SliceStable(rt.Sandboxes, func(i, j int) bool { return rt.Sandboxes[i].CreatedAt.After(rt.Sandboxes[j].CreatedAt) })

	cs, err := m.cfg.Runtime.ListContainers(ctx, &runtimeapi.ContainerFilter{LabelSelector: sel})
	if err != nil {
		return nil, fmt.Errorf("listing containers: %w", err)
	}
	for _, c := range cs {
		resp, err := m.cfg.Runtime.ContainerStatus(ctx, c.Id, false)
		if err != nil || resp.GetStatus() == nil {
			continue // removed meanwhile
		}
		st := resp.Status
		out := status.Container{
			ID:        st.Id,
			Name:      st.GetMetadata().GetName(),
			SandboxID: c.PodSandboxId,
			CreatedAt: time.Unix(0, st.CreatedAt),
			ExitCode:  st.ExitCode,
			Reason:    st.Reason,
			Message:   st.Message,
			Image:     st.GetImage().GetImage(),
			ImageRef:  st.ImageRef,
			Hash:      st.Annotations[ContainerHashAnnotation],
			RestartCount: func() int32 {
				n, _ := strconv.Atoi(st.Annotations[ContainerRestartCountAnnotation])
				return int32(n)
			}(),
		}
		if n := st.Labels[ContainerNameLabel]; n != "" {
			out.Name = n
		}
		if st.StartedAt > 0 {
			out.StartedAt = time.Unix(0, st.StartedAt)
		}
		if st.FinishedAt > 0 {
			out.FinishedAt = time.Unix(0, st.FinishedAt)
		}
		switch st.State {
		case runtimeapi.ContainerState_CONTAINER_CREATED:
			out.State = status.ContainerStateCreated
		case runtimeapi.ContainerState_CONTAINER_RUNNING:
			out.State = status.ContainerStateRunning
		case runtimeapi.ContainerState_CONTAINER_EXITED:
			out.State = status.ContainerStateExited
			if msg := terminationMessage(st); msg != "" {
				if out.Message != "" {
					out.Message += ": "
				}
				out.Message += msg
			}
		default:
			out.State = status.ContainerStateUnknown
		}
		rt.Containers = append(rt.Containers, out)
	}
	return rt, nil
}

// SyncResult is what one SyncPod did.
type SyncResult struct {
	// Actions computed for this sync.
	Actions PodActions
	// StartFailures by container name (ErrImagePull, ImagePullBackOff, CrashLoopBackOff, ...):
	// the status package shows them as the container's waiting state.
	StartFailures map[string]status.Waiting
	// Err joins the errors met; back-off is not an error.
	Err error
	// Resized are the containers resized in place; ResizeErr what stopped a resize (the
	// PodResizeInProgress condition shows it; the next sync tries again).
	Resized   []string
	ResizeErr error
}

// SyncPod brings the runtime to the pod's spec as upstream's SyncPod: compute actions, kill
// what must die, resize running containers in place, create the sandbox, start the next init container and the sidecars to
// (re)start, start app containers.
func (m *Manager) SyncPod(ctx context.Context, pod *corev1.Pod) SyncResult {
	res := SyncResult{StartFailures: map[string]status.Waiting{}}
	rt, err := m.PodRuntime(ctx, string(pod.UID))
	if err != nil {
		res.Err = err
		return res
	}
	var actuated Actuated
	if m.cfg.Actuated != nil {
		actuated = m.cfg.Actuated(pod)
	}
	a := ComputePodActions(pod, rt, m.cfg.Probes, actuated)
	res.Actions = a
	var errs []error

	if a.KillPod {
		if err := m.killPodWithRuntime(ctx, pod, rt, nil); err != nil {
			res.Err = err
			return res
		}
		if a.CreateSandbox {
			// upstream purgeInitContainers: a new sandbox runs init containers afresh.
			for _, c := range pod.Spec.InitContainers {
				for _, att := range rt.Attempts(c.Name) {
					_ = m.cfg.Runtime.RemoveContainer(ctx, att.ID)
				}
			}
		}
	} else {
		for _, k := range a.ContainersToKill {
			klog.V(3).InfoS("Killing container", "pod", klog.KObj(pod), "container", k.Name, "reason", k.Message)
			m.event(pod, k.Name, corev1.EventTypeNormal, "Killing", "%s", k.Message)
			if err := m.stopContainer(ctx, pod, k.ID, k.GracePeriod); err != nil {
				errs = append(errs, err)
			}
		}
		if len(a.ContainersToUpdate) > 0 {
			res.Resized, res.ResizeErr = m.updateContainers(ctx, pod, a.ContainersToUpdate)
		}
	}
	if !a.CreateSandbox && (a.KillPod || (len(a.EphemeralContainersToStart) == 0 && len(a.InitContainersToStart) == 0 && len(a.ContainersToStart) == 0)) {
		res.Err = errors.Join(errs...)
		return res
	}

	sandboxID := a.SandboxID
	sbConfig := m.SandboxConfig(pod, a.Attempt)
	if a.CreateSandbox {
		if a.Attempt > 0 {
			m.event(pod, "", corev1.EventTypeNormal, "SandboxChanged", "Pod sandbox changed, it will be killed and re-created.")
		}
		id, err := m.runPodSandbox(ctx, pod, sbConfig)
		if err != nil {
			m.event(pod, "", corev1.EventTypeWarning, "FailedCreatePodSandBox", "Failed to create pod sandbox: %v", err)
			res.Err = fmt.Errorf("creating pod sandbox: %w", err)
			return res
		}
		sandboxID = id
	}

	// start reports whether the container was started (no error, no back-off).
	start := func(spec startSpec) bool {
		w, err := m.startContainer(ctx, pod, rt, spec, sandboxID, sbConfig)
		if err != nil {
			errs = append(errs, err)
		}
		if err != nil || w.Reason != "" {
			res.StartFailures[spec.container.Name] = w
			return false
		}
		return true
	}
	// upstream: ephemeral containers start before init containers, so that they run even
	// when an init container fails to start.
	for _, i := range a.EphemeralContainersToStart {
		start(ephemeralContainerStartSpec(&pod.Spec.EphemeralContainers[i]))
	}
	for _, i := range a.InitContainersToStart {
		c := &pod.Spec.InitContainers[i]
		if !start(startSpec{container: c}) && !status.IsRestartableInitContainer(c) {
			// upstream: a regular init container that failed to start stops this sync; a
			// sidecar that failed to start does not.
			res.Err = errors.Join(errs...)
			return res
		}
	}
	for _, i := range a.ContainersToStart {
		start(startSpec{container: &pod.Spec.Containers[i]})
	}
	if len(a.ContainersToStart) > 0 || len(a.InitContainersToStart) > 0 || len(a.EphemeralContainersToStart) > 0 {
		if now, err := m.PodRuntime(ctx, string(pod.UID)); err == nil {
			m.gcDeadContainers(ctx, now)
		}
	}
	res.Err = errors.Join(errs...)
	return res
}

// startSpec is upstream's: the container to start and, for an ephemeral container, its spec
// (whose targetContainerName names the container whose process namespace it joins).
type startSpec struct {
	container *corev1.Container
	ephemeral *corev1.EphemeralContainer
}

func ephemeralContainerStartSpec(ec *corev1.EphemeralContainer) startSpec {
	return startSpec{container: (*corev1.Container)(&ec.EphemeralContainerCommon), ephemeral: ec}
}

// targetID is upstream's getTargetID: the runtime ID of the newest container named by the
// ephemeral container's targetContainerName ("" without a target).
func (s startSpec) targetID(rt *status.Runtime) (string, error) {
	if s.ephemeral == nil || s.ephemeral.TargetContainerName == "" {
		return "", nil
	}
	target := rt.Latest(s.ephemeral.TargetContainerName)
	if target == nil {
		return "", fmt.Errorf("unable to find target container %v", s.ephemeral.TargetContainerName)
	}
	return target.ID, nil
}

// TargetPIDNamespace is upstream's generateLinuxContainerConfig for an ephemeral container
// with a target: a container that would have its own process namespace joins the target's
// instead (CRI NamespaceMode TARGET); with a pod-wide or the host's namespace it stays there.
func TargetPIDNamespace(cfg *runtimeapi.ContainerConfig, targetID string) {
	ns := cfg.GetLinux().GetSecurityContext().GetNamespaceOptions()
	if targetID == "" || ns == nil || ns.Pid != runtimeapi.NamespaceMode_CONTAINER {
		return
	}
	ns.Pid = runtimeapi.NamespaceMode_TARGET
	ns.TargetId = targetID
}

// runPodSandbox runs the pod's sandbox with the handler of its RuntimeClass.
func (m *Manager) runPodSandbox(ctx context.Context, pod *corev1.Pod, sbConfig *runtimeapi.PodSandboxConfig) (string, error) {
	handler := ""
	if m.cfg.RuntimeHandler != nil {
		var err error
		if handler, err = m.cfg.RuntimeHandler(pod); err != nil {
			return "", err
		}
		if handler != "" {
			klog.V(2).InfoS("Running pod with runtime handler", "pod", klog.KObj(pod), "runtimeHandler", handler)
		}
	}
	return m.cfg.Runtime.RunPodSandbox(ctx, sbConfig, handler)
}

// startContainer is upstream's startContainer with doBackOff and EnsureImageExists in front,
// ending with the postStart hook. A back-off returns a Waiting and no error.
func (m *Manager) startContainer(ctx context.Context, pod *corev1.Pod, rt *status.Runtime, spec startSpec, sandboxID string, sbConfig *runtimeapi.PodSandboxConfig) (status.Waiting, error) {
	c := spec.container
	latest := rt.Latest(c.Name)
	if latest != nil && latest.State == status.ContainerStateExited {
		key := stableKey(pod, c)
		if m.crashBackoff.IsInBackOffSince(key, latest.FinishedAt) {
			msg := fmt.Sprintf("back-off %s restarting failed container=%s pod=%s", m.crashBackoff.Get(key), c.Name, formatPod(pod))
			m.event(pod, c.Name, corev1.EventTypeWarning, "BackOff", "Back-off restarting failed container %s in pod %s", c.Name, formatPod(pod))
			return status.Waiting{Reason: status.CrashLoopBackOff, Message: msg}, nil
		}
		m.crashBackoff.Next(key, latest.FinishedAt)
	}
	imageRef, w, err := m.EnsureImageExists(ctx, pod, c, sbConfig)
	if err != nil {
		return w, err
	}
	restartCount := 0
	if latest != nil {
		restartCount = int(latest.RestartCount) + 1
	}
	// upstream's ErrCreateContainerConfig: the container's configuration cannot be made.
	configError := func(err error) (status.Waiting, error) {
		m.event(pod, c.Name, corev1.EventTypeWarning, "Failed", "Error: %v", err)
		return status.Waiting{Reason: "CreateContainerConfigError", Message: err.Error()}, err
	}
	target, err := spec.targetID(rt)
	if err != nil {
		return configError(err)
	}
	var opts *ContainerOptions
	if m.cfg.ContainerOptions != nil {
		if opts, err = m.cfg.ContainerOptions(ctx, pod, c); err != nil {
			return configError(err)
		}
	}
	cfg := m.ContainerConfig(pod, c, imageRef, restartCount, opts)
	TargetPIDNamespace(cfg, target)
	id, err := m.cfg.Runtime.CreateContainer(ctx, sandboxID, cfg, sbConfig)
	if err != nil {
		m.event(pod, c.Name, corev1.EventTypeWarning, "Failed", "Error: %v", err)
		return status.Waiting{Reason: status.CreateContainerErr, Message: err.Error()}, err
	}
	m.event(pod, c.Name, corev1.EventTypeNormal, "Created", "Created container: %s", c.Name)
	if err := m.cfg.Runtime.StartContainer(ctx, id); err != nil {
		m.event(pod, c.Name, corev1.EventTypeWarning, "Failed", "Error: %v", err)
		return status.Waiting{Reason: status.RunContainerError, Message: err.Error()}, err
	}
	m.event(pod, c.Name, corev1.EventTypeNormal, "Started", "Started container %s", c.Name)
	return m.postStart(ctx, pod, c, id)
}

// ErrImagePull and friends are the errors EnsureImageExists returns (upstream pkg/kubelet/images).
var (
	ErrImagePull        = errors.New(status.ErrImagePull)
	ErrImagePullBackOff = errors.New(status.ImagePullBackOff)
	ErrImageNeverPull   = errors.New(status.ErrImageNeverPull)
	ErrInvalidImageName = errors.New(status.ErrInvalidImageName)
)

// applyDefaultTag adds ":latest" to an image with neither tag nor digest.
func applyDefaultTag(image string) string {
	if strings.Contains(image, "@") {
		return image
	}
	last := image[strings.LastIndex(image, "/")+1:]
	if strings.Contains(last, ":") {
		return image
	}
	return image + ":latest"
}

// ImportHint ends the message of a failed pull: where the image can come from without the
// internet.
const ImportHint = `: if the image is in no registry this node reaches, import it with "skiff image import FILE.tar"`

// PullErrorMessage is the message of a failed pull: the runtime's error, as upstream reports it,
// then ImportHint.
func PullErrorMessage(err error) string {
	msg := err.Error()
	if strings.Contains(msg, "skiff image import") {
		return msg
	}
	return msg + ImportHint
}

// EnsureImageExists is upstream's imageManager.EnsureImageExists: honour imagePullPolicy,
// back off failed pulls per pod and image.
func (m *Manager) EnsureImageExists(ctx context.Context, pod *corev1.Pod, c *corev1.Container, sbConfig *runtimeapi.PodSandboxConfig) (string, status.Waiting, error) {
	if c.Image == "" || strings.ContainsAny(c.Image, " \t") {
		msg := fmt.Sprintf("Failed to apply default image tag %q: couldn't parse image name %q: invalid reference format", c.Image, c.Image)
		return "", status.Waiting{Reason: status.ErrInvalidImageName, Message: msg}, ErrInvalidImageName
	}
	image := applyDefaultTag(c.Image)
	spec := &runtimeapi.ImageSpec{Image: image, UserSpecifiedImage: c.Image}
	present := ""
	if resp, err := m.cfg.Images.ImageStatus(ctx, spec, false); err == nil && resp.GetImage() != nil {
		present = resp.Image.Id
	} else if err != nil {
		return "", status.Waiting{Reason: "ImageInspectError", Message: fmt.Sprintf("Failed to inspect image %q: %v", image, err)}, err
	}
	policy := c.ImagePullPolicy
	if policy == "" {
		policy = corev1.PullIfNotPresent
		if strings.HasSuffix(image, ":latest") {
			policy = corev1.PullAlways
		}
	}
	switch {
	case policy == corev1.PullNever && present == "":
		msg := fmt.Sprintf("Container image %q is not present with pull policy of Never", image)
		return "", status.Waiting{Reason: status.ErrImageNeverPull, Message: msg}, ErrImageNeverPull
	case policy == corev1.PullNever, policy == corev1.PullIfNotPresent && present != "":
		m.event(pod, c.Name, corev1.EventTypeNormal, "Pulled", "Container image %q already present on machine", c.Image)
		return present, status.Waiting{}, nil
	}
	key := fmt.Sprintf("%s_%s", pod.UID, image)
	if m.imageBackoff.IsInBackOffSinceUpdate(key, m.cfg.Clock.Now()) {
		msg := fmt.Sprintf("Back-off pulling image %q", image)
		m.event(pod, c.Name, corev1.EventTypeNormal, "BackOff", "Back-off pulling image %q", c.Image)
		m.event(pod, c.Name, corev1.EventTypeWarning, "Failed", "Error: %s", status.ImagePullBackOff)
		if prev, ok := m.prevPullErr.Load(key); ok {
			msg = fmt.Sprintf("%s: %s", msg, prev)
		}
		return "", status.Waiting{Reason: status.ImagePullBackOff, Message: msg}, ErrImagePullBackOff
	}
	var auth *runtimeapi.AuthConfig
	if m.cfg.PullSecrets != nil {
		auth = m.cfg.PullSecrets(pod, image)
	}
	m.event(pod, c.Name, corev1.EventTypeNormal, "Pulling", "Pulling image %q", c.Image)
	pullStart := m.cfg.Clock.Now()
	ref, err := m.cfg.Images.PullImage(ctx, spec, auth, sbConfig)
	if err != nil {
		m.event(pod, c.Name, corev1.EventTypeWarning, "Failed", "Failed to pull image %q: %v", c.Image, err)
		m.event(pod, c.Name, corev1.EventTypeWarning, "Failed", "Error: %s", status.ErrImagePull)
		m.imageBackoff.Next(key, m.cfg.Clock.Now())
		msg := PullErrorMessage(err)
		m.prevPullErr.Store(key, fmt.Sprintf("%s: %s", ErrImagePull, msg))
		return "", status.Waiting{Reason: status.ErrImagePull, Message: msg}, ErrImagePull
	}
	m.prevPullErr.Delete(key)
	if m.cfg.Event != nil {
		took := m.cfg.Clock.Since(pullStart)
		size := ""
		if resp, err := m.cfg.Images.ImageStatus(ctx, &runtimeapi.ImageSpec{Image: ref}, false); err == nil && resp.GetImage() != nil {
			size = fmt.Sprintf(" Image size: %d bytes.", resp.Image.GetSize())
		}
		m.event(pod, c.Name, corev1.EventTypeNormal, "Pulled", "Successfully pulled image %q in %s (%s including waiting).%s", c.Image, took, took, size)
	}
	m.imageBackoff.GC()
	return ref, status.Waiting{}, nil
}

// gracePeriod is upstream's killContainer choice: override, else the pod's deletion grace
// period, else terminationGracePeriodSeconds; never below the minimum.
func (m *Manager) gracePeriod(pod *corev1.Pod, override *int64) time.Duration {
	return max(requestedGracePeriod(pod, override), m.cfg.MinimumGracePeriod)
}

// requestedGracePeriod is the grace period before the minimum applies.
func requestedGracePeriod(pod *corev1.Pod, override *int64) time.Duration {
	g := int64(30)
	switch {
	case override != nil:
		g = *override
	case pod.DeletionGracePeriodSeconds != nil:
		g = *pod.DeletionGracePeriodSeconds
	case pod.Spec.TerminationGracePeriodSeconds != nil:
		g = *pod.Spec.TerminationGracePeriodSeconds
	}
	return time.Duration(g) * time.Second
}

// stopContainer is upstream's killContainer: the container's preStop hook runs first (when it
// runs and the grace period is above 0), and its time counts against the grace period; the
// stop gets what remains, at least MinimumGracePeriod.
func (m *Manager) stopContainer(ctx context.Context, pod *corev1.Pod, id string, override *int64) error {
	return m.stopContainerInTurn(ctx, pod, id, "", override, nil)
}

// stopContainerInTurn is upstream's killContainer: the preStop hook first, then the wait for
// the container's turn in the pod's termination order (sidecars wait for the app containers),
// both within the grace period, then the stop with what is left (at least the minimum).
func (m *Manager) stopContainerInTurn(ctx context.Context, pod *corev1.Pod, id, name string, override *int64, order *terminationOrdering) error {
	g := int64(requestedGracePeriod(pod, override) / time.Second)
	var spec *corev1.Container
	running := false
	if resp, err := m.cfg.Runtime.ContainerStatus(ctx, id, false); err == nil && resp.GetStatus() != nil {
		st := resp.GetStatus()
		name := st.GetLabels()[ContainerNameLabel]
		if name == "" {
			name = st.GetMetadata().GetName()
		}
		spec = containerSpec(pod, name)
		running = st.State == runtimeapi.ContainerState_CONTAINER_RUNNING
	}
	var took time.Duration
	if plan := PlanPreStop(spec, running, g); plan.RunPreStop {
		var cancel func()
		took, cancel = m.preStop(ctx, pod, spec, id, plan.Grace)
		defer cancel()
	}
	if left := time.Duration(g)*time.Second - took; order != nil && left > 0 {
		took += order.waitForTurn(name, left)
	}
	stopGrace := StopGrace(g, took, m.cfg.MinimumGracePeriod)
	klog.V(2).InfoS("Killing container with a grace period", "pod", klog.KObj(pod), "podUID", pod.UID, "containerID", id, "gracePeriod", stopGrace)
	if err := m.cfg.Runtime.StopContainer(ctx, id, stopGrace); err != nil {
		return fmt.Errorf("stopping container %s: %w", id, err)
	}
	return nil
}

// KillPod stops every running container of the pod (in parallel, each with the grace period),
// then its sandboxes, as upstream's KillPod.
func (m *Manager) KillPod(ctx context.Context, pod *corev1.Pod, gracePeriodOverride *int64) error {
	rt, err := m.PodRuntime(ctx, string(pod.UID))
	if err != nil {
		return err
	}
	return m.killPodWithRuntime(ctx, pod, rt, gracePeriodOverride)
}

func (m *Manager) killPodWithRuntime(ctx context.Context, pod *corev1.Pod, rt *status.Runtime, override *int64) error {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	var stopping []status.Container
	var names []string
	for _, c := range rt.Containers {
		if c.State != status.ContainerStateRunning && c.State != status.ContainerStateUnknown && c.State != status.ContainerStateCreated {
			continue
		}
		stopping = append(stopping, c)
		names = append(names, c.Name)
	}
	// upstream: app containers stop first, then sidecars in reverse order of declaration, all
	// within the grace period (each runs its preStop hook before it waits for its turn).
	order := newTerminationOrdering(pod, names, m.cfg.Clock)
	for _, c := range stopping {
		m.event(pod, c.Name, corev1.EventTypeNormal, "Killing", "Stopping container %s", c.Name)
		wg.Add(1)
		go func(c status.Container) {
			defer wg.Done()
			if err := m.stopContainerInTurn(ctx, pod, c.ID, c.Name, override, order); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
				return // as upstream, the containers waiting on it wait out the grace period
			}
			order.containerTerminated(c.Name)
		}(c)
	}
	wg.Wait()
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	for _, sb := range rt.Sandboxes {
		if !sb.Ready {
			continue // already stopped; StopPodSandbox is idempotent but noisy
		}
		if err := m.cfg.Runtime.StopPodSandbox(ctx, sb.ID); err != nil {
			errs = append(errs, fmt.Errorf("stopping sandbox %s: %w", sb.ID, err))
		}
	}
	return errors.Join(errs...)
}

// RemovePod removes the pod's containers and sandboxes from the runtime (after KillPod).
func (m *Manager) RemovePod(ctx context.Context, uid string) error {
	rt, err := m.PodRuntime(ctx, uid)
	if err != nil {
		return err
	}
	var errs []error
	for _, c := range rt.Containers {
		if err := m.cfg.Runtime.RemoveContainer(ctx, c.ID); err != nil {
			errs = append(errs, err)
		}
	}
	for _, sb := range rt.Sandboxes {
		if err := m.cfg.Runtime.RemovePodSandbox(ctx, sb.ID); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
