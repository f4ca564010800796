package allocation

import (
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	resourcehelper "k8s.io/component-helpers/resource"
)

// Event reasons, as the kubelet's (pkg/kubelet/events).
const (
	ReasonResizeStarted   = "ResizeStarted"
	ReasonResizeDeferred  = "ResizeDeferred"
	ReasonResizeCompleted = "ResizeCompleted"
	ReasonResizeError     = "ResizeError"
)

// State is what the node decided about a pod's resources.
type State struct {
	// Allocated and Actuated resources by container name (init containers included).
	Allocated map[string]corev1.ResourceRequirements `json:"allocated"`
	Actuated  map[string]corev1.ResourceRequirements `json:"actuated"`
	// Pending and InProgress are the PodResizePending and PodResizeInProgress conditions.
	Pending    *corev1.PodCondition `json:"pending,omitempty"`
	InProgress *corev1.PodCondition `json:"inProgress,omitempty"`
}

// Event is an event to record on the pod.
type Event struct {
	Type, Reason, Message string
}

// ResourcesOf are the resources of every container of pod, by name.
func ResourcesOf(pod *corev1.Pod) map[string]corev1.ResourceRequirements {
	out := map[string]corev1.ResourceRequirements{}
	for _, cs := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for i := range cs {
			out[cs[i].Name] = *cs[i].Resources.DeepCopy()
		}
	}
	return out
}

// Initial is the state of a pod the node admits: its spec allocated and actuated (what its
// containers will be started with).
func Initial(pod *corev1.Pod) State {
	return State{Allocated: ResourcesOf(pod), Actuated: ResourcesOf(pod)}
}

// UpdatePodFromAllocation is the pod with its containers' resources replaced by the allocated
// ones (a copy when they differ), and whether they differed.
func UpdatePodFromAllocation(pod *corev1.Pod, allocated map[string]corev1.ResourceRequirements) (*corev1.Pod, bool) {
	out := pod
	updated := false
	for _, init := range []bool{true, false} {
		containers := pod.Spec.Containers
		if init {
			containers = pod.Spec.InitContainers
		}
		for i := range containers {
			r, ok := allocated[containers[i].Name]
			if !ok || apiequality.Semantic.DeepEqual(containers[i].Resources, r) {
				continue
			}
			if !updated {
				out, updated = pod.DeepCopy(), true
			}
			if init {
				out.Spec.InitContainers[i].Resources = *r.DeepCopy()
			} else {
				out.Spec.Containers[i].Resources = *r.DeepCopy()
			}
		}
	}
	return out, updated
}

// InsufficientResource is the kubelet's InsufficientResourceError message.
func InsufficientResource(name corev1.ResourceName, requested, used, capacity int64) string {
	return fmt.Sprintf("Node didn't have enough resource: %s, requested: %d, used: %d, capacity: %d", name, requested, used, capacity)
}

// Fit is the resource part of the kubelet's admission predicate (the scheduler's fitsRequest)
// for pod beside others (the other pods' allocated forms): cpu, memory and ephemeral storage
// requests against allocatable, the first that does not fit reported with upstream's reason
// (OutOfcpu, ...) and message.
func Fit(pod *corev1.Pod, others []*corev1.Pod, allocatable corev1.ResourceList) (bool, string, string) {
	req := resourcehelper.PodRequests(pod, resourcehelper.PodResourcesOptions{})
	used := corev1.ResourceList{}
	for _, o := range others {
		for name, q := range resourcehelper.PodRequests(o, resourcehelper.PodResourcesOptions{}) {
			u := used[name]
			u.Add(q)
			used[name] = u
		}
	}
	for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage} {
		r, ok := req[name]
		if !ok || r.IsZero() {
			continue
		}
		capQ, u := allocatable[name], used[name]
		value := func(q resource.Quantity) int64 { return q.Value() }
		if name == corev1.ResourceCPU {
			value = func(q resource.Quantity) int64 { return q.MilliValue() }
		}
		if value(r)+value(u) > value(capQ) {
			return false, "OutOf" + string(name), InsufficientResource(name, value(r), value(u), value(capQ))
		}
	}
	return true, "", ""
}

