package why

import (
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/skiff-dev/skiff/insight/scheddiag"
)

// DiagnosisUnavailable starts the sentence said when the scheduler's per-node diagnosis of an
// unscheduled pod is not in this process.
const DiagnosisUnavailable = "The scheduler's per-node diagnosis is not available from this API server"

// Explain says in plain sentences why the pod is where it is: for a pod not yet scheduled, each
// node and the filter that rejected it with the numbers, from the scheduler's last attempt
// (diagnosis; nil when this process has none, and then from the PodScheduled condition and the
// FailedScheduling events); for a scheduled pod that is not Ready, its init containers, image
// pulls, crashes with their last termination, probe failures and warning events.
func Explain(pod *corev1.Pod, events []corev1.Event, diagnosis *scheddiag.Diagnosis) []string {
	events = sortedEvents(events)
	id := pod.Namespace + "/" + pod.Name
	var out []string
	if pod.DeletionTimestamp != nil {
		out = append(out, fmt.Sprintf("Pod %s is being deleted since %s.", id, clock(pod.DeletionTimestamp.Time)))
	}
	switch {
	case pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed:
		return append(out, finished(id, pod)...)
	case pod.Spec.NodeName == "":
		return append(out, unscheduled(id, pod, events, diagnosis)...)
	}
	if isReady(pod) {
		s := fmt.Sprintf("Pod %s is Running and Ready on node %s.", id, pod.Spec.NodeName)
		if n := restarts(pod); n > 0 {
			s += fmt.Sprintf(" Its containers restarted %d times.", n)
		}
		return append(out, s)
	}
	out = append(out, fmt.Sprintf("Pod %s is scheduled on node %s (phase %s) but not Ready:", id, pod.Spec.NodeName, phaseOf(pod)))
	return append(out, notReady(pod, events)...)
}

func finished(id string, pod *corev1.Pod) []string {
	s := fmt.Sprintf("Pod %s has finished: phase %s", id, pod.Status.Phase)
	if pod.Status.Reason != "" {
		s += fmt.Sprintf(" (%s: %s)", pod.Status.Reason, pod.Status.Message)
	}
	out := []string{s + "."}
	for _, cs := range allStatuses(pod) {
		if t := cs.status.State.Terminated; t != nil {
			out = append(out, fmt.Sprintf("%s %s exited with code %d%s.", cs.kind, cs.status.Name, t.ExitCode, reasonMessage(t.Reason, t.Message)))
		}
	}
	return out
}

func unscheduled(id string, pod *corev1.Pod, events []corev1.Event, d *scheddiag.Diagnosis) []string {
	cond := condition(pod, corev1.PodScheduled)
	if d == nil || d.PodUID != pod.UID {
		out := []string{DiagnosisUnavailable + ": the scheduler runs in another process (`skiff controller-manager`, or another control-plane member holding the leader lease), or it has not tried this pod since this server started. From the pod's status and events:"}
		found := false
		if cond != nil && cond.Status == corev1.ConditionFalse {
			out = append(out, fmt.Sprintf("Pod %s is Pending: not scheduled since %s, %s: %s", id, clock(cond.LastTransitionTime.Time), cond.Reason, sentence(cond.Message)))
			found = true
		}
		if e := lastEvent(events, "FailedScheduling", ""); e != nil {
			out = append(out, fmt.Sprintf("The scheduler's last FailedScheduling event (%s%s): %s", clock(eventTime(e)), times(e), sentence(e.Message)))
			found = true
		}
		if !found {
			name := pod.Spec.SchedulerName
			if name == "" {
				name = corev1.DefaultSchedulerName
			}
			out = append(out, fmt.Sprintf("Pod %s is Pending and no scheduler has reported on it yet (no PodScheduled condition, no FailedScheduling event): is a scheduler serving spec.schedulerName %q running?", id, name))
		}
		return out
	}
	out := []string{fmt.Sprintf("Pod %s is Pending: at %s the scheduler found no node for it: %s", id, clock(d.Time), sentence(d.Message))}
	if d.PreFilter != "" {
		out = append(out, fmt.Sprintf("Before looking at any node, VolumeBinding rejected it: %s", sentence(d.PreFilter)))
	}
	for _, n := range d.Nodes {
		out = append(out, explainNode(n))
	}
	if d.NominatedNode != "" {
		out = append(out, fmt.Sprintf("Preemption: node %s is nominated for the pod once the lower-priority pods it evicts there are gone.", d.NominatedNode))
	}
	if cond != nil && cond.Message != "" && cond.Message != d.Message {
		out = append(out, fmt.Sprintf("The pod's PodScheduled condition says something else (an older attempt, or another scheduler): %s", sentence(cond.Message)))
	}
	return out
}

