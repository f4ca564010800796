package scheduler

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
)

// hardPodAffinityWeight is upstream's default InterPodAffinity hardPodAffinityWeight: an existing
// pod's required affinity term matching the incoming pod scores like a preferred term of weight 1.
const hardPodAffinityWeight = 1

// podAffinityTerm is a compiled PodAffinityTerm (or WeightedPodAffinityTerm) of one pod.
type podAffinityTerm struct {
	namespaces  []string
	nsSelector  labels.Selector // nil without a namespaceSelector
	selector    labels.Selector
	topologyKey string
	weight      int64
}

// compilePodAffinityTerm resolves the term's namespaces (the pod's own when neither namespaces
// nor namespaceSelector is set) and merges matchLabelKeys and mismatchLabelKeys into its label
// selector with the owning pod's label values, as upstream's API server does at pod creation.
// A selector that does not parse matches nothing.
func compilePodAffinityTerm(pod *corev1.Pod, t *corev1.PodAffinityTerm, weight int64) podAffinityTerm {
	at := podAffinityTerm{namespaces: t.Namespaces, topologyKey: t.TopologyKey, weight: weight}
	if len(t.Namespaces) == 0 && t.NamespaceSelector == nil {
		at.namespaces = []string{pod.Namespace}
	}
	if t.NamespaceSelector != nil {
		sel, err := metav1.LabelSelectorAsSelector(t.NamespaceSelector)
		if err != nil {
			sel = labels.Nothing()
		}
		at.nsSelector = sel
	}
	at.selector = selectorWithLabelKeys(t.LabelSelector, pod.Labels, t.MatchLabelKeys, t.MismatchLabelKeys)
	return at
}

// selectorWithLabelKeys parses sel (nil selects nothing) and adds "key in (value)" for each
// matchLabelKeys key and "key notin (value)" for each mismatchLabelKeys key the pod has.
func selectorWithLabelKeys(sel *metav1.LabelSelector, podLabels map[string]string, match, mismatch []string) labels.Selector {
	if sel == nil {
		return labels.Nothing()
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return labels.Nothing()
	}
	add := func(keys []string, op selection.Operator) {
		for _, k := range keys {
			v, ok := podLabels[k]
			if !ok {
				continue
			}
			if r, err := labels.NewRequirement(k, op, []string{v}); err == nil {
				s = s.Add(*r)
			}
		}
	}
	add(match, selection.In)
	add(mismatch, selection.NotIn)
	return s
}

// matches reports whether pod is selected by the term; nsLabels are the labels of pod's namespace.
func (t *podAffinityTerm) matches(pod *corev1.Pod, nsLabels labels.Set) bool {
	if !contains(t.namespaces, pod.Namespace) && (t.nsSelector == nil || !t.nsSelector.Matches(nsLabels)) {
		return false
	}
	return t.selector.Matches(labels.Set(pod.Labels))
}

// podAffinity is a pod's compiled inter-pod affinity and anti-affinity.
type podAffinity struct {
	required, requiredAnti   []podAffinityTerm
	preferred, preferredAnti []podAffinityTerm
}

func newPodAffinity(pod *corev1.Pod) *podAffinity {
	a := pod.Spec.Affinity
	if a == nil || a.PodAffinity == nil && a.PodAntiAffinity == nil {
		return nil
	}
	pa := &podAffinity{}
	required := func(terms []corev1.PodAffinityTerm) []podAffinityTerm {
		var out []podAffinityTerm
		for i := range terms {
			out = append(out, compilePodAffinityTerm(pod, &terms[i], hardPodAffinityWeight))
		}
		return out
	}
	preferred := func(terms []corev1.WeightedPodAffinityTerm) []podAffinityTerm {
		var out []podAffinityTerm
		for i := range terms {
			out = append(out, compilePodAffinityTerm(pod, &terms[i].PodAffinityTerm, int64(terms[i].Weight)))
		}
		return out
	}
	if a.PodAffinity != nil {
		pa.required = required(a.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution)
		pa.preferred = preferred(a.PodAffinity.PreferredDuringSchedulingIgnoredDuringExecution)
	}
	if a.PodAntiAffinity != nil {
		pa.requiredAnti = required(a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution)
		pa.preferredAnti = preferred(a.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution)
	}
	return pa
}

