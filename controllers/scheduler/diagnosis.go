package scheduler

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/skiff-dev/skiff/apis/helper"
	"github.com/skiff-dev/skiff/insight/scheddiag"
)

// filterName is the upstream plugin that a node status's failure belongs to.
func (s nodeStatus) filterName() string {
	switch {
	case s.preFilter != "":
		return "VolumeBinding"
	case s.fail&failUnschedulable != 0:
		return "NodeUnschedulable"
	case s.fail&failTaint != 0:
		return "TaintToleration"
	case s.fail&failAffinity != 0:
		return "NodeAffinity"
	case s.fail&failPorts != 0:
		return "NodePorts"
	case s.fail&(failTooManyPods|failCPU|failMemory|failEphemeral) != 0 || len(s.scalar) > 0:
		return "NodeResourcesFit"
	case s.fail&(failVolumeNodeConflict|failVolumeBindConflict|failPVNotExist) != 0:
		return "VolumeBinding"
	case s.fail&(failSpread|failSpreadLabel) != 0:
		return "PodTopologySpread"
	case s.fail&(failPodAffinity|failPodAntiAffinity|failExistingAntiAffinity) != 0:
		return "InterPodAffinity"
	}
	return ""
}

// diagnoseNodes explains each node's status for pi with the numbers behind it (the cache lock is
// held; withNominated gives the node as the filters saw it).
func diagnoseNodes(pi *podInfo, nodes []*nodeInfo, statuses []nodeStatus, withNominated func(*podInfo, *nodeInfo) *nodeInfo) []scheddiag.NodeDiagnosis {
	out := make([]scheddiag.NodeDiagnosis, 0, len(statuses))
	for i, st := range statuses {
		if i >= len(nodes) {
			break
		}
		ni := withNominated(pi, nodes[i])
		d := scheddiag.NodeDiagnosis{Node: ni.name, Filter: st.filterName(), Reasons: st.reasons(), PreemptionMayHelp: !st.unresolvable}
		if st.preFilter != "" {
			d.Reasons = []string{st.preFilter}
		}
		d.Resources = resourceNumbers(pi, ni)
		if st.taint != nil {
			d.Taint = formatTaint(st.taint)
		}
		if st.fail&failAffinity != 0 {
			d.NodeSelector = describeNodeSelector(&pi.pod.Spec)
			if ni.node != nil {
				d.NodeLabels = ni.node.Labels
			}
		}
		if st.fail&failPorts != 0 {
			for _, p := range pi.ports {
				if ni.portsConflict([]helper.HostPort{p}) {
					d.Ports = append(d.Ports, fmt.Sprintf("%s/%d", p.Protocol, p.Port))
				}
			}
		}
		out = append(out, d)
	}
	return out
}

// resourceNumbers are NodeResourcesFit's inputs: the pod count, then every resource the pod
// requests.
func resourceNumbers(pi *podInfo, ni *nodeInfo) []scheddiag.Resource {
	r, alloc, used := pi.req, ni.allocatable, ni.requested
	out := []scheddiag.Resource{{Name: "pods", Requested: 1, Allocatable: ni.allowedPods, Used: ni.numPods, Insufficient: ni.numPods+1 > ni.allowedPods}}
	add := func(name string, want, have, taken int64) {
		if want > 0 {
			out = append(out, scheddiag.Resource{Name: name, Requested: want, Allocatable: have, Used: taken, Insufficient: want > have-taken})
		}
	}
	add(string(corev1.ResourceCPU), r.MilliCPU, alloc.MilliCPU, used.MilliCPU)
	add(string(corev1.ResourceMemory), r.Memory, alloc.Memory, used.Memory)
	add(string(corev1.ResourceEphemeralStorage), r.EphemeralStorage, alloc.EphemeralStorage, used.EphemeralStorage)
	names := make([]string, 0, len(r.Scalar))
	for name := range r.Scalar {
		names = append(names, string(name))
	}
	sort.Strings(names)
	for _, name := range names {
		n := corev1.ResourceName(name)
		add(name, r.Scalar[n], alloc.Scalar[n], used.Scalar[n])
	}
	return out
}

func formatTaint(t *corev1.Taint) string {
	s := t.Key
	if t.Value != "" {
		s += "=" + t.Value
	}
	return s + ":" + string(t.Effect)
}

// describeNodeSelector is the pod's nodeSelector and required node affinity as text:
// "disk=ssd; zone In [a b] or arch NotIn [arm]".
func describeNodeSelector(spec *corev1.PodSpec) string {
	var parts []string
	if len(spec.NodeSelector) > 0 {
		keys := make([]string, 0, len(spec.NodeSelector))
		for k := range spec.NodeSelector {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		sel := make([]string, len(keys))
		for i, k := range keys {
			sel[i] = k + "=" + spec.NodeSelector[k]
		}
		parts = append(parts, "nodeSelector "+strings.Join(sel, ","))
	}
	if a := spec.Affinity; a != nil && a.NodeAffinity != nil && a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution != nil {
		var terms []string
		for _, t := range a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
			var reqs []string
			for _, e := range append(append([]corev1.NodeSelectorRequirement{}, t.MatchExpressions...), t.MatchFields...) {
				r := e.Key + " " + string(e.Operator)
				if len(e.Values) > 0 {
					r += " [" + strings.Join(e.Values, " ") + "]"
				}
				reqs = append(reqs, r)
			}
			terms = append(terms, strings.Join(reqs, ", "))
		}
		parts = append(parts, "required node affinity "+strings.Join(terms, " or "))
	}
	return strings.Join(parts, "; ")
}
