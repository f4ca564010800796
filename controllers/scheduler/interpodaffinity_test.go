package scheduler

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// zoned are three nodes: a and b in zone z1, c in zone z2.
func zoned() []*corev1.Node {
	return []*corev1.Node{
		makeNode("a", "4", "8Gi", 110, nodeLabels("zone", "z1")),
		makeNode("b", "4", "8Gi", 110, nodeLabels("zone", "z1")),
		makeNode("c", "4", "8Gi", 110, nodeLabels("zone", "z2")),
	}
}

// cluster places pods (spec.nodeName set) on node infos for the nodes.
func cluster(nodes []*corev1.Node, pods ...*corev1.Pod) []*nodeInfo {
	var out []*nodeInfo
	for _, n := range nodes {
		ni := newNodeInfo(n.Name)
		ni.setNode(n)
		for _, p := range pods {
			if p.Spec.NodeName == n.Name {
				ni.addPod(newPodInfo(p))
			}
		}
		out = append(out, ni)
	}
	return out
}

func on(node string) func(*corev1.Pod) { return func(p *corev1.Pod) { p.Spec.NodeName = node } }

func podLabels(kv ...string) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		if p.Labels == nil {
			p.Labels = map[string]string{}
		}
		for i := 0; i+1 < len(kv); i += 2 {
			p.Labels[kv[i]] = kv[i+1]
		}
	}
}

func inNamespace(ns string) func(*corev1.Pod) { return func(p *corev1.Pod) { p.Namespace = ns } }

func term(key string, kv ...string) corev1.PodAffinityTerm {
	return corev1.PodAffinityTerm{LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{kv[0]: kv[1]}}, TopologyKey: key}
}

func podAff(required, anti []corev1.PodAffinityTerm, preferred, preferredAnti []corev1.WeightedPodAffinityTerm) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		if p.Spec.Affinity == nil {
			p.Spec.Affinity = &corev1.Affinity{}
		}
		if required != nil || preferred != nil {
			p.Spec.Affinity.PodAffinity = &corev1.PodAffinity{RequiredDuringSchedulingIgnoredDuringExecution: required, PreferredDuringSchedulingIgnoredDuringExecution: preferred}
		}
		if anti != nil || preferredAnti != nil {
			p.Spec.Affinity.PodAntiAffinity = &corev1.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: anti, PreferredDuringSchedulingIgnoredDuringExecution: preferredAnti}
		}
	}
}

// filterAll returns, per node name, the first reason the pod fails there ("" when it fits).
func filterAll(pod *corev1.Pod, infos []*nodeInfo, nsLabels nsLabelsFunc) map[string]string {
	pi := newPendingPodInfo(pod)
	cs := newCycleState(pi, infos, nsLabels)
	out := map[string]string{}
	for _, ni := range infos {
		st := filterNode(pi, ni, cs)
		out[ni.name] = ""
		if r := st.reasons(); len(r) > 0 {
			out[ni.name] = r[0]
		}
	}
	return out
}