// topologyPair is one topology domain: a node label key and value.
type topologyPair struct{ key, value string }

// nsLabelsFunc returns the labels of a namespace (nil when unknown).
type nsLabelsFunc func(namespace string) labels.Set

// affinityState is InterPodAffinity's pre-filter state for one pod: per topology domain, how
// many existing pods forbid the pod by their required anti-affinity, match all of the pod's
// required affinity terms, and match one of its required anti-affinity terms.
type affinityState struct {
	pod          *podInfo
	podNSLabels  labels.Set
	nsLabels     nsLabelsFunc
	existingAnti map[topologyPair]int
	affinity     map[topologyPair]int
	anti         map[topologyPair]int
}

// newAffinityState counts over every node's pods. It returns nil when neither the pod nor any
// existing pod has required inter-pod (anti-)affinity: the filter then passes every node.
func newAffinityState(pi *podInfo, nodes []*nodeInfo, nsLabels nsLabelsFunc) *affinityState {
	own := pi.podAff != nil && (len(pi.podAff.required) > 0 || len(pi.podAff.requiredAnti) > 0)
	if !own && !anyRequiredAnti(nodes) {
		return nil
	}
	s := &affinityState{
		pod: pi, podNSLabels: nsLabels(pi.pod.Namespace), nsLabels: nsLabels,
		existingAnti: map[topologyPair]int{}, affinity: map[topologyPair]int{}, anti: map[topologyPair]int{},
	}
	for _, ni := range nodes {
		if ni.node == nil || !own && ni.requiredAntiPods == 0 {
			continue
		}
		for _, p := range ni.pods {
			if own || p.podAff != nil && len(p.podAff.requiredAnti) > 0 {
				s.update(p, ni.node, 1)
			}
		}
	}
	return s
}

func anyRequiredAnti(nodes []*nodeInfo) bool {
	for _, ni := range nodes {
		if ni.requiredAntiPods > 0 {
			return true
		}
	}
	return false
}

func addCount(m map[topologyPair]int, p topologyPair, delta int) {
	if m[p] += delta; m[p] == 0 {
		delete(m, p)
	}
}

// update adds (delta 1) or removes (delta -1) existing pod p on node to the counts.
func (s *affinityState) update(p *podInfo, node *corev1.Node, delta int) {
	if p.uid == s.pod.uid {
		return
	}
	if p.podAff != nil {
		for i := range p.podAff.requiredAnti {
			t := &p.podAff.requiredAnti[i]
			if v, ok := node.Labels[t.topologyKey]; ok && t.matches(s.pod.pod, s.podNSLabels) {
				addCount(s.existingAnti, topologyPair{t.topologyKey, v}, delta)
			}
		}
	}
	own := s.pod.podAff
	if own == nil {
		return
	}
	if len(own.required) > 0 {
		nsl := s.nsLabels(p.pod.Namespace)
		all := true
		for i := range own.required {
			if !own.required[i].matches(p.pod, nsl) {
				all = false
				break
			}
		}
		if all {
			for i := range own.required {
				if v, ok := node.Labels[own.required[i].topologyKey]; ok {
					addCount(s.affinity, topologyPair{own.required[i].topologyKey, v}, delta)
				}
			}
		}
	}
	if len(own.requiredAnti) > 0 {
		nsl := s.nsLabels(p.pod.Namespace)
		for i := range own.requiredAnti {
			t := &own.requiredAnti[i]
			if v, ok := node.Labels[t.topologyKey]; ok && t.matches(p.pod, nsl) {
				addCount(s.anti, topologyPair{t.topologyKey, v}, delta)
			}
		}
	}
}

