package scheduler

import (
	"math"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"

	"github.com/skiff-dev/skiff/apis/helper"
)

// preemptionTerminating is upstream's reason for not preempting again while victims on the
// nominated node are still terminating.
const preemptionTerminating = "not eligible due to a terminating pod on the nominated node."

// pdbInfo is what victim selection needs of a PodDisruptionBudget.
type pdbInfo struct {
	namespace string
	selector  labels.Selector
	allowed   int32
	disrupted map[string]metav1.Time
}

// newPDBInfos compiles PodDisruptionBudgets; one with a nil or empty selector, or a selector
// that does not parse, matches no pod (as upstream).
func newPDBInfos(pdbs []policyv1.PodDisruptionBudget) []pdbInfo {
	out := make([]pdbInfo, 0, len(pdbs))
	for i := range pdbs {
		p := &pdbs[i]
		sel, err := metav1.LabelSelectorAsSelector(p.Spec.Selector)
		if err != nil || sel.Empty() {
			continue
		}
		out = append(out, pdbInfo{namespace: p.Namespace, selector: sel, allowed: p.Status.DisruptionsAllowed, disrupted: p.Status.DisruptedPods})
	}
	return out
}

// preemptionEligible is upstream's PodEligibleToPreemptOthers: it returns "" when the pod may
// preempt, else the post-filter message. nominated is the pod's nominated node ("" for none);
// preempting holds victims chosen but maybe not yet marked deleted, which count as terminating.
func preemptionEligible(pod *corev1.Pod, nominated string, infos map[string]*nodeInfo, preempting map[types.UID]bool) string {
	if pod.Spec.PreemptionPolicy != nil && *pod.Spec.PreemptionPolicy == corev1.PreemptNever {
		return preemptionNever
	}
	if nominated != "" {
		if ni := infos[nominated]; ni != nil {
			prio := priorityOf(pod)
			for _, p := range ni.pods {
				if (p.pod.DeletionTimestamp != nil || preempting[p.uid]) && priorityOf(p.pod) < prio {
					return preemptionTerminating
				}
			}
		}
	}
	return ""
}

// startTime is upstream's GetPodStartTime: status.startTime, or now for pods not started.
func startTime(pod *corev1.Pod, now time.Time) time.Time {
	if pod.Status.StartTime != nil {
		return pod.Status.StartTime.Time
	}
	return now
}

// moreImportant orders pods by priority, then earlier start time, as upstream's MoreImportantPod.
func moreImportant(a, b *podInfo, now time.Time) bool {
	pa, pb := priorityOf(a.pod), priorityOf(b.pod)
	if pa != pb {
		return pa > pb
	}
	return startTime(a.pod, now).Before(startTime(b.pod, now))
}

// clone copies a node info deeply enough to add and remove pods on the copy.
func (ni *nodeInfo) clone() *nodeInfo {
	c := *ni
	c.pods = make(map[types.UID]*podInfo, len(ni.pods))
	for k, v := range ni.pods {
		c.pods[k] = v
	}
	if ni.ports != nil {
		c.ports = make(map[helper.HostPort]int, len(ni.ports))
		for k, v := range ni.ports {
			c.ports[k] = v
		}
	}
	if ni.owners != nil {
		c.owners = make(map[types.UID]int, len(ni.owners))
		for k, v := range ni.owners {
			c.owners[k] = v
		}
	}
	return &c
}

// splitByPDB partitions pods (in order) into those whose eviction would violate a
// PodDisruptionBudget, given the disruptions each allows, and the others.
func splitByPDB(pods []*podInfo, pdbs []pdbInfo) (violating, nonViolating []*podInfo) {
	allowed := make([]int32, len(pdbs))
	for i := range pdbs {
		allowed[i] = pdbs[i].allowed
	}
	for _, p := range pods {
		violated := false
		if len(p.pod.Labels) > 0 {
			for i := range pdbs {
				pdb := &pdbs[i]
				if pdb.namespace != p.pod.Namespace || !pdb.selector.Matches(labels.Set(p.pod.Labels)) {
					continue
				}
				if _, ok := pdb.disrupted[p.pod.Name]; ok {
					continue
				}
				if allowed[i]--; allowed[i] < 0 {
					violated = true
				}
			}
		}
		if violated {
			violating = append(violating, p)
		} else {
			nonViolating = append(nonViolating, p)
		}
	}
	return violating, nonViolating
}

// candidate is a node where preemption makes the pod fit, with the pods to evict.
type candidate struct {
	node       *nodeInfo
	victims    []*podInfo // most important first
	violations int        // victims whose eviction violates a PodDisruptionBudget
}

