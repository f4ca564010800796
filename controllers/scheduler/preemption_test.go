package scheduler

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

func prio(p int32) func(*corev1.Pod) { return func(pod *corev1.Pod) { pod.Spec.Priority = &p } }

func started(t time.Time) func(*corev1.Pod) {
	return func(p *corev1.Pod) { p.Status.StartTime = &metav1.Time{Time: t} }
}

func names(pods []*podInfo) []string {
	var out []string
	for _, p := range pods {
		out = append(out, p.pod.Name)
	}
	return out
}

func pdb(ns string, allowed int32, kv ...string) policyv1.PodDisruptionBudget {
	return policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "pdb"},
		Spec:       policyv1.PodDisruptionBudgetSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{kv[0]: kv[1]}}},
		Status:     policyv1.PodDisruptionBudgetStatus{DisruptionsAllowed: allowed},
	}
}

func TestSelectVictims(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	node := func() *corev1.Node { return makeNode("n", "4", "8Gi", 110, nodeLabels("zone", "z1")) }
	for _, tc := range []struct {
		name       string
		pod        *corev1.Pod
		pods       []*corev1.Pod
		pdbs       []policyv1.PodDisruptionBudget
		want       []string // victims, most important first; nil for no candidate
		violations int
		reasons    []string
	}{
		{name: "no lower-priority pods", pod: makePod("p", "2", "", prio(10)),
			pods:    []*corev1.Pod{makePod("a", "3", "", prio(10), on("n"))},
			reasons: []string{preemptionNoVictims}},
		{name: "still does not fit without every lower-priority pod", pod: makePod("p", "3", "", prio(10)),
			pods:    []*corev1.Pod{makePod("a", "2", "", prio(100), on("n")), makePod("b", "1", "", prio(1), on("n"))},
			reasons: []string{ReasonCPU}},
		{name: "the lowest priority goes, the more important is reprieved", pod: makePod("p", "2", "", prio(10)),
			pods: []*corev1.Pod{makePod("a", "1", "", prio(5), on("n")), makePod("b", "2", "", prio(1), on("n")), makePod("c", "1", "", prio(100), on("n"))},
			want: []string{"b"}},
		{name: "minimal set: both must go", pod: makePod("p", "4", "", prio(10)),
			pods: []*corev1.Pod{makePod("a", "2", "", prio(5), on("n")), makePod("b", "2", "", prio(1), on("n"))},
			want: []string{"a", "b"}},
		{name: "equal priority: the later started is reprieved first", pod: makePod("p", "2", "", prio(10)),
			pods: []*corev1.Pod{makePod("old", "2", "", prio(1), started(now.Add(-time.Hour)), on("n")), makePod("new", "2", "", prio(1), started(now), on("n"))},
			want: []string{"new"}},
		{name: "a pod protected by a PDB is reprieved before one that is not", pod: makePod("p", "2", "", prio(10)),
			pods: []*corev1.Pod{makePod("guarded", "2", "", prio(1), podLabels("app", "db"), on("n")), makePod("free", "2", "", prio(5), on("n"))},
			pdbs: []policyv1.PodDisruptionBudget{pdb("default", 0, "app", "db")},
			want: []string{"free"}},
		{name: "PDB violation counted when unavoidable", pod: makePod("p", "4", "", prio(10)),
			pods: []*corev1.Pod{makePod("guarded", "2", "", prio(1), podLabels("app", "db"), on("n")), makePod("free", "2", "", prio(5), on("n"))},
			pdbs: []policyv1.PodDisruptionBudget{pdb("default", 0, "app", "db")},
			want: []string{"free", "guarded"}, violations: 1},
		{name: "PDB allowing a disruption is not violated", pod: makePod("p", "4", "", prio(10)),
			pods: []*corev1.Pod{makePod("guarded", "2", "", prio(1), podLabels("app", "db"), on("n")), makePod("free", "2", "", prio(5), on("n"))},
			pdbs: []policyv1.PodDisruptionBudget{pdb("default", 1, "app", "db")},
			want: []string{"free", "guarded"}},
		{name: "anti-affinity of a lower-priority pod is preempted away", pod: makePod("p", "", "", prio(10), podLabels("app", "web")),
			pods: []*corev1.Pod{makePod("hater", "", "", prio(1), on("n"), podAff(nil, []corev1.PodAffinityTerm{term("zone", "app", "web")}, nil, nil)),
				makePod("bystander", "", "", prio(1), on("n"))},
			want: []string{"hater"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			infos := cluster([]*corev1.Node{node()}, tc.pods...)
			pi := newPendingPodInfo(tc.pod)
			cs := newCycleState(pi, infos, noNamespaces)
			before := stateString(cs)
			c, reasons := selectVictims(pi, infos[0], cs, newPDBInfos(tc.pdbs), now)
			if stateString(cs) != before {
				t.Errorf("cycle state not restored")
			}
			if len(infos[0].pods) != len(tc.pods) {
				t.Errorf("node info changed: %d pods", len(infos[0].pods))
			}
			if tc.want == nil {
				if c != nil {
					t.Fatalf("got victims %v, want none", names(c.victims))
				}
				if !reflect.DeepEqual(reasons, tc.reasons) {
					t.Errorf("reasons %v, want %v", reasons, tc.reasons)
				}
				return
			}
			if c == nil {
				t.Fatalf("no candidate: %v", reasons)
			}
			if got := names(c.victims); !reflect.DeepEqual(got, tc.want) || c.violations != tc.violations {
				t.Errorf("victims %v (%d violations), want %v (%d)", got, c.violations, tc.want, tc.violations)
			}
		})
	}
}