// filter is InterPodAffinity's Filter: it returns the failure bit, or 0 when node passes.
func (s *affinityState) filter(node *corev1.Node) uint32 {
	if s == nil {
		return 0
	}
	if own := s.pod.podAff; own != nil {
		if !s.satisfiesAffinity(own.required, node) {
			return failPodAffinity
		}
		for i := range own.requiredAnti {
			t := &own.requiredAnti[i]
			if v, ok := node.Labels[t.topologyKey]; ok && s.anti[topologyPair{t.topologyKey, v}] > 0 {
				return failPodAntiAffinity
			}
		}
	}
	if len(s.existingAnti) > 0 {
		for k, v := range node.Labels {
			if s.existingAnti[topologyPair{k, v}] > 0 {
				return failExistingAntiAffinity
			}
		}
	}
	return 0
}

// satisfiesAffinity needs, for every term, the node to have the topology key and a matching pod
// in its domain; or, when no pod anywhere matches and the pod matches all its own terms, only
// the topology keys (the first pod of a group with affinity to itself).
func (s *affinityState) satisfiesAffinity(terms []podAffinityTerm, node *corev1.Node) bool {
	podsExist := true
	for i := range terms {
		v, ok := node.Labels[terms[i].topologyKey]
		if !ok {
			return false
		}
		if s.affinity[topologyPair{terms[i].topologyKey, v}] <= 0 {
			podsExist = false
		}
	}
	if podsExist {
		return true
	}
	if len(s.affinity) > 0 {
		return false
	}
	for i := range terms {
		if !terms[i].matches(s.pod.pod, s.podNSLabels) {
			return false
		}
	}
	return true
}

// affinityScores is InterPodAffinity's PreScore: per topology domain, the sum of the weights of
// the preferred terms (both the incoming pod's over existing pods, and existing pods' over the
// incoming pod; anti-affinity negative; existing pods' required affinity with weight 1). Nil
// when there is nothing to score.
func affinityScores(pi *podInfo, nodes []*nodeInfo, nsLabels nsLabelsFunc) map[topologyPair]int64 {
	own := pi.podAff
	var podNS labels.Set
	var out map[topologyPair]int64
	add := func(terms []podAffinityTerm, pod *corev1.Pod, nsl labels.Set, node *corev1.Node, sign int64) {
		for i := range terms {
			t := &terms[i]
			if v, ok := node.Labels[t.topologyKey]; ok && t.matches(pod, nsl) {
				if out == nil {
					out = map[topologyPair]int64{}
				}
				out[topologyPair{t.topologyKey, v}] += sign * t.weight
			}
		}
	}
	for _, ni := range nodes {
		if ni.node == nil || own == nil && ni.affinityPods == 0 || len(ni.node.Labels) == 0 {
			continue
		}
		for _, p := range ni.pods {
			if own != nil {
				nsl := nsLabels(p.pod.Namespace)
				add(own.preferred, p.pod, nsl, ni.node, 1)
				add(own.preferredAnti, p.pod, nsl, ni.node, -1)
			}
			if p.podAff == nil {
				continue
			}
			if podNS == nil {
				podNS = nsLabels(pi.pod.Namespace)
				if podNS == nil {
					podNS = labels.Set{}
				}
			}
			add(p.podAff.required, pi.pod, podNS, ni.node, 1)
			add(p.podAff.preferred, pi.pod, podNS, ni.node, 1)
			add(p.podAff.preferredAnti, pi.pod, podNS, ni.node, -1)
		}
	}
	return out
}

// affinityScore sums the node's domains' scores.
func affinityScore(scores map[topologyPair]int64, node *corev1.Node) int64 {
	var s int64
	for k, v := range node.Labels {
		s += scores[topologyPair{k, v}]
	}
	return s
}

// normalizeAffinityScores maps raw scores to 0..100 between min(0, lowest) and max(0, highest),
// as upstream's NormalizeScore.
func normalizeAffinityScores(scores []int64) {
	var hi, lo int64
	for _, s := range scores {
		hi, lo = max(hi, s), min(lo, s)
	}
	for i, s := range scores {
		if hi-lo > 0 {
			scores[i] = int64(float64(maxNodeScore) * float64(s-lo) / float64(hi-lo))
		} else {
			scores[i] = 0
		}
	}
}