// explainNode is one node's rejection, with numbers.
func explainNode(n scheddiag.NodeDiagnosis) string {
	head := fmt.Sprintf("Node %s", n.Node)
	if n.Filter == "" {
		return head + ": the pod fits there."
	}
	head += " (" + n.Filter + "): "
	var parts []string
	switch n.Filter {
	case "NodeResourcesFit":
		for _, r := range n.Resources {
			if !r.Insufficient {
				continue
			}
			if r.Name == string(corev1.ResourcePods) {
				parts = append(parts, fmt.Sprintf("Too many pods: it already runs %d of its %d pods", r.Used, r.Allocatable))
				continue
			}
			parts = append(parts, fmt.Sprintf("Insufficient %s: the pod requests %s, the node has %s free (%s allocatable, %s requested by its pods)",
				r.Name, quantity(r.Name, r.Requested), quantity(r.Name, r.Free()), quantity(r.Name, r.Allocatable), quantity(r.Name, r.Used)))
		}
	case "TaintToleration":
		parts = append(parts, fmt.Sprintf("it has the taint %s, which the pod does not tolerate", n.Taint))
	case "NodeAffinity":
		parts = append(parts, fmt.Sprintf("the pod's %s does not match the node's labels (%s)", n.NodeSelector, labels(n.NodeLabels)))
	case "NodePorts":
		parts = append(parts, fmt.Sprintf("host port %s is already taken there", strings.Join(n.Ports, ", ")))
	case "NodeUnschedulable":
		parts = append(parts, "the node is cordoned (spec.unschedulable) and the pod does not tolerate it")
	}
	if len(parts) == 0 {
		parts = n.Reasons
	}
	s := head + strings.Join(parts, "; ") + "."
	if !n.PreemptionMayHelp {
		s += " Preemption cannot help there."
	}
	return s
}

func notReady(pod *corev1.Pod, events []corev1.Event) []string {
	var out []string
	statuses := allStatuses(pod)
	if len(statuses) == 0 {
		out = append(out, fmt.Sprintf("The node %s has not reported the pod's containers yet.", pod.Spec.NodeName))
	}
	used := map[string]bool{}
	for _, cs := range statuses {
		if s := explainContainer(pod, cs, events, used); s != "" {
			out = append(out, s)
		}
	}
	for _, g := range pod.Spec.ReadinessGates {
		if c := condition(pod, g.ConditionType); c == nil || c.Status != corev1.ConditionTrue {
			out = append(out, fmt.Sprintf("Its readiness gate %s is not True.", g.ConditionType))
		}
	}
	// Warning events not quoted above, newest first, one per reason.
	seen := map[string]bool{}
	for i := len(events) - 1; i >= 0 && len(seen) < 3; i-- {
		e := &events[i]
		if e.Type != corev1.EventTypeWarning || used[e.Reason+"\x00"+e.Message] || seen[e.Reason] {
			continue
		}
		seen[e.Reason] = true
		out = append(out, fmt.Sprintf("Warning event %s (%s%s): %s", e.Reason, clock(eventTime(e)), times(e), sentence(e.Message)))
	}
	if len(out) == 0 {
		c := condition(pod, corev1.PodReady)
		if c != nil {
			out = append(out, fmt.Sprintf("Its Ready condition is %s: %s", c.Status, sentence(reasonText(c.Reason, c.Message))))
		}
	}
	return out
}

type containerStatus struct {
	kind   string // "Init container", "Container"
	status corev1.ContainerStatus
	init   bool
}