// selectVictims is upstream's SelectVictimsOnNode: remove every lower-priority pod; if the pod
// then fits, reprieve as many as possible, most important first, those whose eviction would
// violate a PodDisruptionBudget before the others. cs is updated while simulating and restored
// before returning. Without a candidate it returns the node's post-filter reasons.
func selectVictims(pi *podInfo, ni *nodeInfo, cs *cycleState, pdbs []pdbInfo, now time.Time) (*candidate, []string) {
	prio := priorityOf(pi.pod)
	var potential []*podInfo
	for _, p := range ni.pods {
		if priorityOf(p.pod) < prio {
			potential = append(potential, p)
		}
	}
	if len(potential) == 0 {
		return nil, []string{preemptionNoVictims}
	}
	sim := ni.clone()
	removed := map[types.UID]*podInfo{}
	for _, p := range potential {
		sim.removePod(p)
		cs.update(p, ni.node, -1)
		removed[p.uid] = p
	}
	defer func() {
		for _, p := range removed {
			cs.update(p, ni.node, 1)
		}
	}()
	if st := filterNode(pi, sim, cs); !st.fits() {
		return nil, st.reasons()
	}
	sort.Slice(potential, func(i, j int) bool { return moreImportant(potential[i], potential[j], now) })
	violating, nonViolating := splitByPDB(potential, pdbs)
	c := &candidate{node: ni}
	reprieve := func(p *podInfo) bool {
		sim.addPod(p)
		cs.update(p, ni.node, 1)
		delete(removed, p.uid)
		if filterNode(pi, sim, cs).fits() {
			return true
		}
		sim.removePod(p)
		cs.update(p, ni.node, -1)
		removed[p.uid] = p
		c.victims = append(c.victims, p)
		return false
	}
	for _, p := range violating {
		if !reprieve(p) {
			c.violations++
		}
	}
	for _, p := range nonViolating {
		reprieve(p)
	}
	if len(c.victims) == 0 {
		// The pod fits without evicting anyone; upstream reports this as an error of the node.
		return nil, []string{preemptionNoVictims}
	}
	sort.Slice(c.victims, func(i, j int) bool { return moreImportant(c.victims[i], c.victims[j], now) })
	return c, nil
}

// findCandidates runs selectVictims on every node where preemption might help (those whose
// filter status is resolvable). Nodes without a candidate add their reasons to the histogram.
func findCandidates(pi *podInfo, nodes []*nodeInfo, statuses []nodeStatus, cs *cycleState, pdbs []pdbInfo, now time.Time) ([]*candidate, map[string]int) {
	var out []*candidate
	reasons := map[string]int{}
	for i, ni := range nodes {
		if statuses[i].unresolvable {
			reasons[preemptionNotHelpful]++
			continue
		}
		c, why := selectVictims(pi, ni, cs, pdbs, now)
		if c != nil {
			out = append(out, c)
			continue
		}
		for _, r := range why {
			reasons[r]++
		}
	}
	return out, reasons
}

// pickCandidate is upstream's pickOneNodeForPreemption: fewest PodDisruptionBudget violations,
// then the lowest highest-priority victim, the smallest sum of priorities, the fewest victims,
// the latest start among the highest-priority victims, and finally the first.
func pickCandidate(cands []*candidate, now time.Time) *candidate {
	if len(cands) == 0 {
		return nil
	}
	scores := []func(c *candidate) int64{
		func(c *candidate) int64 { return -int64(c.violations) },
		func(c *candidate) int64 { return -int64(priorityOf(c.victims[0].pod)) },
		func(c *candidate) int64 {
			var sum int64
			for _, v := range c.victims {
				// Shifted so that negative priorities still add up to a positive sum.
				sum += int64(priorityOf(v.pod)) + math.MaxInt32 + 1
			}
			return -sum
		},
		func(c *candidate) int64 { return -int64(len(c.victims)) },
		func(c *candidate) int64 {
			top := priorityOf(c.victims[0].pod)
			earliest := startTime(c.victims[0].pod, now)
			for _, v := range c.victims {
				if priorityOf(v.pod) == top && startTime(v.pod, now).Before(earliest) {
					earliest = startTime(v.pod, now)
				}
			}
			return earliest.UnixNano()
		},
	}
	for _, f := range scores {
		var best []*candidate
		bestScore := int64(math.MinInt64)
		for _, c := range cands {
			switch s := f(c); {
			case s > bestScore:
				best, bestScore = []*candidate{c}, s
			case s == bestScore:
				best = append(best, c)
			}
		}
		if len(best) == 1 {
			return best[0]
		}
		cands = best
	}
	return cands[0]
}
