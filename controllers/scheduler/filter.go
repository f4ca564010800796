package scheduler

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
)

// Upstream's filter failure reasons, as they appear in the Unschedulable message.
const (
	ReasonUnschedulable = "node(s) were unschedulable"
	ReasonNodeAffinity  = "node(s) didn't match Pod's node affinity/selector"
	ReasonNodePorts     = "node(s) didn't have free ports for the requested pod ports"
	ReasonTooManyPods   = "Too many pods"
	ReasonCPU           = "Insufficient cpu"
	ReasonMemory        = "Insufficient memory"
	ReasonEphemeral     = "Insufficient ephemeral-storage"

	// InterPodAffinity's and PodTopologySpread's reasons.
	ReasonPodAffinity          = "node(s) didn't match pod affinity rules"
	ReasonPodAntiAffinity      = "node(s) didn't match pod anti-affinity rules"
	ReasonExistingAntiAffinity = "node(s) didn't satisfy existing pods anti-affinity rules"
	ReasonSpread               = "node(s) didn't match pod topology spread constraints"
	ReasonSpreadLabel          = ReasonSpread + " (missing required label)"

	// Messages of upstream's DefaultPreemption post-filter.
	preemptionNotHelpful = "Preemption is not helpful for scheduling"
	preemptionNoVictims  = "No preemption victims found for incoming pod"
	preemptionNever      = "not eligible due to preemptionPolicy=Never."

	// ErrNoNodesAvailable is upstream's message when the cluster has no nodes at all.
	ErrNoNodesAvailable = "no nodes available to schedule pods"
)

const (
	failUnschedulable uint32 = 1 << iota
	failTaint
	failAffinity
	failPorts
	failTooManyPods
	failCPU
	failMemory
	failEphemeral
	failSpreadLabel
	failSpread
	failPodAffinity
	failPodAntiAffinity
	failExistingAntiAffinity
	failVolumeNodeConflict
	failVolumeBindConflict
	failPVNotExist
)

// nodeStatus is a node's filter result for a pod: zero when the pod fits.
type nodeStatus struct {
	fail uint32
	// unresolvable is upstream's UnschedulableAndUnresolvable: preemption cannot help.
	unresolvable bool
	taint        *corev1.Taint // the first untolerated taint, with failTaint
	// scalar are the scalar resources (example.com/gpu) the node has too little of, sorted.
	scalar []corev1.ResourceName
	// preFilter is the message of a PreFilter that rejected the pod for every node.
	preFilter string
}

func (s nodeStatus) fits() bool { return s.fail == 0 && len(s.scalar) == 0 && s.preFilter == "" }

// reasons lists the status's reasons in upstream's order.
func (s nodeStatus) reasons() []string {
	var out []string
	if s.fail&failUnschedulable != 0 {
		out = append(out, ReasonUnschedulable)
	}
	if s.fail&failTaint != 0 {
		out = append(out, fmt.Sprintf("node(s) had untolerated taint {%s: %s}", s.taint.Key, s.taint.Value))
	}
	if s.fail&failAffinity != 0 {
		out = append(out, ReasonNodeAffinity)
	}
	if s.fail&failPorts != 0 {
		out = append(out, ReasonNodePorts)
	}
	if s.fail&failTooManyPods != 0 {
		out = append(out, ReasonTooManyPods)
	}
	if s.fail&failCPU != 0 {
		out = append(out, ReasonCPU)
	}
	if s.fail&failMemory != 0 {
		out = append(out, ReasonMemory)
	}
	if s.fail&failEphemeral != 0 {
		out = append(out, ReasonEphemeral)
	}
	for _, name := range s.scalar {
		out = append(out, "Insufficient "+string(name))
	}
	for _, r := range []struct {
		bit    uint32
		reason string
	}{
		{failSpreadLabel, ReasonSpreadLabel}, {failSpread, ReasonSpread}, {failPodAffinity, ReasonPodAffinity},
		{failPodAntiAffinity, ReasonPodAntiAffinity}, {failExistingAntiAffinity, ReasonExistingAntiAffinity},
		{failVolumeNodeConflict, ReasonVolumeNodeConflict}, {failVolumeBindConflict, ReasonVolumeBindConflict},
		{failPVNotExist, ReasonVolumePVNotExist},
	} {
		if s.fail&r.bit != 0 {
			out = append(out, r.reason)
		}
	}
	return out
}

var unschedulableTaint = corev1.Taint{Key: taintUnschedulable, Effect: corev1.TaintEffectNoSchedule}

// cycleState is the per-pod state of the filters that look at other pods' placement; nil
// fields (or a nil state) pass every node.
type cycleState struct {
	affinity *affinityState
	spread   *spreadState
	// volumes is VolumeBinding's state; nil for a pod without claims.
	volumes *volumeState
}

// newCycleState computes the pod's pre-filter state over all nodes.
func newCycleState(pi *podInfo, nodes []*nodeInfo, nsLabels nsLabelsFunc) *cycleState {
	return &cycleState{affinity: newAffinityState(pi, nodes, nsLabels), spread: newSpreadState(pi, nodes)}
}

// update adds (delta 1) or removes (delta -1) existing pod p on node, as upstream's
// PreFilterExtensions do for preemption.
func (cs *cycleState) update(p *podInfo, node *corev1.Node, delta int) {
	if cs == nil || node == nil {
		return
	}
	if cs.affinity != nil {
		cs.affinity.update(p, node, delta)
	}
	cs.spread.update(p, node, delta)
}

