package status

import corev1 "k8s.io/api/core/v1"

// ObserveGeneration stamps a status the node writes with the pod generation it was computed
// from: status.observedGeneration and the observedGeneration of the conditions the node owns
// (KubeletOwned), as upstream's kubelet does with PodObservedGenerationTracking (GA). Conditions
// others write keep theirs.
func ObserveGeneration(s *corev1.PodStatus, generation int64) {
	s.ObservedGeneration = generation
	for i := range s.Conditions {
		// the resize conditions carry the generation of the resize they describe (upstream).
		if t := s.Conditions[i].Type; KubeletOwned(t) && t != corev1.PodResizePending && t != corev1.PodResizeInProgress {
			s.Conditions[i].ObservedGeneration = generation
		}
	}
}

// GenerationObserved reports whether the status already reflects generation.
func GenerationObserved(s *corev1.PodStatus, generation int64) bool {
	return s.ObservedGeneration >= generation
}