func allStatuses(pod *corev1.Pod) []containerStatus {
	var out []containerStatus
	for _, s := range pod.Status.InitContainerStatuses {
		out = append(out, containerStatus{kind: "Init container", status: s, init: true})
	}
	for _, s := range pod.Status.ContainerStatuses {
		out = append(out, containerStatus{kind: "Container", status: s})
	}
	return out
}

// explainContainer is one container's obstacle to readiness, "" when it has none; the events
// it quotes are marked in used.
func explainContainer(pod *corev1.Pod, cs containerStatus, events []corev1.Event, used map[string]bool) string {
	s := cs.status
	name := fmt.Sprintf("%s %s", cs.kind, s.Name)
	quote := func(e *corev1.Event) string {
		used[e.Reason+"\x00"+e.Message] = true
		return fmt.Sprintf("%s (%s%s)", strings.TrimSuffix(e.Message, "."), clock(eventTime(e)), times(e))
	}
	last := ""
	if t := s.LastTerminationState.Terminated; t != nil {
		last = fmt.Sprintf(" Its last run exited with code %d%s at %s.", t.ExitCode, reasonMessage(t.Reason, t.Message), clock(t.FinishedAt.Time))
	}
	probe := func(kind string) string {
		if e := lastEvent(events, "Unhealthy", containerPath(cs, s.Name), kind+" probe"); e != nil {
			return fmt.Sprintf(" Its %s probe fails: %s.", strings.ToLower(kind), quote(e))
		}
		return ""
	}
	switch {
	case s.State.Waiting != nil:
		w := s.State.Waiting
		switch w.Reason {
		case "ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull":
			msg := fmt.Sprintf("%s cannot get its image %s: %s", name, s.Image, sentence(reasonText(w.Reason, w.Message)))
			if e := lastEvent(events, "Failed", containerPath(cs, s.Name), "failed to pull image"); e != nil && !strings.Contains(w.Message, e.Message) {
				msg += " The last pull failed: " + quote(e) + "."
			}
			return msg
		case "CrashLoopBackOff":
			return fmt.Sprintf("%s keeps crashing (CrashLoopBackOff, %d restarts): %s%s%s", name, s.RestartCount, sentence(w.Message), last, probe("Liveness"))
		case "ContainerCreating", "PodInitializing", "":
			if cs.init || initDone(pod) {
				return fmt.Sprintf("%s is being created.", name)
			}
			return fmt.Sprintf("%s waits for the init containers.", name)
		default:
			return fmt.Sprintf("%s cannot start: %s%s", name, sentence(reasonText(w.Reason, w.Message)), last)
		}
	case s.State.Running != nil:
		if cs.init {
			if pod.Spec.InitContainers != nil && isSidecar(pod, s.Name) {
				if s.Started != nil && *s.Started {
					return ""
				}
				return fmt.Sprintf("%s (a sidecar) is running but has not started yet.%s", name, probe("Startup"))
			}
			return fmt.Sprintf("%s is still running (since %s); the containers start after it.", name, clock(s.State.Running.StartedAt.Time))
		}
		if s.Ready {
			return ""
		}
		if s.Started != nil && !*s.Started {
			return fmt.Sprintf("%s is running but not started: its startup probe has not succeeded yet.%s", name, probe("Startup"))
		}
		msg := fmt.Sprintf("%s is running but not ready.%s", name, probe("Readiness"))
		if s.RestartCount > 0 {
			msg += fmt.Sprintf(" It restarted %d times.%s%s", s.RestartCount, last, probe("Liveness"))
		}
		return msg
	case s.State.Terminated != nil:
		t := s.State.Terminated
		if cs.init && t.ExitCode == 0 {
			return ""
		}
		return fmt.Sprintf("%s exited with code %d%s at %s.", name, t.ExitCode, reasonMessage(t.Reason, t.Message), clock(t.FinishedAt.Time))
	}
	return ""
}

func isSidecar(pod *corev1.Pod, name string) bool {
	for _, c := range pod.Spec.InitContainers {
		if c.Name == name {
			return c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
		}
	}
	return false
}