// filterNode runs upstream's default filters in order and stops at the first that fails; cs
// may be nil for a pod without inter-pod constraints in a cluster without such pods.
func filterNode(pi *podInfo, ni *nodeInfo, cs *cycleState) nodeStatus {
	if ni.unschedulable && !tolerates(pi.tolerations, &unschedulableTaint) {
		return nodeStatus{fail: failUnschedulable, unresolvable: true}
	}
	for i := range ni.hardTaints {
		if !tolerates(pi.tolerations, &ni.hardTaints[i]) {
			return nodeStatus{fail: failTaint, unresolvable: true, taint: &ni.hardTaints[i]}
		}
	}
	if pi.affinity != nil && !pi.affinity.matches(ni.node) {
		return nodeStatus{fail: failAffinity, unresolvable: true}
	}
	if len(pi.ports) > 0 && ni.portsConflict(pi.ports) {
		return nodeStatus{fail: failPorts}
	}
	if st := fitsResources(pi, ni); !st.fits() || cs == nil {
		return st
	}
	if cs.volumes != nil && ni.node != nil {
		if fail, _ := cs.volumes.filter(ni.node); fail != 0 {
			return nodeStatus{fail: fail, unresolvable: true}
		}
	}
	if fail, unresolvable := cs.spread.filter(ni.node); fail != 0 {
		return nodeStatus{fail: fail, unresolvable: unresolvable}
	}
	if fail := cs.affinity.filter(ni.node); fail != 0 {
		// Upstream: a missing affinity match cannot be helped by preemption.
		return nodeStatus{fail: fail, unresolvable: fail == failPodAffinity}
	}
	return nodeStatus{}
}

// fitsResources is NodeResourcesFit: each insufficient resource is a reason; a request larger
// than the node's whole allocatable cannot be helped by preemption.
func fitsResources(pi *podInfo, ni *nodeInfo) nodeStatus {
	var st nodeStatus
	if ni.numPods+1 > ni.allowedPods {
		st.fail |= failTooManyPods
		if ni.allowedPods < 1 {
			st.unresolvable = true
		}
	}
	r, alloc, used := pi.req, ni.allocatable, ni.requested
	if r.MilliCPU > 0 && r.MilliCPU > alloc.MilliCPU-used.MilliCPU {
		st.fail |= failCPU
		st.unresolvable = st.unresolvable || r.MilliCPU > alloc.MilliCPU
	}
	if r.Memory > 0 && r.Memory > alloc.Memory-used.Memory {
		st.fail |= failMemory
		st.unresolvable = st.unresolvable || r.Memory > alloc.Memory
	}
	if r.EphemeralStorage > 0 && r.EphemeralStorage > alloc.EphemeralStorage-used.EphemeralStorage {
		st.fail |= failEphemeral
		st.unresolvable = st.unresolvable || r.EphemeralStorage > alloc.EphemeralStorage
	}
	for name, v := range r.Scalar {
		if v > 0 && v > alloc.Scalar[name]-used.Scalar[name] {
			st.scalar = append(st.scalar, name)
			st.unresolvable = st.unresolvable || v > alloc.Scalar[name]
		}
	}
	slices.Sort(st.scalar)
	return st
}

func tolerates(tolerations []corev1.Toleration, taint *corev1.Taint) bool {
	for i := range tolerations {
		if tolerations[i].ToleratesTaint(logr.Discard(), taint, false) {
			return true
		}
	}
	return false
}

// fitMessage formats upstream's FitError message without its post-filter part.
func fitMessage(numAllNodes int, statuses []nodeStatus) string {
	reasons := map[string]int{}
	for _, st := range statuses {
		for _, r := range st.reasons() {
			reasons[r]++
		}
	}
	msg := fmt.Sprintf("0/%v nodes are available:", numAllNodes)
	if len(statuses) > 0 && statuses[0].preFilter != "" {
		// Upstream: a PreFilter's message replaces the nodes' reasons.
		return msg + " " + statuses[0].preFilter + "."
	}
	if h := histogram(reasons); h != "" {
		msg += " " + h + "."
	}
	return msg
}

// unschedulableMessage formats upstream's FitError message with the DefaultPreemption
// post-filter's part when no preemption was tried on any node: each node is either one where
// preemption is not helpful or one without victims.
func unschedulableMessage(pod *corev1.Pod, numAllNodes int, statuses []nodeStatus) string {
	if numAllNodes == 0 {
		return ErrNoNodesAvailable
	}
	msg := fitMessage(numAllNodes, statuses)
	if pod.Spec.PreemptionPolicy != nil && *pod.Spec.PreemptionPolicy == corev1.PreemptNever {
		return msg + " preemption: " + preemptionNever
	}
	preempt := map[string]int{}
	for _, st := range statuses {
		if st.unresolvable {
			preempt[preemptionNotHelpful]++
		} else {
			preempt[preemptionNoVictims]++
		}
	}
	return msg + fmt.Sprintf(" preemption: 0/%v nodes are available: %s.", numAllNodes, histogram(preempt))
}

// histogram is "count reason" pairs sorted as strings, as upstream's sortReasonsHistogram.
func histogram(m map[string]int) string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, fmt.Sprintf("%v %v", v, k))
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}
