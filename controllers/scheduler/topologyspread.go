package scheduler

import (
	"math"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// spreadConstraint is a compiled TopologySpreadConstraint.
type spreadConstraint struct {
	maxSkew       int32
	minDomains    int32
	topologyKey   string
	selector      labels.Selector
	honorAffinity bool // nodeAffinityPolicy Honor (the default)
	honorTaints   bool // nodeTaintsPolicy Honor (default Ignore)
}

// compileSpreadConstraints returns the pod's constraints with whenUnsatisfiable want, their
// selectors merged with matchLabelKeys.
func compileSpreadConstraints(pod *corev1.Pod, want corev1.UnsatisfiableConstraintAction) []spreadConstraint {
	var out []spreadConstraint
	for _, c := range pod.Spec.TopologySpreadConstraints {
		if c.WhenUnsatisfiable != want {
			continue
		}
		sc := spreadConstraint{
			maxSkew:       c.MaxSkew,
			minDomains:    1,
			topologyKey:   c.TopologyKey,
			selector:      selectorWithLabelKeys(c.LabelSelector, pod.Labels, c.MatchLabelKeys, nil),
			honorAffinity: c.NodeAffinityPolicy == nil || *c.NodeAffinityPolicy == corev1.NodeInclusionPolicyHonor,
			honorTaints:   c.NodeTaintsPolicy != nil && *c.NodeTaintsPolicy == corev1.NodeInclusionPolicyHonor,
		}
		if c.MinDomains != nil {
			sc.minDomains = *c.MinDomains
		}
		out = append(out, sc)
	}
	return out
}

// includesNode applies the constraint's node inclusion policies.
func (c *spreadConstraint) includesNode(pi *podInfo, node *corev1.Node) bool {
	if c.honorAffinity && !pi.affinity.matches(node) {
		return false
	}
	if c.honorTaints {
		for i := range node.Spec.Taints {
			t := &node.Spec.Taints[i]
			if (t.Effect == corev1.TaintEffectNoSchedule || t.Effect == corev1.TaintEffectNoExecute) && !tolerates(pi.tolerations, t) {
				return false
			}
		}
	}
	return true
}

// hasTopologyKeys reports whether node has every constraint's topology key.
func hasTopologyKeys(node *corev1.Node, cs []spreadConstraint) bool {
	for i := range cs {
		if _, ok := node.Labels[cs[i].topologyKey]; !ok {
			return false
		}
	}
	return true
}

// countMatching counts the node's pods in namespace ns selected by sel, not being deleted.
func countMatching(ni *nodeInfo, sel labels.Selector, ns string) int {
	n := 0
	for _, p := range ni.pods {
		if p.pod.DeletionTimestamp == nil && p.pod.Namespace == ns && sel.Matches(labels.Set(p.pod.Labels)) {
			n++
		}
	}
	return n
}

// spreadState is PodTopologySpread's pre-filter state for one pod's DoNotSchedule constraints:
// per constraint, the matching pods in each domain of the nodes the constraint includes.
type spreadState struct {
	pod         *podInfo
	constraints []spreadConstraint
	counts      []map[string]int
}

// newSpreadState counts over every node; nil when the pod has no DoNotSchedule constraint.
func newSpreadState(pi *podInfo, nodes []*nodeInfo) *spreadState {
	if len(pi.hardSpread) == 0 {
		return nil
	}
	s := &spreadState{pod: pi, constraints: pi.hardSpread, counts: make([]map[string]int, len(pi.hardSpread))}
	for i := range s.counts {
		s.counts[i] = map[string]int{}
	}
	for _, ni := range nodes {
		if ni.node == nil || !hasTopologyKeys(ni.node, s.constraints) {
			continue
		}
		for i := range s.constraints {
			c := &s.constraints[i]
			if !c.includesNode(pi, ni.node) {
				continue
			}
			s.counts[i][ni.node.Labels[c.topologyKey]] += countMatching(ni, c.selector, pi.pod.Namespace)
		}
	}
	return s
}

// update adds (delta 1) or removes (delta -1) existing pod p on node to the counts.
func (s *spreadState) update(p *podInfo, node *corev1.Node, delta int) {
	if s == nil || p.pod.Namespace != s.pod.pod.Namespace || p.pod.DeletionTimestamp != nil || !hasTopologyKeys(node, s.constraints) {
		return
	}
	for i := range s.constraints {
		c := &s.constraints[i]
		if c.selector.Matches(labels.Set(p.pod.Labels)) && c.includesNode(s.pod, node) {
			s.counts[i][node.Labels[c.topologyKey]] += delta
		}
	}
}

// minMatch is the smallest count over the constraint's domains, 0 with fewer than minDomains
// domains.
func (s *spreadState) minMatch(i int) int {
	if int32(len(s.counts[i])) < s.constraints[i].minDomains {
		return 0
	}
	m := math.MaxInt
	for _, n := range s.counts[i] {
		m = min(m, n)
	}
	if m == math.MaxInt {
		return 0
	}
	return m
}

// filter is PodTopologySpread's Filter: a node missing a topology key cannot help (unresolvable);
// otherwise the domain's count plus the pod itself may exceed the minimum by at most maxSkew.
func (s *spreadState) filter(node *corev1.Node) (fail uint32, unresolvable bool) {
	if s == nil {
		return 0, false
	}
	for i := range s.constraints {
		c := &s.constraints[i]
		v, ok := node.Labels[c.topologyKey]
		if !ok {
			return failSpreadLabel, true
		}
		self := 0
		if c.selector.Matches(labels.Set(s.pod.pod.Labels)) {
			self = 1
		}
		if s.counts[i][v]+self-s.minMatch(i) > int(c.maxSkew) {
			return failSpread, false
		}
	}
	return 0, false
}

// spreadScores is PodTopologySpread's Score for the pod's ScheduleAnyway constraints over the
// feasible nodes, normalized as upstream (fewer matching pods in a node's domains score higher;
// nodes missing a topology key score 0). It returns nil when the pod has no such constraint.
func spreadScores(pi *podInfo, feasible, all []*nodeInfo) []int64 {
	cs := pi.softSpread
	if len(cs) == 0 {
		return nil
	}
	ns := pi.pod.Namespace
	counts := make([]map[string]int64, len(cs))
	sizes := make([]int, len(cs))
	ignored := make([]bool, len(feasible))
	numIgnored := 0
	for i := range counts {
		counts[i] = map[string]int64{}
	}
	for j, ni := range feasible {
		if !hasTopologyKeys(ni.node, cs) {
			ignored[j] = true
			numIgnored++
			continue
		}
		for i := range cs {
			if cs[i].topologyKey == corev1.LabelHostname {
				continue
			}
			v := ni.node.Labels[cs[i].topologyKey]
			if _, ok := counts[i][v]; !ok {
				counts[i][v] = 0
				sizes[i]++
			}
		}
	}
	for _, ni := range all {
		if ni.node == nil || !hasTopologyKeys(ni.node, cs) {
			continue
		}
		for i := range cs {
			c := &cs[i]
			if c.topologyKey == corev1.LabelHostname || !c.includesNode(pi, ni.node) {
				continue
			}
			v := ni.node.Labels[c.topologyKey]
			if _, ok := counts[i][v]; ok {
				counts[i][v] += int64(countMatching(ni, c.selector, ns))
			}
		}
	}
	weights := make([]float64, len(cs))
	for i := range cs {
		sz := sizes[i]
		if cs[i].topologyKey == corev1.LabelHostname {
			sz = len(feasible) - numIgnored
		}
		weights[i] = math.Log(float64(sz + 2))
	}
	scores := make([]int64, len(feasible))
	var lo int64 = math.MaxInt64
	var hi int64
	for j, ni := range feasible {
		if ignored[j] {
			continue
		}
		var f float64
		for i := range cs {
			c := &cs[i]
			var cnt int64
			if c.topologyKey == corev1.LabelHostname {
				cnt = int64(countMatching(ni, c.selector, ns))
			} else {
				cnt = counts[i][ni.node.Labels[c.topologyKey]]
			}
			f += float64(cnt)*weights[i] + float64(c.maxSkew-1)
		}
		scores[j] = int64(math.Round(f))
		lo, hi = min(lo, scores[j]), max(hi, scores[j])
	}
	for j := range scores {
		switch {
		case ignored[j]:
			scores[j] = 0
		case hi == 0:
			scores[j] = maxNodeScore
		default:
			scores[j] = maxNodeScore * (hi + lo - scores[j]) / hi
		}
	}
	return scores
}