func initDone(pod *corev1.Pod) bool {
	c := condition(pod, corev1.PodInitialized)
	return c == nil || c.Status == corev1.ConditionTrue
}

func containerPath(cs containerStatus, name string) string {
	if cs.init {
		return "spec.initContainers{" + name + "}"
	}
	return "spec.containers{" + name + "}"
}

// lastEvent is the newest event with reason (and fieldPath, and a message containing each of
// contains, case-insensitively, when given).
func lastEvent(events []corev1.Event, reason, fieldPath string, contains ...string) *corev1.Event {
	for i := len(events) - 1; i >= 0; i-- {
		e := &events[i]
		if e.Reason != reason || fieldPath != "" && e.InvolvedObject.FieldPath != fieldPath {
			continue
		}
		ok := true
		for _, c := range contains {
			ok = ok && strings.Contains(strings.ToLower(e.Message), strings.ToLower(c))
		}
		if ok {
			return e
		}
	}
	return nil
}

func sortedEvents(events []corev1.Event) []corev1.Event {
	out := append([]corev1.Event(nil), events...)
	sort.SliceStable(out, func(i, j int) bool { return eventTime(&out[i]).Before(eventTime(&out[j])) })
	return out
}

func eventTime(e *corev1.Event) time.Time {
	switch {
	case e.Series != nil && !e.Series.LastObservedTime.IsZero():
		return e.Series.LastObservedTime.Time
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp.Time
	case !e.EventTime.IsZero():
		return e.EventTime.Time
	case !e.FirstTimestamp.IsZero():
		return e.FirstTimestamp.Time
	}
	return e.CreationTimestamp.Time
}

func times(e *corev1.Event) string {
	n := e.Count
	if e.Series != nil && e.Series.Count > n {
		n = e.Series.Count
	}
	if n > 1 {
		return fmt.Sprintf(", %d times", n)
	}
	return ""
}

func condition(pod *corev1.Pod, t corev1.PodConditionType) *corev1.PodCondition {
	for i := range pod.Status.Conditions {
		if pod.Status.Conditions[i].Type == t {
			return &pod.Status.Conditions[i]
		}
	}
	return nil
}

func isReady(pod *corev1.Pod) bool {
	c := condition(pod, corev1.PodReady)
	return c != nil && c.Status == corev1.ConditionTrue
}

func restarts(pod *corev1.Pod) int32 {
	var n int32
	for _, cs := range pod.Status.ContainerStatuses {
		n += cs.RestartCount
	}
	return n
}

func phaseOf(pod *corev1.Pod) corev1.PodPhase {
	if pod.Status.Phase == "" {
		return corev1.PodPending
	}
	return pod.Status.Phase
}

func reasonMessage(reason, message string) string {
	s := ""
	if reason != "" {
		s = " (" + reason + ")"
	}
	if m := strings.TrimSpace(message); m != "" {
		s += ": " + strings.TrimSuffix(m, ".")
	}
	return s
}

func reasonText(reason, message string) string {
	switch {
	case reason == "":
		return message
	case message == "":
		return reason
	}
	return reason + ": " + message
}

// sentence ends s with a period.
func sentence(s string) string {
	s = strings.TrimSpace(s)
	if s == "" || strings.HasSuffix(s, ".") || strings.HasSuffix(s, "?") || strings.HasSuffix(s, "!") {
		return s
	}
	return s + "."
}

func clock(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// quantity formats a resource amount in its usual unit (cpu in cores or millicores, memory in
// binary units).
func quantity(name string, v int64) string {
	switch name {
	case string(corev1.ResourceCPU):
		return resource.NewMilliQuantity(v, resource.DecimalSI).String()
	case string(corev1.ResourceMemory), string(corev1.ResourceEphemeralStorage):
		return resource.NewQuantity(v, resource.BinarySI).String()
	}
	return fmt.Sprint(v)
}

func labels(m map[string]string) string {
	if len(m) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, k := range keys {
		keys[i] = k + "=" + m[k]
	}
	return strings.Join(keys, ", ")
}
