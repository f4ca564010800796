// Package kuberuntime is the kubelet's runtime manager over CRI, after upstream's
// pkg/kubelet/kuberuntime: it reads a pod's sandboxes and containers from the runtime, decides
// what to do (ComputePodActions) and does it (SyncPod, KillPod) through the cri-api
// RuntimeService and ImageManagerService interfaces. In-place resize (resize.go) is upstream's
// computePodResizeAction: a running container whose allocated resources differ from those it
// runs with (Actuated) is updated through UpdateContainerResources (a memory limit never below
// the container's usage) or, when its resizePolicy says RestartContainer, restarted. Its container GC (gc.go, PlanGC) is
// upstream's kuberuntime_gc.go with two attempts kept per container name.
//
// Lifecycle hooks (hooks.go) run as upstream's handlerRunner, through injected HookRunners:
// exec through CRI ExecSync, httpGet to the pod IP (or the host given) with scheme, named
// ports, path and headers (an https request answered in plain HTTP is retried as http), and
// sleep. postStart runs right after the container starts; when it fails the container is
// killed (event FailedPostStartHook, waiting reason PostStartHookError) and restarted per the
// restart policy. preStop runs before the stop signal of a running container when the grace
// period is above 0, for at most the grace period (event FailedPreStopHook on failure); the
// stop gets what remains, at least MinimumGracePeriod (PlanPreStop, StopGrace).
//
// Init containers run one after the other; a sidecar (an init container with restartPolicy
// Always) lets the next one start as soon as it runs and its startup probe, if any,
// succeeded, keeps running beside the app containers, and is restarted (with the
// CrashLoopBackOff back-off) whenever it exits or fails its liveness or startup probe, whatever
// the pod's restartPolicy. Once the app containers of a pod with restartPolicy Never or
// OnFailure are done, the pod is killed and its sidecars are not restarted. KillPod stops the
// app containers first and then the sidecars in reverse order of declaration, each sidecar
// waiting at most the grace period for its turn (upstream's terminationOrdering).
//
// Ephemeral containers (kubectl debug) start once, in the pod's current sandbox, even while it
// initializes, and are never restarted (EphemeralContainersToStart: the ones the runtime has no
// container of); a new sandbox does not run them again. One with a targetContainerName joins
// that container's process namespace (CRI NamespaceMode TARGET, TargetPIDNamespace) unless the
// pod shares one; a target that never ran is a CreateContainerConfigError.
package kuberuntime

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"strconv"

	corev1 "k8s.io/api/core/v1"
)

// Labels and annotations the kubelet puts on CRI objects; upstream's keys
// (pkg/kubelet/types/labels.go, pkg/kubelet/kuberuntime/labels.go), so crictl and other tools
// see what they see on any kubelet node.
const (
	PodNameLabel           = "io.kubernetes.pod.name"
	PodNamespaceLabel      = "io.kubernetes.pod.namespace"
	PodUIDLabel            = "io.kubernetes.pod.uid"
	ContainerNameLabel     = "io.kubernetes.container.name"
	KubernetesManagedLabel = "io.kubernetes.container.managed-by"

	ContainerHashAnnotation                     = "io.kubernetes.container.hash"
	ContainerRestartCountAnnotation             = "io.kubernetes.container.restartCount"
	ContainerTerminationMessagePathAnnotation   = "io.kubernetes.container.terminationMessagePath"
	ContainerTerminationMessagePolicyAnnotation = "io.kubernetes.container.terminationMessagePolicy"
	ContainerPortsAnnotation                    = "io.kubernetes.container.ports"
	PodDeletionGracePeriodAnnotation            = "io.kubernetes.pod.deletionGracePeriod"
	PodTerminationGracePeriodAnnotation         = "io.kubernetes.pod.terminationGracePeriod"
)

func newPodLabels(pod *corev1.Pod) map[string]string {
	labels := map[string]string{}
	for k, v := range pod.Labels {
		labels[k] = v
	}
	labels[PodNameLabel] = pod.Name
	labels[PodNamespaceLabel] = pod.Namespace
	labels[PodUIDLabel] = string(pod.UID)
	return labels
}

func newPodAnnotations(pod *corev1.Pod) map[string]string {
	out := map[string]string{}
	for k, v := range pod.Annotations {
		out[k] = v
	}
	return out
}

func newContainerLabels(c *corev1.Container, pod *corev1.Pod) map[string]string {
	return map[string]string{
		PodNameLabel:       pod.Name,
		PodNamespaceLabel:  pod.Namespace,
		PodUIDLabel:        string(pod.UID),
		ContainerNameLabel: c.Name,
	}
}

func newContainerAnnotations(c *corev1.Container, pod *corev1.Pod, restartCount int) map[string]string {
	a := map[string]string{}
	a[ContainerHashAnnotation] = HashContainer(c)
	a[ContainerRestartCountAnnotation] = strconv.Itoa(restartCount)
	a[ContainerTerminationMessagePathAnnotation] = c.TerminationMessagePath
	a[ContainerTerminationMessagePolicyAnnotation] = string(c.TerminationMessagePolicy)
	if pod.DeletionGracePeriodSeconds != nil {
		a[PodDeletionGracePeriodAnnotation] = strconv.FormatInt(*pod.DeletionGracePeriodSeconds, 10)
	}
	if pod.Spec.TerminationGracePeriodSeconds != nil {
		a[PodTerminationGracePeriodAnnotation] = strconv.FormatInt(*pod.Spec.TerminationGracePeriodSeconds, 10)
	}
	if len(c.Ports) > 0 {
		if b, err := json.Marshal(c.Ports); err == nil {
			a[ContainerPortsAnnotation] = string(b)
		}
	}
	return a
}

// HashContainer hashes the parts of a container spec whose change requires a new container
// (upstream kubecontainer.HashContainer: fnv32a over the spec without resources, which can be
// resized in place), in hex.
func HashContainer(c *corev1.Container) string {
	h := c.DeepCopy()
	h.Resources = corev1.ResourceRequirements{}
	h.ResizePolicy = nil
	b, _ := json.Marshal(h)
	f := fnv.New32a()
	_, _ = f.Write(b)
	return strconv.FormatUint(uint64(f.Sum32()), 16)
}

// stableKey identifies a container spec for back-off (upstream getStableKey).
func stableKey(pod *corev1.Pod, c *corev1.Container) string {
	return fmt.Sprintf("%s_%s_%s_%s_%s", pod.Name, pod.Namespace, string(pod.UID), c.Name, HashContainer(c))
}

// formatPod is upstream's format.Pod: name_namespace(uid).
func formatPod(pod *corev1.Pod) string {
	return fmt.Sprintf("%s_%s(%s)", pod.Name, pod.Namespace, pod.UID)
}