// HandleResize is upstream's handlePodResourcesResize for pod (its spec as the API has it) of
// generation gen: a spec equal to the allocation clears PodResizePending; a changed spec that
// fits is allocated (PodResizeInProgress set, ResizeStarted); one that does not fit is
// PodResizePending/Deferred (ResizeDeferred when the reason, message or generation changed).
func HandleResize(pod *corev1.Pod, st State, others []*corev1.Pod, allocatable corev1.ResourceList, now metav1.Time) (State, []Event) {
	if _, changed := UpdatePodFromAllocation(pod, st.Allocated); !changed {
		st.Pending = nil
		return st, nil
	}
	fit, reason, msg := Fit(pod, others, allocatable)
	if fit {
		st.Allocated = ResourcesOf(pod)
		st.Pending = nil
		st.InProgress = &corev1.PodCondition{Type: corev1.PodResizeInProgress, Status: corev1.ConditionTrue,
			ObservedGeneration: pod.Generation, LastTransitionTime: now}
		return st, []Event{{corev1.EventTypeNormal, ReasonResizeStarted, ResizeMessage(pod, "Pod resize started", "")}}
	}
	cond := &corev1.PodCondition{Type: corev1.PodResizePending, Status: corev1.ConditionTrue, Reason: corev1.PodReasonDeferred,
		Message: msg, ObservedGeneration: pod.Generation, LastTransitionTime: now}
	if p := st.Pending; p != nil && p.Reason == cond.Reason && p.Message == cond.Message && p.ObservedGeneration == cond.ObservedGeneration {
		return st, nil
	}
	if st.Pending != nil && st.Pending.Reason == cond.Reason {
		cond.LastTransitionTime = st.Pending.LastTransitionTime
	}
	st.Pending = cond
	return st, []Event{{corev1.EventTypeWarning, ReasonResizeDeferred, ResizeMessage(pod, "Pod resize "+reason, msg)}}
}

// InProgress is upstream's isPodResizeInProgress: a running container (by name in running)
// whose actuated resources differ from the allocated ones.
func InProgress(st State, running []string) bool {
	for _, name := range running {
		a, ok := st.Allocated[name]
		if !ok {
			continue
		}
		if !apiequality.Semantic.DeepEqual(normalize(a), normalize(st.Actuated[name])) {
			return true
		}
	}
	return false
}

// normalize compares cpu and memory only, as the runtime enacts them.
func normalize(r corev1.ResourceRequirements) [4]int64 {
	return [4]int64{r.Requests.Cpu().MilliValue(), r.Limits.Cpu().MilliValue(), r.Requests.Memory().Value(), r.Limits.Memory().Value()}
}

// Settle updates the PodResizeInProgress condition after a sync: resizeErr (the actuation's
// error) sets reason Error with its message (ResizeError once per message); a resize no longer
// in progress clears the condition (ResizeCompleted).
func Settle(pod *corev1.Pod, st State, running []string, resizeErr error, now metav1.Time) (State, []Event) {
	if resizeErr != nil {
		msg := resizeErr.Error()
		if st.InProgress != nil && st.InProgress.Reason == corev1.PodReasonError && st.InProgress.Message == msg {
			return st, nil
		}
		gen := pod.Generation
		if st.InProgress != nil {
			gen = st.InProgress.ObservedGeneration
		}
		st.InProgress = &corev1.PodCondition{Type: corev1.PodResizeInProgress, Status: corev1.ConditionTrue, Reason: corev1.PodReasonError,
			Message: msg, ObservedGeneration: gen, LastTransitionTime: now}
		return st, []Event{{corev1.EventTypeWarning, ReasonResizeError, ResizeMessage(pod, "Pod resize error", msg)}}
	}
	if InProgress(st, running) {
		if st.InProgress == nil {
			st.InProgress = &corev1.PodCondition{Type: corev1.PodResizeInProgress, Status: corev1.ConditionTrue,
				ObservedGeneration: pod.Generation, LastTransitionTime: now}
		}
		return st, nil
	}
	if st.InProgress == nil {
		return st, nil
	}
	st.InProgress = nil
	return st, []Event{{corev1.EventTypeNormal, ReasonResizeCompleted, ResizeMessage(pod, "Pod resize completed", "")}}
}

// Conditions are the resize conditions for the pod's status (none for a terminal pod), in
// upstream's order.
func Conditions(st State, terminal bool) []corev1.PodCondition {
	if terminal {
		return nil
	}
	var out []corev1.PodCondition
	for _, c := range []*corev1.PodCondition{st.Pending, st.InProgress} {
		if c != nil {
			out = append(out, *c)
		}
	}
	return out
}

type containerAllocation struct {
	Name      string                      `json:"name"`
	Resources corev1.ResourceRequirements `json:"resources,omitempty"`
}

type resourceSummary struct {
	InitContainers []containerAllocation `json:"initContainers,omitempty"`
	Containers     []containerAllocation `json:"containers,omitempty"`
	Generation     int64                 `json:"generation"`
	Error          string                `json:"error,omitempty"`
}

// ResizeMessage is the kubelet's podResizeMessage: prefix, then the pod's container resources,
// generation and error as JSON.
func ResizeMessage(pod *corev1.Pod, prefix, errMsg string) string {
	s := resourceSummary{Generation: pod.Generation, Error: errMsg}
	for _, c := range pod.Spec.InitContainers {
		s.InitContainers = append(s.InitContainers, containerAllocation{c.Name, c.Resources})
	}
	for _, c := range pod.Spec.Containers {
		s.Containers = append(s.Containers, containerAllocation{c.Name, c.Resources})
	}
	b, err := json.Marshal(s)
	if err != nil {
		return prefix
	}
	return prefix + ": " + string(b)
}
