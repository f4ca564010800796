package scheduler

import (
	"strconv"

	corev1 "k8s.io/api/core/v1"
)

// compiledTerm is one NodeSelectorTerm; its requirements are ANDed. A term with no requirements
// matches no node, as upstream.
type compiledTerm struct {
	exprs  []corev1.NodeSelectorRequirement
	fields []corev1.NodeSelectorRequirement
	// invalid marks a term upstream would reject when parsing (it then matches nothing).
	invalid bool
}

func compileTerm(t corev1.NodeSelectorTerm) compiledTerm {
	ct := compiledTerm{exprs: t.MatchExpressions, fields: t.MatchFields}
	for _, f := range t.MatchFields {
		if f.Key != "metadata.name" || (f.Operator != corev1.NodeSelectorOpIn && f.Operator != corev1.NodeSelectorOpNotIn) || len(f.Values) != 1 {
			ct.invalid = true
		}
	}
	for _, e := range t.MatchExpressions {
		switch e.Operator {
		case corev1.NodeSelectorOpIn, corev1.NodeSelectorOpNotIn:
			if len(e.Values) == 0 {
				ct.invalid = true
			}
		case corev1.NodeSelectorOpExists, corev1.NodeSelectorOpDoesNotExist:
			if len(e.Values) != 0 {
				ct.invalid = true
			}
		case corev1.NodeSelectorOpGt, corev1.NodeSelectorOpLt:
			if len(e.Values) != 1 {
				ct.invalid = true
			} else if _, err := strconv.ParseInt(e.Values[0], 10, 64); err != nil {
				ct.invalid = true
			}
		default:
			ct.invalid = true
		}
	}
	return ct
}

func (ct *compiledTerm) matches(node *corev1.Node) bool {
	if ct.invalid || len(ct.exprs) == 0 && len(ct.fields) == 0 {
		return false
	}
	for i := range ct.exprs {
		if !matchExpression(&ct.exprs[i], node.Labels) {
			return false
		}
	}
	for i := range ct.fields {
		f := &ct.fields[i]
		in := f.Values[0] == node.Name
		if (f.Operator == corev1.NodeSelectorOpIn) != in {
			return false
		}
	}
	return true
}

func matchExpression(e *corev1.NodeSelectorRequirement, labels map[string]string) bool {
	v, ok := labels[e.Key]
	switch e.Operator {
	case corev1.NodeSelectorOpIn:
		return ok && contains(e.Values, v)
	case corev1.NodeSelectorOpNotIn:
		return !ok || !contains(e.Values, v)
	case corev1.NodeSelectorOpExists:
		return ok
	case corev1.NodeSelectorOpDoesNotExist:
		return !ok
	case corev1.NodeSelectorOpGt, corev1.NodeSelectorOpLt:
		if !ok {
			return false
		}
		have, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return false
		}
		want, _ := strconv.ParseInt(e.Values[0], 10, 64)
		if e.Operator == corev1.NodeSelectorOpGt {
			return have > want
		}
		return have < want
	}
	return false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// requiredAffinity is a pod's nodeSelector and required node affinity.
type requiredAffinity struct {
	selector map[string]string
	terms    []compiledTerm // ORed; nil means no required affinity
	hasTerms bool
}

func newRequiredAffinity(pod *corev1.Pod) *requiredAffinity {
	ra := &requiredAffinity{selector: pod.Spec.NodeSelector}
	if a := pod.Spec.Affinity; a != nil && a.NodeAffinity != nil && a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution != nil {
		ra.hasTerms = true
		for _, t := range a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
			ra.terms = append(ra.terms, compileTerm(t))
		}
	}
	if len(ra.selector) == 0 && !ra.hasTerms {
		return nil
	}
	return ra
}

// matches reports whether node satisfies the nodeSelector and one of the required terms.
func (ra *requiredAffinity) matches(node *corev1.Node) bool {
	if ra == nil {
		return true
	}
	for k, v := range ra.selector {
		if got, ok := node.Labels[k]; !ok || got != v {
			return false
		}
	}
	if !ra.hasTerms {
		return true
	}
	for i := range ra.terms {
		if ra.terms[i].matches(node) {
			return true
		}
	}
	return false
}

// preferredTerm is one weighted preferred scheduling term.
type preferredTerm struct {
	weight int64
	term   compiledTerm
}