func TestPickCandidate(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	victim := func(name string, p int32, start time.Time) *podInfo {
		return newPodInfo(makePod(name, "", "", prio(p), started(start)))
	}
	cand := func(node string, violations int, victims ...*podInfo) *candidate {
		return &candidate{node: newNodeInfo(node), victims: victims, violations: violations}
	}
	for _, tc := range []struct {
		name  string
		cands []*candidate
		want  string
	}{
		{name: "none", want: ""},
		{name: "fewest PDB violations", cands: []*candidate{
			cand("a", 1, victim("x", 1, now)), cand("b", 0, victim("y", 50, now), victim("z", 50, now))}, want: "b"},
		{name: "lowest highest priority", cands: []*candidate{
			cand("a", 0, victim("x", 10, now)), cand("b", 0, victim("y", 5, now), victim("z", 5, now))}, want: "b"},
		{name: "smallest priority sum", cands: []*candidate{
			cand("a", 0, victim("x", 5, now), victim("y", 5, now)), cand("b", 0, victim("z", 5, now), victim("w", 1, now))}, want: "b"},
		{name: "negative priorities still sum by count", cands: []*candidate{
			cand("a", 0, victim("x", -5, now), victim("y", -5, now)), cand("b", 0, victim("z", -5, now))}, want: "b"},
		{name: "fewest victims at equal sums is the sum rule already; latest start breaks ties", cands: []*candidate{
			cand("a", 0, victim("x", 5, now.Add(-time.Hour))), cand("b", 0, victim("y", 5, now))}, want: "b"},
		{name: "first on a full tie", cands: []*candidate{
			cand("a", 0, victim("x", 5, now)), cand("b", 0, victim("y", 5, now))}, want: "a"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := ""
			if c := pickCandidate(tc.cands, now); c != nil {
				got = c.node.name
			}
			if got != tc.want {
				t.Errorf("picked %q, want %q", got, tc.want)
			}
		})
	}
}

func TestPreemptionEligible(t *testing.T) {
	never := corev1.PreemptNever
	terminating := makePod("old", "", "", prio(1), on("n"), func(p *corev1.Pod) { p.DeletionTimestamp = &metav1.Time{} })
	infos := map[string]*nodeInfo{}
	for _, ni := range cluster([]*corev1.Node{makeNode("n", "4", "8Gi", 110)}, terminating) {
		infos[ni.name] = ni
	}
	nominated := func(p *corev1.Pod) { p.Status.NominatedNodeName = "n" }
	for _, tc := range []struct {
		pod  *corev1.Pod
		want string
	}{
		{makePod("p", "", "", prio(10)), ""},
		{makePod("p", "", "", prio(10), func(p *corev1.Pod) { p.Spec.PreemptionPolicy = &never }), preemptionNever},
		{makePod("p", "", "", prio(10), nominated), preemptionTerminating},
		{makePod("p", "", "", prio(1), nominated), ""},
	} {
		if got := preemptionEligible(tc.pod, tc.pod.Status.NominatedNodeName, infos, nil); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.pod.Name, got, tc.want)
		}
	}
	// A victim chosen but not yet marked deleted counts as terminating.
	chosen := makePod("chosen", "", "", prio(1), on("m"))
	infos = map[string]*nodeInfo{}
	for _, ni := range cluster([]*corev1.Node{makeNode("m", "4", "8Gi", 110)}, chosen) {
		infos[ni.name] = ni
	}
	if got := preemptionEligible(makePod("p", "", "", prio(10)), "m", infos, map[types.UID]bool{chosen.UID: true}); got != preemptionTerminating {
		t.Errorf("with a chosen victim: got %q", got)
	}
	if got := preemptionEligible(makePod("p", "", "", prio(10)), "m", infos, nil); got != "" {
		t.Errorf("without: got %q", got)
	}
}

// stateString prints the counts of a cycle state (maps print sorted).
func stateString(cs *cycleState) string {
	out := ""
	if a := cs.affinity; a != nil {
		out += fmt.Sprint(a.existingAnti, a.affinity, a.anti)
	}
	if sp := cs.spread; sp != nil {
		out += fmt.Sprint(sp.counts)
	}
	return out
}
