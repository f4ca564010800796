package nodelifecycle

import (
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	toolscache "k8s.io/client-go/tools/cache"
)

func nodeWith(ready corev1.ConditionStatus, mods ...func(*corev1.Node)) *corev1.Node {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n"}}
	if ready != "" {
		n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: ready, Reason: "KubeletReady"}}
	}
	for _, m := range mods {
		m(n)
	}
	return n
}

func TestMarkUnknown(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	n := nodeWith(corev1.ConditionTrue, func(n *corev1.Node) {
		n.Status.Conditions = append(n.Status.Conditions, corev1.NodeCondition{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse})
	})
	if !markUnknown(n, now) {
		t.Fatal("markUnknown reported no change")
	}
	want := map[corev1.NodeConditionType]string{
		corev1.NodeReady:          ReasonNodeStatusUnknown,
		corev1.NodeMemoryPressure: ReasonNodeStatusUnknown,
		corev1.NodeDiskPressure:   ReasonNodeStatusNeverUpdated,
		corev1.NodePIDPressure:    ReasonNodeStatusNeverUpdated,
	}
	for typ, reason := range want {
		c := condition(n, typ)
		if c == nil || c.Status != corev1.ConditionUnknown || c.Reason != reason || !c.LastTransitionTime.Time.Equal(now) {
			t.Errorf("%s = %+v, want Unknown/%s", typ, c, reason)
		}
	}
	if c := condition(n, corev1.NodeReady); c.Message != "Kubelet stopped posting node status." {
		t.Errorf("Ready message %q", c.Message)
	}
	if markUnknown(n, now.Add(time.Minute)) {
		t.Error("second markUnknown changed the node")
	}
}

func TestReconcileTaints(t *testing.T) {
	now := time.Now()
	other := corev1.Taint{Key: "dedicated", Value: "x", Effect: corev1.TaintEffectNoSchedule}
	tests := []struct {
		name    string
		node    *corev1.Node
		want    []string
		changed bool
	}{
		{name: "ready, nothing", node: nodeWith(corev1.ConditionTrue)},
		{name: "no Ready condition yet", node: nodeWith("")},
		{name: "unknown", node: nodeWith(corev1.ConditionUnknown), changed: true,
			want: []string{TaintUnreachable + ":NoSchedule", TaintUnreachable + ":NoExecute"}},
		{name: "not ready keeps other taints", node: nodeWith(corev1.ConditionFalse, func(n *corev1.Node) { n.Spec.Taints = []corev1.Taint{other} }), changed: true,
			want: []string{"dedicated=x:NoSchedule", TaintNotReady + ":NoSchedule", TaintNotReady + ":NoExecute"}},
		{name: "recovered drops managed taints", node: nodeWith(corev1.ConditionTrue, func(n *corev1.Node) {
			n.Spec.Taints = []corev1.Taint{{Key: TaintUnreachable, Effect: corev1.TaintEffectNoExecute}, other, {Key: TaintUnreachable, Effect: corev1.TaintEffectNoSchedule}}
		}), changed: true, want: []string{"dedicated=x:NoSchedule"}},
		{name: "unreachable becomes not-ready", node: nodeWith(corev1.ConditionFalse, func(n *corev1.Node) {
			n.Spec.Taints = []corev1.Taint{{Key: TaintUnreachable, Effect: corev1.TaintEffectNoExecute}, {Key: TaintUnreachable, Effect: corev1.TaintEffectNoSchedule}}
		}), changed: true, want: []string{TaintNotReady + ":NoSchedule", TaintNotReady + ":NoExecute"}},
		{name: "already right", node: nodeWith(corev1.ConditionUnknown, func(n *corev1.Node) {
			n.Spec.Taints = []corev1.Taint{{Key: TaintUnreachable, Effect: corev1.TaintEffectNoExecute}, {Key: TaintUnreachable, Effect: corev1.TaintEffectNoSchedule}}
		}), want: []string{TaintUnreachable + ":NoExecute", TaintUnreachable + ":NoSchedule"}},
		{name: "pressure and unschedulable", node: nodeWith(corev1.ConditionTrue, func(n *corev1.Node) {
			n.Spec.Unschedulable = true
			n.Status.Conditions = append(n.Status.Conditions, corev1.NodeCondition{Type: corev1.NodeDiskPressure, Status: corev1.ConditionTrue})
		}), changed: true, want: []string{TaintDiskPressure + ":NoSchedule", TaintUnschedulable + ":NoSchedule"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, changed := reconcileTaints(tc.node, now)
			if changed != tc.changed {
				t.Errorf("changed = %v, want %v", changed, tc.changed)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("taints = %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i].ToString() != tc.want[i] {
					t.Fatalf("taints = %v, want %v", got, tc.want)
				}
				if tc.changed && got[i].Effect == corev1.TaintEffectNoExecute && got[i].TimeAdded == nil {
					t.Errorf("NoExecute taint without TimeAdded")
				}
			}
		})
	}
}

