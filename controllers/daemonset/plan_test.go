package daemonset

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

func node(name string, labels map[string]string, taints ...corev1.Taint) *corev1.Node {
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}, Spec: corev1.NodeSpec{Taints: taints}}
}

func taint(key string, effect corev1.TaintEffect) corev1.Taint {
	return corev1.Taint{Key: key, Effect: effect}
}

// newDS is a RollingUpdate DaemonSet with maxUnavailable 1 (the defaults).
func newDS(mutate ...func(*appsv1.DaemonSet)) *appsv1.DaemonSet {
	ds := &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: "ds", Namespace: "ns", UID: "ds-uid", Annotations: map[string]string{TemplateGenerationAnnotation: "2"}},
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "ds"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "ds"}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}},
			UpdateStrategy: appsv1.DaemonSetUpdateStrategy{Type: appsv1.RollingUpdateDaemonSetStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDaemonSet{MaxUnavailable: ptr.To(intstr.FromInt32(1)), MaxSurge: ptr.To(intstr.FromInt32(0))}},
		},
	}
	for _, m := range mutate {
		m(ds)
	}
	return ds
}

func surge(n int32) func(*appsv1.DaemonSet) {
	return func(ds *appsv1.DaemonSet) {
		ds.Spec.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateDaemonSet{MaxUnavailable: ptr.To(intstr.FromInt32(0)), MaxSurge: ptr.To(intstr.FromInt32(n))}
	}
}

func unavailable(v intstr.IntOrString) func(*appsv1.DaemonSet) {
	return func(ds *appsv1.DaemonSet) { ds.Spec.UpdateStrategy.RollingUpdate.MaxUnavailable = &v }
}

// pod options
type podOpt func(*corev1.Pod)

func ready(since time.Time) podOpt {
	return func(p *corev1.Pod) {
		p.Status.Phase = corev1.PodRunning
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(since)}}
	}
}

func phase(ph corev1.PodPhase) podOpt { return func(p *corev1.Pod) { p.Status.Phase = ph } }
func deleting(p *corev1.Pod)          { p.DeletionTimestamp = &metav1.Time{Time: t0} }
func created(at time.Time) podOpt {
	return func(p *corev1.Pod) { p.CreationTimestamp = metav1.NewTime(at) }
}
func unscheduled(p *corev1.Pod) {
	p.Spec.Affinity = ReplaceDaemonSetPodNodeNameNodeAffinity(nil, p.Spec.NodeName)
	p.Spec.NodeName = ""
}

// dsPod is a pod of revision hash on nodeName.
func dsPod(name, nodeName, hash string, opts ...podOpt) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", CreationTimestamp: metav1.NewTime(t0.Add(-time.Hour)),
		Labels: map[string]string{"app": "ds", appsv1.DefaultDaemonSetUniqueLabelKey: hash}}, Spec: corev1.PodSpec{NodeName: nodeName}}
	for _, o := range opts {
		o(p)
	}
	return p
}

func group(pods ...*corev1.Pod) NodePods { return GroupByNode(pods, false) }

func sorted(s []string) string {
	s = slices.Clone(s)
	slices.Sort(s)
	return strings.Join(s, ",")
}

