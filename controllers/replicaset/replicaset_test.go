package replicaset

import (
	"errors"
	"fmt"
	"sort"
	"sync/atomic"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
)

var t0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

type podOpt func(*corev1.Pod)

func pod(name string, opts ...podOpt) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID(name), CreationTimestamp: metav1.NewTime(t0)},
		Status: corev1.PodStatus{Phase: corev1.PodRunning}}
	for _, o := range opts {
		o(p)
	}
	return p
}

func onNode(n string) podOpt          { return func(p *corev1.Pod) { p.Spec.NodeName = n } }
func phase(ph corev1.PodPhase) podOpt { return func(p *corev1.Pod) { p.Status.Phase = ph } }
func created(d time.Duration) podOpt {
	return func(p *corev1.Pod) { p.CreationTimestamp = metav1.NewTime(t0.Add(d)) }
}
func restarts(n int32) podOpt {
	return func(p *corev1.Pod) { p.Status.ContainerStatuses = []corev1.ContainerStatus{{RestartCount: n}} }
}
func cost(v string) podOpt {
	return func(p *corev1.Pod) { p.Annotations = map[string]string{PodDeletionCostAnnotation: v} }
}
func readySince(d time.Duration) podOpt {
	return func(p *corev1.Pod) {
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(t0.Add(d))}}
	}
}

func TestDeletionRanking(t *testing.T) {
	now := metav1.NewTime(t0.Add(time.Hour))
	cases := []struct {
		name   string
		first  *corev1.Pod // should be deleted before second
		second *corev1.Pod
		ranks  [2]int
		now    metav1.Time
	}{
		{"unscheduled before scheduled", pod("a", phase(corev1.PodPending)), pod("b", onNode("n1"), phase(corev1.PodPending)), [2]int{}, now},
		{"pending before unknown", pod("a", onNode("n"), phase(corev1.PodPending)), pod("b", onNode("n"), phase(corev1.PodUnknown)), [2]int{}, now},
		{"unknown before running", pod("a", onNode("n"), phase(corev1.PodUnknown)), pod("b", onNode("n")), [2]int{}, now},
		{"not ready before ready", pod("a", onNode("n")), pod("b", onNode("n"), readySince(0)), [2]int{}, now},
		{"lower deletion cost first", pod("a", onNode("n"), cost("-5")), pod("b", onNode("n")), [2]int{}, now},
		{"doubled up first", pod("a", onNode("n")), pod("b", onNode("m")), [2]int{3, 1}, now},
		{"ready for less time first (exact)", pod("a", onNode("n"), readySince(time.Minute)), pod("b", onNode("n"), readySince(0)), [2]int{}, metav1.Time{}},
		{"ready for less time first (log buckets)", pod("a", onNode("n"), readySince(50*time.Minute)), pod("b", onNode("n"), readySince(0)), [2]int{}, now},
		{"more restarts first", pod("a", onNode("n"), restarts(3)), pod("b", onNode("n"), restarts(1)), [2]int{}, now},
		{"newer first", pod("a", onNode("n"), created(50*time.Minute)), pod("b", onNode("n"), created(0)), [2]int{}, now},
		{"same log bucket falls back to uid", pod("a", onNode("n"), created(1*time.Second)), pod("b", onNode("n"), created(0)), [2]int{}, now},
		{"zero creation time first", pod("a", onNode("n"), func(p *corev1.Pod) { p.CreationTimestamp = metav1.Time{} }), pod("b", onNode("n")), [2]int{}, now},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, order := range [][2]int{{0, 1}, {1, 0}} {
				pair := []*corev1.Pod{tc.first, tc.second}
				s := RankedPods{Pods: []*corev1.Pod{pair[order[0]], pair[order[1]]}, Rank: []int{tc.ranks[order[0]], tc.ranks[order[1]]}, Now: tc.now}
				sort.Sort(s)
				if s.Pods[0] != tc.first {
					t.Errorf("order %v: got %s first", order, s.Pods[0].Name)
				}
			}
		})
	}
}

func TestRankByRelatedPodsOnSameNode(t *testing.T) {
	a, b, c := pod("a", onNode("n1")), pod("b", onNode("n2")), pod("c", onNode("n1"))
	other := pod("x", onNode("n1"))
	gone := pod("y", onNode("n2"), func(p *corev1.Pod) { p.DeletionTimestamp = &metav1.Time{Time: t0} })
	r := rankByRelatedPodsOnSameNode([]*corev1.Pod{a, b, c}, []*corev1.Pod{a, b, c, other, gone}, metav1.Time{})
	if want := []int{3, 1, 3}; r.Rank[0] != want[0] || r.Rank[1] != want[1] || r.Rank[2] != want[2] {
		t.Errorf("ranks %v want %v", r.Rank, want)
	}
}

func TestSlowStartBatch(t *testing.T) {
	cases := []struct {
		count, failAfter  int // failAfter: calls after which every call fails (-1 never)
		wantOK, wantCalls int
		wantErr           bool
	}{
		{count: 0, failAfter: -1, wantOK: 0, wantCalls: 0},
		{count: 1, failAfter: -1, wantOK: 1, wantCalls: 1},
		{count: 10, failAfter: -1, wantOK: 10, wantCalls: 10},
		// batches 1,2,4: the 4-batch has failures, the rest is skipped
		{count: 10, failAfter: 5, wantOK: 5, wantCalls: 7, wantErr: true},
		{count: 10, failAfter: 0, wantOK: 0, wantCalls: 1, wantErr: true},
	}
	for _, tc := range cases {
		var calls atomic.Int32
		ok, err := SlowStartBatch(tc.count, 1, func() error {
			if n := calls.Add(1); tc.failAfter >= 0 && int(n) > tc.failAfter {
				return errors.New("boom")
			}
			return nil
		})
		if ok != tc.wantOK || int(calls.Load()) != tc.wantCalls || (err != nil) != tc.wantErr {
			t.Errorf("%+v: ok=%d calls=%d err=%v", tc, ok, calls.Load(), err)
		}
	}
}

