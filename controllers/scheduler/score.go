package scheduler

import (
	"math"
	"math/rand/v2"

	corev1 "k8s.io/api/core/v1"
)

// maxNodeScore is upstream's framework.MaxNodeScore.
const maxNodeScore = 100

// Score plugin weights of upstream's default profile.
const (
	weightTaintToleration = 3
	weightNodeAffinity    = 2
	weightLeastAllocated  = 1
	weightBalanced        = 1
	weightSpread          = 2
	weightPodAffinity     = 2
)

// leastAllocatedScore is NodeResourcesFit's LeastAllocated strategy over cpu and memory (weight
// 1 each), using requests with scoring defaults.
func leastAllocatedScore(pi *podInfo, ni *nodeInfo) int64 {
	cpu := leastAllocated(ni.nonzero.MilliCPU+pi.nonzero.MilliCPU, ni.allocatable.MilliCPU)
	mem := leastAllocated(ni.nonzero.Memory+pi.nonzero.Memory, ni.allocatable.Memory)
	return (cpu + mem) / 2
}

func leastAllocated(requested, capacity int64) int64 {
	if capacity == 0 || requested > capacity {
		return 0
	}
	return (capacity - requested) * maxNodeScore / capacity
}

// balancedScore is NodeResourcesBalancedAllocation over cpu and memory: 100 when both are used
// in equal fractions, lower as the fractions diverge. Pods requesting neither are skipped (0).
func balancedScore(pi *podInfo, ni *nodeInfo) int64 {
	if pi.req.MilliCPU == 0 && pi.req.Memory == 0 {
		return 0
	}
	cpu := fraction(ni.requested.MilliCPU+pi.req.MilliCPU, ni.allocatable.MilliCPU)
	mem := fraction(ni.requested.Memory+pi.req.Memory, ni.allocatable.Memory)
	std := math.Abs(cpu-mem) / 2
	return int64((1 - std) * maxNodeScore)
}

func fraction(requested, capacity int64) float64 {
	if capacity == 0 {
		return 1
	}
	f := float64(requested) / float64(capacity)
	if f > 1 {
		f = 1
	}
	return f
}

// intolerablePreferNoSchedule counts the node's PreferNoSchedule taints the pod does not tolerate.
func intolerablePreferNoSchedule(pi *podInfo, ni *nodeInfo) int64 {
	var n int64
	for i := range ni.softTaints {
		if !tolerates(pi.preferTolerate, &ni.softTaints[i]) {
			n++
		}
	}
	return n
}

// preferredAffinity sums the weights of the preferred node affinity terms node matches.
func preferredAffinity(pi *podInfo, node *corev1.Node) int64 {
	var s int64
	for i := range pi.preferred {
		if pi.preferred[i].term.matches(node) {
			s += pi.preferred[i].weight
		}
	}
	return s
}

// scorer ranks feasible nodes; its buffers are reused across cycles.
type scorer struct {
	taint, affinity, spread, podAff []int64
	rnd                             *rand.Rand
}

// selectHost scores the feasible nodes and returns the best one, breaking ties at random. all
// is every node, for the scores that count pods across topology domains.
func (s *scorer) selectHost(pi *podInfo, feasible, all []*nodeInfo, nsLabels nsLabelsFunc) *nodeInfo {
	if len(feasible) == 1 {
		return feasible[0]
	}
	n := len(feasible)
	s.taint, s.affinity, s.spread, s.podAff = grow(s.taint, n), grow(s.affinity, n), grow(s.spread, n), grow(s.podAff, n)
	if topo := affinityScores(pi, all, nsLabels); topo != nil {
		for i, ni := range feasible {
			s.podAff[i] = affinityScore(topo, ni.node)
		}
		normalizeAffinityScores(s.podAff)
	}
	// A pod's own topology spread constraints replace the default spreading by owner.
	ownSpread := len(pi.pod.Spec.TopologySpreadConstraints) > 0
	if sp := spreadScores(pi, feasible, all); sp != nil {
		copy(s.spread, sp)
	}
	var maxTaint, maxAff, maxSpread int64
	for i, ni := range feasible {
		if len(ni.softTaints) > 0 {
			s.taint[i] = intolerablePreferNoSchedule(pi, ni)
			maxTaint = max(maxTaint, s.taint[i])
		}
		if len(pi.preferred) > 0 {
			s.affinity[i] = preferredAffinity(pi, ni.node)
			maxAff = max(maxAff, s.affinity[i])
		}
		if pi.owner != "" && !ownSpread {
			s.spread[i] = int64(ni.owners[pi.owner])
			maxSpread = max(maxSpread, s.spread[i])
		}
	}
	var best *nodeInfo
	bestScore, ties := int64(-1), 0
	for i, ni := range feasible {
		score := weightLeastAllocated*leastAllocatedScore(pi, ni) + weightBalanced*balancedScore(pi, ni)
		score += weightTaintToleration * reverseNormalize(s.taint[i], maxTaint)
		if maxAff > 0 {
			score += weightNodeAffinity * s.affinity[i] * maxNodeScore / maxAff
		}
		if ownSpread {
			score += weightSpread * s.spread[i]
		} else {
			score += weightSpread * reverseNormalize(s.spread[i], maxSpread)
		}
		score += weightPodAffinity * s.podAff[i]
		switch {
		case score > bestScore:
			best, bestScore, ties = ni, score, 1
		case score == bestScore:
			ties++
			if s.rnd.IntN(ties) == 0 {
				best = ni
			}
		}
	}
	return best
}

// reverseNormalize maps 0..max to 100..0 (all 100 when max is 0).
func reverseNormalize(v, maxV int64) int64 {
	if maxV == 0 {
		return maxNodeScore
	}
	return maxNodeScore - v*maxNodeScore/maxV
}

func grow(b []int64, n int) []int64 {
	if cap(b) < n {
		return make([]int64, n)
	}
	b = b[:n]
	clear(b)
	return b
}

// numFeasibleNodesToFind is upstream's adaptive percentageOfNodesToScore: all nodes up to 100,
// then 50% minus 1% per 125 nodes, at least 5% and at least 100 nodes.
func numFeasibleNodesToFind(percentage int32, numAllNodes int32) int32 {
	const minFeasibleNodes, minPercentage = 100, 5
	if numAllNodes < minFeasibleNodes || percentage >= 100 {
		return numAllNodes
	}
	if percentage <= 0 {
		percentage = 50 - numAllNodes/125
		if percentage < minPercentage {
			percentage = minPercentage
		}
	}
	n := numAllNodes * percentage / 100
	if n < minFeasibleNodes {
		return minFeasibleNodes
	}
	return n
}