func TestNodeShouldRunDaemonPod(t *testing.T) {
	withSelector := func(ds *appsv1.DaemonSet) { ds.Spec.Template.Spec.NodeSelector = map[string]string{"disk": "ssd"} }
	withAffinity := func(ds *appsv1.DaemonSet) {
		ds.Spec.Template.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
			NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "zone", Operator: corev1.NodeSelectorOpIn, Values: []string{"a"}}}}}}}}
	}
	tolerating := func(ds *appsv1.DaemonSet) {
		ds.Spec.Template.Spec.Tolerations = []corev1.Toleration{{Key: "dedicated", Operator: corev1.TolerationOpExists}}
	}
	hostNetwork := func(ds *appsv1.DaemonSet) { ds.Spec.Template.Spec.HostNetwork = true }
	nodeName := func(ds *appsv1.DaemonSet) { ds.Spec.Template.Spec.NodeName = "other" }
	tests := []struct {
		name                      string
		ds                        *appsv1.DaemonSet
		node                      *corev1.Node
		shouldRun, shouldContinue bool
	}{
		{"plain node", newDS(), node("n", nil), true, true},
		{"nodeSelector matches", newDS(withSelector), node("n", map[string]string{"disk": "ssd"}), true, true},
		{"nodeSelector does not match", newDS(withSelector), node("n", map[string]string{"disk": "hdd"}), false, false},
		{"required affinity matches", newDS(withAffinity), node("n", map[string]string{"zone": "a"}), true, true},
		{"required affinity does not match", newDS(withAffinity), node("n", map[string]string{"zone": "b"}), false, false},
		{"template nodeName elsewhere", newDS(nodeName), node("n", nil), false, false},
		{"untolerated NoSchedule: keep running", newDS(), node("n", nil, taint("dedicated", corev1.TaintEffectNoSchedule)), false, true},
		{"untolerated NoExecute: evict", newDS(), node("n", nil, taint("dedicated", corev1.TaintEffectNoExecute)), false, false},
		{"tolerated taint", newDS(tolerating), node("n", nil, taint("dedicated", corev1.TaintEffectNoExecute)), true, true},
		{"PreferNoSchedule ignored", newDS(), node("n", nil, taint("dedicated", corev1.TaintEffectPreferNoSchedule)), true, true},
		{"not-ready tolerated", newDS(), node("n", nil, taint(corev1.TaintNodeNotReady, corev1.TaintEffectNoExecute)), true, true},
		{"unreachable tolerated", newDS(), node("n", nil, taint(corev1.TaintNodeUnreachable, corev1.TaintEffectNoExecute)), true, true},
		{"unschedulable tolerated", newDS(), node("n", nil, taint(corev1.TaintNodeUnschedulable, corev1.TaintEffectNoSchedule)), true, true},
		{"memory pressure tolerated", newDS(), node("n", nil, taint(corev1.TaintNodeMemoryPressure, corev1.TaintEffectNoSchedule)), true, true},
		{"disk pressure tolerated", newDS(), node("n", nil, taint(corev1.TaintNodeDiskPressure, corev1.TaintEffectNoSchedule)), true, true},
		{"pid pressure tolerated", newDS(), node("n", nil, taint(corev1.TaintNodePIDPressure, corev1.TaintEffectNoSchedule)), true, true},
		{"network unavailable, pod network", newDS(), node("n", nil, taint(corev1.TaintNodeNetworkUnavailable, corev1.TaintEffectNoSchedule)), false, true},
		{"network unavailable, host network", newDS(hostNetwork), node("n", nil, taint(corev1.TaintNodeNetworkUnavailable, corev1.TaintEffectNoSchedule)), true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run, cont := NodeShouldRunDaemonPod(tt.node, tt.ds)
			if run != tt.shouldRun || cont != tt.shouldContinue {
				t.Errorf("NodeShouldRunDaemonPod = %v, %v; want %v, %v", run, cont, tt.shouldRun, tt.shouldContinue)
			}
		})
	}
}

func TestAddOrUpdateDaemonPodTolerations(t *testing.T) {
	spec := &corev1.PodSpec{Tolerations: []corev1.Toleration{
		{Key: corev1.TaintNodeNotReady, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr.To[int64](300)},
		{Key: "mine", Operator: corev1.TolerationOpExists},
	}}
	AddOrUpdateDaemonPodTolerations(spec)
	AddOrUpdateDaemonPodTolerations(spec) // idempotent
	if len(spec.Tolerations) != 7 {
		t.Fatalf("%d tolerations, want 7 (mine and the six daemon ones): %+v", len(spec.Tolerations), spec.Tolerations)
	}
	if spec.Tolerations[0].TolerationSeconds != nil {
		t.Errorf("not-ready toleration keeps a time limit: %+v", spec.Tolerations[0])
	}
	spec.HostNetwork = true
	AddOrUpdateDaemonPodTolerations(spec)
	if last := spec.Tolerations[len(spec.Tolerations)-1]; len(spec.Tolerations) != 8 || last.Key != corev1.TaintNodeNetworkUnavailable {
		t.Errorf("host network: tolerations %+v", spec.Tolerations)
	}
}