func TestCalculateStatus(t *testing.T) {
	now := t0.Add(time.Minute)
	rs := &appsv1.ReplicaSet{Spec: appsv1.ReplicaSetSpec{Replicas: ptr.To[int32](4), MinReadySeconds: 30,
		Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "x", "v": "1"}}}}}
	full := func(p *corev1.Pod) { p.Labels = map[string]string{"app": "x", "v": "1", "extra": "y"} }
	pods := []*corev1.Pod{
		pod("a", full, readySince(0)),                                              // available (60s > 30s)
		pod("b", full, readySince(45*time.Second)),                                 // ready, not yet available
		pod("c", func(p *corev1.Pod) { p.Labels = map[string]string{"app": "x"} }), // partly labeled
	}
	st := CalculateStatus(rs, pods, 2, nil, now)
	if *st.TerminatingReplicas != 2 || st.Replicas != 3 || st.FullyLabeledReplicas != 2 || st.ReadyReplicas != 2 || st.AvailableReplicas != 1 || len(st.Conditions) != 0 {
		t.Errorf("status %+v", st)
	}
	st = CalculateStatus(rs, pods, 0, errors.New("quota exceeded"), now)
	c := getCondition(st, appsv1.ReplicaSetReplicaFailure)
	if c == nil || c.Reason != "FailedCreate" || c.Message != "quota exceeded" || c.Status != corev1.ConditionTrue {
		t.Fatalf("failure condition %+v", c)
	}
	rs.Status = st
	rs.Spec.Replicas = ptr.To[int32](1)
	if st2 := CalculateStatus(rs, pods, 0, errors.New("other"), now); getCondition(st2, appsv1.ReplicaSetReplicaFailure).Message != "quota exceeded" {
		t.Errorf("existing failure condition should be kept")
	}
	if st3 := CalculateStatus(rs, pods, 0, nil, now); getCondition(st3, appsv1.ReplicaSetReplicaFailure) != nil {
		t.Errorf("failure condition should be cleared")
	}
	if d := availableIn(pods[1], 30, now); d != 15*time.Second {
		t.Errorf("availableIn %v", d)
	}
}

func TestExpectations(t *testing.T) {
	clk := clocktesting.NewFakeClock(t0)
	e := NewExpectations(clk, time.Minute)
	if !e.Satisfied("ns/rs") {
		t.Fatal("no record should be satisfied")
	}
	e.ExpectCreations("ns/rs", 2)
	e.CreationObserved("ns/rs")
	if e.Satisfied("ns/rs") {
		t.Fatal("one creation outstanding")
	}
	e.CreationObserved("ns/rs")
	if !e.Satisfied("ns/rs") {
		t.Fatal("all creations observed")
	}
	e.ExpectDeletions("ns/rs", []string{"ns/a", "ns/b"})
	e.DeletionObserved("ns/rs", "ns/a")
	e.DeletionObserved("ns/rs", "ns/a")
	if e.Satisfied("ns/rs") {
		t.Fatal("ns/b outstanding")
	}
	clk.Step(2 * time.Minute)
	if !e.Satisfied("ns/rs") {
		t.Fatal("expired record should be satisfied")
	}
	e.Delete("ns/rs")
	if a, d := e.Pending("ns/rs"); a != 0 || d != 0 {
		t.Fatal("deleted")
	}
}

func TestPodFromTemplate(t *testing.T) {
	rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "web-abc", Namespace: "ns", UID: "u1"},
		Spec: appsv1.ReplicaSetSpec{Template: corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}, Annotations: map[string]string{"a": "b"}},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "i"}}}}}}
	p, err := PodFromTemplate(rs)
	if err != nil {
		t.Fatal(err)
	}
	ref := p.OwnerReferences[0]
	if p.GenerateName != "web-abc-" || p.Namespace != "ns" || p.Labels["app"] != "web" || p.Annotations["a"] != "b" ||
		ref.Kind != "ReplicaSet" || ref.APIVersion != "apps/v1" || ref.UID != "u1" || !*ref.Controller || !*ref.BlockOwnerDeletion {
		t.Errorf("pod %+v", p)
	}
	p.Labels["app"] = "changed"
	if rs.Spec.Template.Labels["app"] != "web" {
		t.Error("template aliased")
	}
	rs.Spec.Template.Labels = nil
	if _, err := PodFromTemplate(rs); err == nil {
		t.Error("no labels should fail")
	}
}

func TestStoryPodsNamesEachGonePodOnce(t *testing.T) {
	var s storyPods
	present := map[types.UID]bool{"a": true, "b": true, "c": true}
	s.add("rs", []types.UID{"c"}) // deleted by the ReplicaSet itself: not a replaced pod
	s.gone("rs", "c")
	s.gone("rs", "d") // removed before the sync listed the pods
	if got := s.take("rs", []types.UID{"a", "c"}, present); fmt.Sprint(got) != "[a d]" {
		t.Errorf("first take %v, want [a d]", got)
	}
	if got := s.take("rs", []types.UID{"a", "b", "c"}, present); fmt.Sprint(got) != "[b]" {
		t.Errorf("second take %v, want [b]", got)
	}
	// a left the list: forgotten.
	delete(present, "a")
	if got := s.take("rs", []types.UID{"b"}, present); len(got) != 0 {
		t.Errorf("third take %v, want none", got)
	}
	if len(s.named["rs"]) != 2 {
		t.Errorf("remembered %v, want b and c", s.named["rs"])
	}
}
