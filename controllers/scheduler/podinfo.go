package scheduler

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/skiff-dev/skiff/apis/helper"
)

// Upstream's defaults for containers without a cpu or memory request, used only for scoring.
const (
	defaultMilliCPURequest = 100
	defaultMemoryRequest   = 200 * 1024 * 1024
)

// resources is the part of a resource list the scheduler accounts for: cpu, memory,
// ephemeral storage, and upstream's scalar resources (extended resources such as
// example.com/gpu, and hugepages). Scalar is never changed in place: add, sub and max make a new
// map, so copies of a resources value never share changes.
type resources struct {
	MilliCPU, Memory, EphemeralStorage int64
	Scalar                             map[corev1.ResourceName]int64
}

func (r *resources) add(o resources) {
	r.MilliCPU += o.MilliCPU
	r.Memory += o.Memory
	r.EphemeralStorage += o.EphemeralStorage
	r.combineScalar(o, func(a, b int64) int64 { return a + b })
}

func (r *resources) sub(o resources) {
	r.MilliCPU -= o.MilliCPU
	r.Memory -= o.Memory
	r.EphemeralStorage -= o.EphemeralStorage
	r.combineScalar(o, func(a, b int64) int64 { return a - b })
}

func (r *resources) max(o resources) {
	r.MilliCPU = max(r.MilliCPU, o.MilliCPU)
	r.Memory = max(r.Memory, o.Memory)
	r.EphemeralStorage = max(r.EphemeralStorage, o.EphemeralStorage)
	r.combineScalar(o, func(a, b int64) int64 { return max(a, b) })
}

// combineScalar sets r.Scalar to a new map of f(r's, o's) for every name in either.
func (r *resources) combineScalar(o resources, f func(a, b int64) int64) {
	if len(o.Scalar) == 0 {
		return
	}
	m := make(map[corev1.ResourceName]int64, len(r.Scalar)+len(o.Scalar))
	for name, v := range r.Scalar {
		m[name] = v
	}
	for name, v := range o.Scalar {
		m[name] = f(m[name], v)
	}
	r.Scalar = m
}

// isScalarResource is upstream's schedutil.IsScalarResourceName: extended resources,
// hugepages, attachable volumes and the native resources with a domain (kubernetes.io/...).
func isScalarResource(name corev1.ResourceName) bool {
	return helper.IsExtendedResourceName(name) || strings.HasPrefix(string(name), corev1.ResourceHugePagesPrefix) ||
		strings.HasPrefix(string(name), corev1.ResourceAttachableVolumesPrefix) ||
		strings.Contains(string(name), corev1.ResourceDefaultNamespacePrefix)
}

func resourcesOf(list corev1.ResourceList) resources {
	var r resources
	for name, q := range list {
		switch name {
		case corev1.ResourceCPU:
			r.MilliCPU = q.MilliValue()
		case corev1.ResourceMemory:
			r.Memory = q.Value()
		case corev1.ResourceEphemeralStorage:
			r.EphemeralStorage = q.Value()
		default:
			if isScalarResource(name) {
				if r.Scalar == nil {
					r.Scalar = map[corev1.ResourceName]int64{}
				}
				r.Scalar[name] = q.Value()
			}
		}
	}
	return r
}

// nonZero is resourcesOf with upstream's scoring defaults for a missing cpu or memory request.
func nonZero(list corev1.ResourceList) resources {
	r := resourcesOf(list)
	if _, ok := list[corev1.ResourceCPU]; !ok {
		r.MilliCPU = defaultMilliCPURequest
	}
	if _, ok := list[corev1.ResourceMemory]; !ok {
		r.Memory = defaultMemoryRequest
	}
	return r
}

// podRequests computes a pod's effective requests as upstream's resource helpers do
// (PodRequests with UseStatusResources, InPlacePodVerticalScaling being GA): the largest of the
// requests of its spec, of what its node allocated (status.containerStatuses[].allocatedResources)
// and of what the node actuated (their resources), each the sum of its containers, at least the
// largest init container (plus the restartable init containers started before it); a resize the
// node found infeasible leaves the spec out. Pod-level requests replace cpu and memory when set;
// overhead is added. With scoring set, missing cpu and memory requests count as upstream's
// defaults.
func podRequests(pod *corev1.Pod, scoring bool) resources {
	of := resourcesOf
	if scoring {
		of = nonZero
	}
	infeasible := resizeInfeasible(pod)
	statuses := map[string]*corev1.ContainerStatus{}
	for _, list := range [][]corev1.ContainerStatus{pod.Status.InitContainerStatuses, pod.Status.ContainerStatuses} {
		for i := range list {
			statuses[list[i].Name] = &list[i]
		}
	}
	allocated := func(c *corev1.Container) corev1.ResourceList {
		if cs := statuses[c.Name]; cs != nil && cs.AllocatedResources != nil {
			return cs.AllocatedResources
		}
		if infeasible {
			return nil
		}
		return c.Resources.Requests
	}
	actuated := func(c *corev1.Container) corev1.ResourceList {
		if cs := statuses[c.Name]; cs != nil && cs.Resources != nil && cs.Resources.Requests != nil {
			return cs.Resources.Requests
		}
		return allocated(c)
	}
	reqs := aggregateRequests(&pod.Spec, func(c *corev1.Container) resources { return of(allocated(c)) })
	reqs.max(aggregateRequests(&pod.Spec, func(c *corev1.Container) resources { return of(actuated(c)) }))
	if !infeasible {
		reqs.max(aggregateRequests(&pod.Spec, func(c *corev1.Container) resources { return of(c.Resources.Requests) }))
	}
	spec := &pod.Spec
	if spec.Resources != nil && len(spec.Resources.Requests) > 0 {
		pl := spec.Resources.Requests
		if q, ok := pl[corev1.ResourceCPU]; ok {
			reqs.MilliCPU = q.MilliValue()
		}
		if q, ok := pl[corev1.ResourceMemory]; ok {
			reqs.Memory = q.Value()
		}
		if q, ok := pl[corev1.ResourceEphemeralStorage]; ok {
			reqs.EphemeralStorage = q.Value()
		}
	}
	if spec.Overhead != nil {
		reqs.add(resourcesOf(spec.Overhead))
	}
	return reqs
}

