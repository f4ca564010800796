package scheduler

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func spread(key string, maxSkew int32, when corev1.UnsatisfiableConstraintAction, mods ...func(*corev1.TopologySpreadConstraint)) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		c := corev1.TopologySpreadConstraint{MaxSkew: maxSkew, TopologyKey: key, WhenUnsatisfiable: when,
			LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}}
		for _, m := range mods {
			m(&c)
		}
		p.Spec.TopologySpreadConstraints = append(p.Spec.TopologySpreadConstraints, c)
	}
}

func TestTopologySpreadFilter(t *testing.T) {
	web := podLabels("app", "web")
	nodes := func() []*corev1.Node {
		return append(zoned(), makeNode("d", "4", "8Gi", 110), // no zone label
			makeNode("e", "4", "8Gi", 110, nodeLabels("zone", "z3"), withTaint("dedicated", "x", corev1.TaintEffectNoSchedule)))
	}
	for _, tc := range []struct {
		name string
		pod  *corev1.Pod
		pods []*corev1.Pod
		want map[string]string
	}{
		{name: "empty cluster: every zoned node",
			pod:  makePod("p", "", "", web, spread("zone", 1, corev1.DoNotSchedule)),
			want: map[string]string{"a": "", "b": "", "c": "", "d": ReasonSpreadLabel, "e": "untolerated"}},
		{name: "one pod in z1: z2 and z3 only (taints ignored by default)",
			pod:  makePod("p", "", "", web, spread("zone", 1, corev1.DoNotSchedule)),
			pods: []*corev1.Pod{makePod("x", "", "", web, on("a"))},
			want: map[string]string{"a": ReasonSpread, "b": ReasonSpread, "c": "", "d": ReasonSpreadLabel, "e": "untolerated"}},
		{name: "nodeTaintsPolicy Honor drops z3: z1 with one pod may take one more",
			pod: makePod("p", "", "", web, spread("zone", 1, corev1.DoNotSchedule, func(c *corev1.TopologySpreadConstraint) {
				c.NodeTaintsPolicy = ptr(corev1.NodeInclusionPolicyHonor)
			})),
			pods: []*corev1.Pod{makePod("x", "", "", web, on("a"))},
			want: map[string]string{"a": ReasonSpread, "b": ReasonSpread, "c": "", "d": ReasonSpreadLabel, "e": "untolerated"}},
		{name: "maxSkew 2 allows a second pod in z1",
			pod:  makePod("p", "", "", web, spread("zone", 2, corev1.DoNotSchedule)),
			pods: []*corev1.Pod{makePod("x", "", "", web, on("a"))},
			want: map[string]string{"a": "", "b": "", "c": "", "d": ReasonSpreadLabel, "e": "untolerated"}},
		{name: "pods of other apps and namespaces do not count",
			pod:  makePod("p", "", "", web, spread("zone", 1, corev1.DoNotSchedule)),
			pods: []*corev1.Pod{makePod("x", "", "", podLabels("app", "db"), on("a")), makePod("y", "", "", web, on("a"), inNamespace("other"))},
			want: map[string]string{"a": "", "b": "", "c": "", "d": ReasonSpreadLabel, "e": "untolerated"}},
		{name: "minDomains above the domain count makes the minimum 0",
			pod: makePod("p", "", "", web, spread("zone", 1, corev1.DoNotSchedule, func(c *corev1.TopologySpreadConstraint) {
				c.MinDomains = ptr(int32(5))
			})),
			pods: []*corev1.Pod{makePod("x", "", "", web, on("a")), makePod("y", "", "", web, on("c")), makePod("z", "", "", web, on("e"))},
			want: map[string]string{"a": ReasonSpread, "b": ReasonSpread, "c": ReasonSpread, "d": ReasonSpreadLabel, "e": "untolerated"}},
		{name: "nodeAffinityPolicy Honor counts only nodes the pod may use",
			pod: makePod("p", "", "", web, spread("zone", 1, corev1.DoNotSchedule), func(p *corev1.Pod) {
				p.Spec.NodeSelector = map[string]string{"zone": "z1"}
			}),
			pods: []*corev1.Pod{makePod("x", "", "", web, on("a"))},
			want: map[string]string{"a": "", "b": "", "c": ReasonNodeAffinity, "d": ReasonNodeAffinity, "e": "untolerated"}},
		{name: "matchLabelKeys counts only the same revision",
			pod: makePod("p", "", "", podLabels("app", "web", "rev", "2"), spread("zone", 1, corev1.DoNotSchedule, func(c *corev1.TopologySpreadConstraint) {
				c.MatchLabelKeys = []string{"rev"}
			})),
			pods: []*corev1.Pod{makePod("x", "", "", podLabels("app", "web", "rev", "1"), on("a")), makePod("y", "", "", podLabels("app", "web", "rev", "2"), on("c"))},
			want: map[string]string{"a": "", "b": "", "c": ReasonSpread, "d": ReasonSpreadLabel, "e": "untolerated"}},
		{name: "ScheduleAnyway does not filter",
			pod:  makePod("p", "", "", web, spread("zone", 1, corev1.ScheduleAnyway)),
			pods: []*corev1.Pod{makePod("x", "", "", web, on("a")), makePod("y", "", "", web, on("b"))},
			want: map[string]string{"a": "", "b": "", "c": "", "d": "", "e": "untolerated"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := filterAll(tc.pod, cluster(nodes(), tc.pods...), noNamespaces)
			if got["e"] == "node(s) had untolerated taint {dedicated: x}" {
				got["e"] = "untolerated"
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestTopologySpreadScore(t *testing.T) {
	web := podLabels("app", "web")
	for _, tc := range []struct {
		name string
		pod  *corev1.Pod
		pods []*corev1.Pod
		want []int64 // a, b, c, d
	}{
		{name: "no soft constraint", pod: makePod("p", "", "", web), want: nil},
		{name: "zone with fewer pods scores higher, unlabeled node 0",
			pod:  makePod("p", "", "", web, spread("zone", 1, corev1.ScheduleAnyway)),
			pods: []*corev1.Pod{makePod("x", "", "", web, on("a")), makePod("y", "", "", web, on("b"))},
			want: []int64{0, 0, 100, 0}},
		{name: "hostname spreading",
			pod:  makePod("p", "", "", web, spread(corev1.LabelHostname, 1, corev1.ScheduleAnyway)),
			pods: []*corev1.Pod{makePod("x", "", "", web, on("a")), makePod("y", "", "", web, on("a")), makePod("z", "", "", web, on("b"))},
			want: []int64{0, 50, 100, 100}},
		{name: "empty cluster: all equal",
			pod:  makePod("p", "", "", web, spread("zone", 1, corev1.ScheduleAnyway)),
			want: []int64{100, 100, 100, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			infos := cluster(append(zoned(), makeNode("d", "4", "8Gi", 110)), tc.pods...)
			got := spreadScores(newPendingPodInfo(tc.pod), infos, infos)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}