func TestReplaceDaemonSetPodNodeNameNodeAffinity(t *testing.T) {
	want := corev1.NodeSelectorTerm{MatchFields: []corev1.NodeSelectorRequirement{{Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: []string{"n1"}}}}
	preferred := []corev1.PreferredSchedulingTerm{{Weight: 1, Preference: corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "a", Operator: corev1.NodeSelectorOpExists}}}}}
	tests := []struct {
		name string
		in   *corev1.Affinity
	}{
		{"nil", nil},
		{"pod affinity only", &corev1.Affinity{PodAffinity: &corev1.PodAffinity{}}},
		{"preferred only", &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{PreferredDuringSchedulingIgnoredDuringExecution: preferred}}},
		{"required replaced", &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
			NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "zone", Operator: corev1.NodeSelectorOpExists}}}}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := ReplaceDaemonSetPodNodeNameNodeAffinity(tt.in.DeepCopy(), "n1")
			terms := out.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms
			if len(terms) != 1 || terms[0].MatchFields[0].Values[0] != want.MatchFields[0].Values[0] || terms[0].MatchFields[0].Key != "metadata.name" {
				t.Errorf("terms = %+v", terms)
			}
			if tt.in != nil && tt.in.NodeAffinity != nil && len(tt.in.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution) != len(out.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution) {
				t.Errorf("preferred terms lost")
			}
			if tt.in != nil && tt.in.PodAffinity != nil && out.PodAffinity == nil {
				t.Errorf("pod affinity lost")
			}
			pod := &corev1.Pod{Spec: corev1.PodSpec{Affinity: out}}
			if n, err := TargetNodeName(pod); err != nil || n != "n1" {
				t.Errorf("TargetNodeName = %q, %v", n, err)
			}
		})
	}
}