func TestInterPodAffinityFilter(t *testing.T) {
	web := podLabels("app", "web")
	db := podLabels("app", "db")
	nsLabels := func(ns string) labels.Set {
		if ns == "prod" {
			return labels.Set{"env": "prod"}
		}
		return nil
	}
	for _, tc := range []struct {
		name string
		pod  *corev1.Pod
		pods []*corev1.Pod
		want map[string]string
	}{
		{name: "no constraints", pod: makePod("p", "", ""), pods: []*corev1.Pod{makePod("x", "", "", web, on("a"))},
			want: map[string]string{"a": "", "b": "", "c": ""}},
		{name: "affinity to a zone with a matching pod",
			pod:  makePod("p", "", "", podAff([]corev1.PodAffinityTerm{term("zone", "app", "db")}, nil, nil, nil)),
			pods: []*corev1.Pod{makePod("x", "", "", db, on("b"))},
			want: map[string]string{"a": "", "b": "", "c": ReasonPodAffinity}},
		{name: "affinity with no match anywhere and no self match",
			pod:  makePod("p", "", "", podAff([]corev1.PodAffinityTerm{term("zone", "app", "db")}, nil, nil, nil)),
			want: map[string]string{"a": ReasonPodAffinity, "b": ReasonPodAffinity, "c": ReasonPodAffinity}},
		{name: "first pod of a group matching its own term",
			pod:  makePod("p", "", "", web, podAff([]corev1.PodAffinityTerm{term("zone", "app", "web")}, nil, nil, nil)),
			want: map[string]string{"a": "", "b": "", "c": ""}},
		{name: "first pod needs the topology key",
			pod:  makePod("p", "", "", web, podAff([]corev1.PodAffinityTerm{term("rack", "app", "web")}, nil, nil, nil)),
			want: map[string]string{"a": ReasonPodAffinity, "b": ReasonPodAffinity, "c": ReasonPodAffinity}},
		{name: "matching pod in another namespace does not count",
			pod:  makePod("p", "", "", podAff([]corev1.PodAffinityTerm{term("zone", "app", "db")}, nil, nil, nil)),
			pods: []*corev1.Pod{makePod("x", "", "", db, on("b"), inNamespace("other"))},
			want: map[string]string{"a": ReasonPodAffinity, "b": ReasonPodAffinity, "c": ReasonPodAffinity}},
		{name: "namespaceSelector selects the pod's namespace",
			pod: makePod("p", "", "", podAff([]corev1.PodAffinityTerm{func() corev1.PodAffinityTerm {
				t := term("zone", "app", "db")
				t.NamespaceSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"env": "prod"}}
				return t
			}()}, nil, nil, nil)),
			pods: []*corev1.Pod{makePod("x", "", "", db, on("c"), inNamespace("prod"))},
			want: map[string]string{"a": ReasonPodAffinity, "b": ReasonPodAffinity, "c": ""}},
		{name: "anti-affinity by zone",
			pod:  makePod("p", "", "", web, podAff(nil, []corev1.PodAffinityTerm{term("zone", "app", "web")}, nil, nil)),
			pods: []*corev1.Pod{makePod("x", "", "", web, on("a"))},
			want: map[string]string{"a": ReasonPodAntiAffinity, "b": ReasonPodAntiAffinity, "c": ""}},
		{name: "anti-affinity by hostname",
			pod:  makePod("p", "", "", web, podAff(nil, []corev1.PodAffinityTerm{term(corev1.LabelHostname, "app", "web")}, nil, nil)),
			pods: []*corev1.Pod{makePod("x", "", "", web, on("a"))},
			want: map[string]string{"a": ReasonPodAntiAffinity, "b": "", "c": ""}},
		{name: "existing pod's anti-affinity",
			pod:  makePod("p", "", "", web),
			pods: []*corev1.Pod{makePod("x", "", "", db, on("c"), podAff(nil, []corev1.PodAffinityTerm{term("zone", "app", "web")}, nil, nil))},
			want: map[string]string{"a": "", "b": "", "c": ReasonExistingAntiAffinity}},
		{name: "matchLabelKeys restricts to the pod's own value",
			pod: makePod("p", "", "", podLabels("app", "web", "rev", "2"), podAff(nil, []corev1.PodAffinityTerm{func() corev1.PodAffinityTerm {
				t := term("zone", "app", "web")
				t.MatchLabelKeys = []string{"rev"}
				return t
			}()}, nil, nil)),
			pods: []*corev1.Pod{makePod("x", "", "", podLabels("app", "web", "rev", "1"), on("a")), makePod("y", "", "", podLabels("app", "web", "rev", "2"), on("c"))},
			want: map[string]string{"a": "", "b": "", "c": ReasonPodAntiAffinity}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := filterAll(tc.pod, cluster(zoned(), tc.pods...), nsLabels)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestInterPodAffinityScore(t *testing.T) {
	web := podLabels("app", "web")
	weighted := func(w int32, tt corev1.PodAffinityTerm) []corev1.WeightedPodAffinityTerm {
		return []corev1.WeightedPodAffinityTerm{{Weight: w, PodAffinityTerm: tt}}
	}
	for _, tc := range []struct {
		name string
		pod  *corev1.Pod
		pods []*corev1.Pod
		want []int64 // a, b, c
	}{
		{name: "nothing to score", pod: makePod("p", "", ""), pods: []*corev1.Pod{makePod("x", "", "", web, on("a"))}, want: []int64{0, 0, 0}},
		{name: "preferred affinity to the zone of a web pod",
			pod:  makePod("p", "", "", podAff(nil, nil, weighted(5, term("zone", "app", "web")), nil)),
			pods: []*corev1.Pod{makePod("x", "", "", web, on("c"))}, want: []int64{0, 0, 100}},
		{name: "preferred anti-affinity away from web pods",
			pod:  makePod("p", "", "", podAff(nil, nil, nil, weighted(5, term("zone", "app", "web")))),
			pods: []*corev1.Pod{makePod("x", "", "", web, on("c"))}, want: []int64{100, 100, 0}},
		{name: "existing pod's required affinity attracts with weight 1",
			pod:  makePod("p", "", "", web),
			pods: []*corev1.Pod{makePod("x", "", "", on("a"), podAff([]corev1.PodAffinityTerm{term(corev1.LabelHostname, "app", "web")}, nil, nil, nil))},
			want: []int64{100, 0, 0}},
		{name: "existing pod's preferred anti-affinity repels",
			pod:  makePod("p", "", "", web),
			pods: []*corev1.Pod{makePod("x", "", "", on("a"), podAff(nil, nil, nil, weighted(10, term("zone", "app", "web"))))},
			want: []int64{0, 0, 100}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			infos := cluster(zoned(), tc.pods...)
			pi := newPendingPodInfo(tc.pod)
			got := make([]int64, len(infos))
			if topo := affinityScores(pi, infos, noNamespaces); topo != nil {
				for i, ni := range infos {
					got[i] = affinityScore(topo, ni.node)
				}
				normalizeAffinityScores(got)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}