func TestTolerationTime(t *testing.T) {
	unreachable := []corev1.Taint{{Key: TaintUnreachable, Effect: corev1.TaintEffectNoExecute}}
	secs := func(s int64) *int64 { return &s }
	tol := func(key string, s *int64) corev1.Toleration {
		return corev1.Toleration{Key: key, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: s}
	}
	tests := []struct {
		name        string
		taints      []corev1.Taint
		tolerations []corev1.Toleration
		wait        time.Duration
		forever     bool
	}{
		{name: "no taints", forever: true},
		{name: "not tolerated", taints: unreachable},
		{name: "other key tolerated only", taints: unreachable, tolerations: []corev1.Toleration{tol(TaintNotReady, nil)}},
		{name: "forever", taints: unreachable, tolerations: []corev1.Toleration{tol(TaintUnreachable, nil)}, forever: true},
		{name: "default 300s", taints: unreachable, tolerations: []corev1.Toleration{tol(TaintNotReady, secs(300)), tol(TaintUnreachable, secs(300))}, wait: 300 * time.Second},
		{name: "zero seconds", taints: unreachable, tolerations: []corev1.Toleration{tol(TaintUnreachable, secs(0))}},
		{name: "minimum over taints", taints: append([]corev1.Taint{{Key: "b", Effect: corev1.TaintEffectNoExecute}}, unreachable...),
			tolerations: []corev1.Toleration{tol("b", secs(60)), tol(TaintUnreachable, secs(30))}, wait: 30 * time.Second},
		{name: "one taint untolerated", taints: append([]corev1.Taint{{Key: "b", Effect: corev1.TaintEffectNoExecute}}, unreachable...),
			tolerations: []corev1.Toleration{tol(TaintUnreachable, nil)}},
		{name: "wildcard", taints: unreachable, tolerations: []corev1.Toleration{{Operator: corev1.TolerationOpExists}}, forever: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wait, forever := tolerationTime(tc.taints, tc.tolerations)
			if wait != tc.wait || forever != tc.forever {
				t.Errorf("got (%v, %v), want (%v, %v)", wait, forever, tc.wait, tc.forever)
			}
		})
	}
}

func TestTerminatedPodsToDelete(t *testing.T) {
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	pod := func(name string, age int, phase corev1.PodPhase, reason string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: metav1.NewTime(base.Add(time.Duration(age) * time.Minute))},
			Status: corev1.PodStatus{Phase: phase, Reason: reason}}
	}
	deleting := pod("deleting", 0, corev1.PodSucceeded, "")
	deleting.DeletionTimestamp = &metav1.Time{Time: base}
	pods := []*corev1.Pod{
		pod("running", 0, corev1.PodRunning, ""),
		pod("old-ok", 1, corev1.PodSucceeded, ""),
		pod("new-failed", 5, corev1.PodFailed, ""),
		pod("evicted", 9, corev1.PodFailed, "Evicted"),
		pod("mid-ok", 3, corev1.PodSucceeded, ""),
		deleting,
	}
	for _, tt := range []struct {
		threshold int
		want      string
	}{
		{0, "[]"}, {4, "[]"}, {10, "[]"},
		{3, "[evicted]"},
		{1, "[evicted old-ok mid-ok]"},
	} {
		var got []string
		for _, p := range TerminatedPodsToDelete(pods, tt.threshold) {
			got = append(got, p.Name)
		}
		if s := fmt.Sprint(got); s != tt.want && !(tt.want == "[]" && len(got) == 0) {
			t.Errorf("threshold %d: %s, want %s", tt.threshold, s, tt.want)
		}
	}
}

func TestOfType(t *testing.T) {
	a := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "a"}}
	b := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "b"}}
	store := toolscache.NewStore(toolscache.MetaNamespaceKeyFunc)
	for _, o := range []any{a, b, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n"}}} {
		if err := store.Add(o); err != nil {
			t.Fatal(err)
		}
	}
	pods := ofType[corev1.Pod](store.List())
	if len(pods) != 2 {
		t.Fatalf("got %d pods, want 2 (the Node left out)", len(pods))
	}
	for _, p := range pods {
		if p != a && p != b {
			t.Errorf("pod %s is a copy, want the store's object", p.Name)
		}
	}
}