// aggregateRequests is upstream's aggregateContainerResourcesByFn: the sum of the containers'
// requests (as of gives them) and at least the largest init container's plus the restartable
// init containers started before it.
func aggregateRequests(spec *corev1.PodSpec, of func(*corev1.Container) resources) resources {
	var reqs resources
	for i := range spec.Containers {
		reqs.add(of(&spec.Containers[i]))
	}
	var restartable, initMax resources
	for i := range spec.InitContainers {
		c := &spec.InitContainers[i]
		r := of(c)
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			reqs.add(r)
			restartable.add(r)
			r = restartable
		} else {
			r.add(restartable)
		}
		initMax.max(r)
	}
	reqs.max(initMax)
	return reqs
}

// resizeInfeasible is upstream's IsPodResizeInfeasible: PodResizePending with reason Infeasible.
func resizeInfeasible(pod *corev1.Pod) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodResizePending {
			return c.Reason == corev1.PodReasonInfeasible
		}
	}
	return false
}

// podInfo is what the scheduler needs of a pod, computed once per pod object.
type podInfo struct {
	pod      *corev1.Pod
	uid      types.UID
	nodeName string
	req      resources // exact requests, for fit and balanced allocation
	nonzero  resources // requests with scoring defaults, for least allocated
	ports    []helper.HostPort
	owner    types.UID // controller ownerReference's UID, if any
	podAff   *podAffinity

	// Filled for pods being scheduled.
	tolerations    []corev1.Toleration
	affinity       *requiredAffinity
	preferred      []preferredTerm
	preferTolerate []corev1.Toleration // tolerations that apply to PreferNoSchedule taints
	hardSpread     []spreadConstraint  // DoNotSchedule topology spread constraints
	softSpread     []spreadConstraint  // ScheduleAnyway ones
}

func newPodInfo(pod *corev1.Pod) *podInfo {
	pi := &podInfo{
		pod:      pod,
		uid:      pod.UID,
		nodeName: pod.Spec.NodeName,
		req:      podRequests(pod, false),
		nonzero:  podRequests(pod, true),
		ports:    helper.PodHostPorts(&pod.Spec),
		podAff:   newPodAffinity(pod),
	}
	if ref := metav1.GetControllerOfNoCopy(pod); ref != nil {
		pi.owner = ref.UID
	}
	return pi
}

// newPendingPodInfo adds the parts used only when scheduling the pod.
func newPendingPodInfo(pod *corev1.Pod) *podInfo {
	pi := newPodInfo(pod)
	pi.tolerations = pod.Spec.Tolerations
	for _, t := range pod.Spec.Tolerations {
		if t.Effect == "" || t.Effect == corev1.TaintEffectPreferNoSchedule {
			pi.preferTolerate = append(pi.preferTolerate, t)
		}
	}
	pi.affinity = newRequiredAffinity(pod)
	if len(pod.Spec.TopologySpreadConstraints) > 0 {
		pi.hardSpread = compileSpreadConstraints(pod, corev1.DoNotSchedule)
		pi.softSpread = compileSpreadConstraints(pod, corev1.ScheduleAnyway)
	}
	if a := pod.Spec.Affinity; a != nil && a.NodeAffinity != nil {
		for _, t := range a.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution {
			if t.Weight == 0 {
				continue
			}
			pi.preferred = append(pi.preferred, preferredTerm{weight: int64(t.Weight), term: compileTerm(t.Preference)})
		}
	}
	return pi
}

func podTerminated(pod *corev1.Pod) bool {
	return pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed
}

func podKey(pod *corev1.Pod) string { return pod.Namespace + "/" + pod.Name }

func priorityOf(pod *corev1.Pod) int32 {
	if pod.Spec.Priority != nil {
		return *pod.Spec.Priority
	}
	return 0
}