func TestIsPodUpdated(t *testing.T) {
	gen := ptr.To[int64](3)
	withGen := func(g string) podOpt { return func(p *corev1.Pod) { p.Labels[TemplateGenerationLabel] = g } }
	tests := []struct {
		name string
		pod  *corev1.Pod
		hash string
		gen  *int64
		want bool
	}{
		{"hash matches", dsPod("p", "n", "h1"), "h1", nil, true},
		{"hash differs", dsPod("p", "n", "h0"), "h1", nil, false},
		{"generation matches", dsPod("p", "n", "h0", withGen("3")), "h1", gen, true},
		{"generation differs", dsPod("p", "n", "h0", withGen("2")), "h1", gen, false},
		{"empty hash never matches", dsPod("p", "n", ""), "", nil, false},
	}
	for _, tt := range tests {
		if got := IsPodUpdated(tt.pod, tt.hash, tt.gen); got != tt.want {
			t.Errorf("%s: IsPodUpdated = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestPlanManage(t *testing.T) {
	nodes := []*corev1.Node{node("n1", nil), node("n2", nil), node("n3", map[string]string{"role": "db"}, taint("dedicated", corev1.TaintEffectNoExecute))}
	up := ready(t0.Add(-time.Hour))
	tests := []struct {
		name        string
		ds          *appsv1.DaemonSet
		pods        []*corev1.Pod
		create, del string
		failed      string
	}{
		{"empty cluster gets a pod per eligible node", newDS(), nil, "n1,n2", "", ""},
		{"nothing to do", newDS(), []*corev1.Pod{dsPod("a", "n1", "h", up), dsPod("b", "n2", "h", up)}, "", "", ""},
		{"pod on a node with an untolerated NoExecute taint goes", newDS(), []*corev1.Pod{dsPod("a", "n1", "h"), dsPod("b", "n2", "h"), dsPod("c", "n3", "h")}, "", "c", ""},
		{"duplicates: the oldest stays", newDS(), []*corev1.Pod{dsPod("a", "n1", "h", created(t0.Add(-2*time.Hour))), dsPod("young", "n1", "h", created(t0)), dsPod("b", "n2", "h")}, "", "young", ""},
		{"failed pod is handed to back-off, succeeded pod deleted", newDS(), []*corev1.Pod{dsPod("f", "n1", "h", phase(corev1.PodFailed)), dsPod("s", "n2", "h", phase(corev1.PodSucceeded))}, "", "s", "f"},
		{"deleting pod: wait", newDS(), []*corev1.Pod{dsPod("a", "n1", "h", deleting), dsPod("b", "n2", "h")}, "", "", ""},
		{"unscheduled pod for a vanished node goes", newDS(), []*corev1.Pod{dsPod("a", "n1", "h"), dsPod("b", "n2", "h"), dsPod("ghost", "gone", "h", unscheduled)}, "", "ghost", ""},
		{"surge: two pods stay while the new one is not available", newDS(surge(1)), []*corev1.Pod{dsPod("old", "n1", "h0", up), dsPod("new", "n1", "h"), dsPod("b", "n2", "h", up)}, "", "", ""},
		{"surge: old pod goes when the new one is available", newDS(surge(1)), []*corev1.Pod{dsPod("old", "n1", "h0", up), dsPod("new", "n1", "h", up), dsPod("b", "n2", "h", up)}, "", "old", ""},
		{"surge: old pod goes when it is not ready", newDS(surge(1)), []*corev1.Pod{dsPod("old", "n1", "h0"), dsPod("new", "n1", "h"), dsPod("b", "n2", "h", up)}, "", "old", ""},
		{"surge: a node whose only pod is deleting gets a new one", newDS(surge(1)), []*corev1.Pod{dsPod("a", "n1", "h", deleting), dsPod("b", "n2", "h", up)}, "n1", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan := PlanManage(tt.ds, nodes, group(tt.pods...), "h", t0)
			var failed []string
			for _, f := range plan.Failed {
				failed = append(failed, f.Pod.Name)
			}
			if got := sorted(plan.NodesNeedingPods); got != tt.create {
				t.Errorf("create on %q, want %q", got, tt.create)
			}
			if got := sorted(plan.PodsToDelete); got != tt.del {
				t.Errorf("delete %q, want %q", got, tt.del)
			}
			if got := sorted(failed); got != tt.failed {
				t.Errorf("failed %q, want %q", got, tt.failed)
			}
		})
	}
}

func TestPlanRollingUpdate(t *testing.T) {
	nodes := []*corev1.Node{node("n1", nil), node("n2", nil), node("n3", nil), node("n4", nil)}
	up := ready(t0.Add(-time.Hour))
	justUp := ready(t0.Add(-time.Second))
	minReady := func(ds *appsv1.DaemonSet) { ds.Spec.MinReadySeconds = 10 }
	old := func(name, n string, opts ...podOpt) *corev1.Pod { return dsPod(name, n, "h0", opts...) }
	cur := func(name, n string, opts ...podOpt) *corev1.Pod { return dsPod(name, n, "h1", opts...) }
	tests := []struct {
		name        string
		ds          *appsv1.DaemonSet
		pods        []*corev1.Pod
		del, create string
	}{
		{"maxUnavailable 1: one old pod at a time", newDS(),
			[]*corev1.Pod{old("a", "n1", up), old("b", "n2", up), old("c", "n3", up), old("d", "n4", up)}, "a", ""},
		{"maxUnavailable 1: wait while a new pod is not available", newDS(),
			[]*corev1.Pod{cur("a", "n1"), old("b", "n2", up), old("c", "n3", up), old("d", "n4", up)}, "", ""},
		{"maxUnavailable 1: next once the new pod is available", newDS(),
			[]*corev1.Pod{cur("a", "n1", up), old("b", "n2", up), old("c", "n3", up), old("d", "n4", up)}, "b", ""},
		{"minReadySeconds: ready is not yet available", newDS(minReady),
			[]*corev1.Pod{cur("a", "n1", justUp), old("b", "n2", up), old("c", "n3", up), old("d", "n4", up)}, "", ""},
		{"a node without a pod counts as unavailable", newDS(),
			[]*corev1.Pod{old("b", "n2", up), old("c", "n3", up), old("d", "n4", up)}, "", ""},
		{"unavailable old pods always go", newDS(),
			[]*corev1.Pod{old("a", "n1"), old("b", "n2"), old("c", "n3", up), old("d", "n4", up)}, "a,b", ""},
		{"maxUnavailable 50%: two at a time", newDS(unavailable(intstr.FromString("50%"))),
			[]*corev1.Pod{old("a", "n1", up), old("b", "n2", up), old("c", "n3", up), old("d", "n4", up)}, "a,b", ""},
		{"done", newDS(), []*corev1.Pod{cur("a", "n1", up), cur("b", "n2", up), cur("c", "n3", up), cur("d", "n4", up)}, "", ""},
		{"surge 1: a new pod beside an old one", newDS(surge(1)),
			[]*corev1.Pod{old("a", "n1", up), old("b", "n2", up), old("c", "n3", up), old("d", "n4", up)}, "", "n1"},
		{"surge 1: wait for the new pod", newDS(surge(1)),
			[]*corev1.Pod{old("a", "n1", up), cur("a2", "n1"), old("b", "n2", up), old("c", "n3", up), old("d", "n4", up)}, "", ""},
		{"surge 1: old goes when new is available, next node surges", newDS(surge(1)),
			[]*corev1.Pod{old("a", "n1", up), cur("a2", "n1", up), old("b", "n2", up), old("c", "n3", up), old("d", "n4", up)}, "a", "n2"},
		{"surge 1: unavailable old pods get a new one at once", newDS(surge(1)),
			[]*corev1.Pod{old("a", "n1"), old("b", "n2"), old("c", "n3", up), old("d", "n4", up)}, "", "n1,n2,n3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan, err := PlanRollingUpdate(tt.ds, nodes, group(tt.pods...), "h1", t0)
			if err != nil {
				t.Fatal(err)
			}
			if got := sorted(plan.PodsToDelete); got != tt.del {
				t.Errorf("delete %q, want %q", got, tt.del)
			}
			if got := sorted(plan.NodesToCreate); got != tt.create {
				t.Errorf("create on %q, want %q", got, tt.create)
			}
		})
	}
}

func TestCalculateStatus(t *testing.T) {
	nodes := []*corev1.Node{node("n1", nil), node("n2", nil), node("n3", nil), node("n4", nil, taint("x", corev1.TaintEffectNoSchedule))}
	up := ready(t0.Add(-time.Hour))
	justUp := ready(t0.Add(-time.Second))
	minReady := func(ds *appsv1.DaemonSet) { ds.Spec.MinReadySeconds = 10 }
	tests := []struct {
		name string
		ds   *appsv1.DaemonSet
		pods []*corev1.Pod
		want appsv1.DaemonSetStatus
	}{
		{"nothing yet", newDS(), nil, appsv1.DaemonSetStatus{DesiredNumberScheduled: 3, NumberUnavailable: 3}},
		{"mid rollout", newDS(minReady), []*corev1.Pod{
			dsPod("a", "n1", "h1", up), dsPod("b", "n2", "h0", up), dsPod("c", "n3", "h1", justUp), dsPod("d", "n4", "h0", up),
		}, appsv1.DaemonSetStatus{DesiredNumberScheduled: 3, CurrentNumberScheduled: 3, NumberReady: 3, NumberAvailable: 2,
			UpdatedNumberScheduled: 2, NumberMisscheduled: 1, NumberUnavailable: 1}},
		{"the oldest pod of a node counts", newDS(), []*corev1.Pod{
			dsPod("old", "n1", "h0", up, created(t0.Add(-2*time.Hour))), dsPod("new", "n1", "h1", up, created(t0)),
		}, appsv1.DaemonSetStatus{DesiredNumberScheduled: 3, CurrentNumberScheduled: 1, NumberReady: 1, NumberAvailable: 1, NumberUnavailable: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CalculateStatus(tt.ds, nodes, group(tt.pods...), "h1", t0); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("status\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestRevisionsToDelete(t *testing.T) {
	rev := func(name string, n int64, hash string) *appsv1.ControllerRevision {
		return &appsv1.ControllerRevision{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{appsv1.DefaultDaemonSetUniqueLabelKey: hash}}, Revision: n}
	}
	old := []*appsv1.ControllerRevision{rev("r3", 3, "h3"), rev("r1", 1, "h1"), rev("r2", 2, "h2"), rev("r4", 4, "h4")}
	tests := []struct {
		name   string
		pods   []*corev1.Pod
		toKill int
		want   string
	}{
		{"oldest first", nil, 2, "r1,r2"},
		{"revisions of live pods stay", []*corev1.Pod{dsPod("p", "n1", "h1")}, 2, "r2,r3"},
		{"a deleting terminal pod still counts", []*corev1.Pod{dsPod("p", "n1", "h2", phase(corev1.PodFailed), deleting)}, 1, "r1"},
		{"none", nil, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var names []string
			for _, cr := range RevisionsToDelete(old, GroupByNode(tt.pods, true), tt.toKill) {
				names = append(names, cr.Name)
			}
			if got := strings.Join(names, ","); got != tt.want {
				t.Errorf("delete %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPatchAndMatch(t *testing.T) {
	ds := newDS()
	patch, err := Patch(ds)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(patch), `{"spec":{"template":{"$patch":"replace","metadata":`) {
		t.Errorf("patch = %s", patch)
	}
	cr := &appsv1.ControllerRevision{}
	cr.Data.Raw = patch
	other := newDS(func(ds *appsv1.DaemonSet) { ds.Spec.Template.Spec.Containers[0].Image = "nginx" })
	if ok, _ := Match(ds, cr); !ok {
		t.Errorf("Match(same template) = false")
	}
	if ok, _ := Match(other, cr); ok {
		t.Errorf("Match(other template) = true")
	}
	statusOnly := ds.DeepCopy()
	statusOnly.Status.NumberReady = 4
	statusOnly.Spec.MinReadySeconds = 9
	if ok, _ := Match(statusOnly, cr); !ok {
		t.Errorf("Match depends on more than the template")
	}
}
