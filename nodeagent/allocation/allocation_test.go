package allocation

import (
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

func pod(uid string, gen int64, cpu string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: uid, UID: types.UID("uid-" + uid), Generation: gen},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse("64Mi")},
			Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse("64Mi")}}}}}}
}

// TestHandleResize is upstream's handlePodResourcesResize by cases: no change, a fitting
// resize (allocated, in progress, ResizeStarted), one that does not fit beside the other pods
// (Deferred with the kubelet's message, one event per generation), and a revert.
func TestHandleResize(t *testing.T) {
	allocatable := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourceMemory: resource.MustParse("1Gi")}
	others := []*corev1.Pod{pod("o", 1, "2")}
	now := metav1.Now()
	st := Initial(pod("p", 1, "1"))

	if got, ev := HandleResize(pod("p", 1, "1"), st, others, allocatable, now); got.Pending != nil || got.InProgress != nil || len(ev) != 0 {
		t.Fatalf("no change: %+v %v", got, ev)
	}

	got, ev := HandleResize(pod("p", 2, "1500m"), st, others, allocatable, now)
	if q := got.Allocated["c"].Requests[corev1.ResourceCPU]; q.String() != "1500m" || got.InProgress == nil || got.InProgress.ObservedGeneration != 2 {
		t.Errorf("fitting resize: allocated %s in progress %+v", q.String(), got.InProgress)
	}
	if len(ev) != 1 || ev[0].Reason != ReasonResizeStarted || !strings.HasPrefix(ev[0].Message, `Pod resize started: {"containers":[{"name":"c"`) {
		t.Errorf("fitting resize events: %+v", ev)
	}
	if q := got.Actuated["c"].Requests[corev1.ResourceCPU]; q.String() != "1" {
		t.Errorf("actuated changed by the allocation: %s", q.String())
	}

	got, ev = HandleResize(pod("p", 3, "3"), st, others, allocatable, now)
	want := "Node didn't have enough resource: cpu, requested: 3000, used: 2000, capacity: 4000"
	if got.Pending == nil || got.Pending.Reason != corev1.PodReasonDeferred || got.Pending.Message != want || got.Pending.ObservedGeneration != 3 {
		t.Errorf("deferred: %+v", got.Pending)
	}
	if q := got.Allocated["c"].Requests[corev1.ResourceCPU]; q.String() != "1" {
		t.Errorf("deferred resize allocated: %s", q.String())
	}
	if len(ev) != 1 || ev[0].Type != corev1.EventTypeWarning || ev[0].Reason != ReasonResizeDeferred || !strings.HasPrefix(ev[0].Message, "Pod resize OutOfcpu: ") {
		t.Errorf("deferred events: %+v", ev)
	}
	if again, ev := HandleResize(pod("p", 3, "3"), got, others, allocatable, now); len(ev) != 0 || again.Pending == nil {
		t.Errorf("deferred again: %+v %v", again.Pending, ev)
	}
	if reverted, ev := HandleResize(pod("p", 4, "1"), got, others, allocatable, now); reverted.Pending != nil || len(ev) != 0 {
		t.Errorf("reverted: %+v %v", reverted.Pending, ev)
	}
}

// TestSettle: the in-progress condition stays while a running container's actuated resources
// differ from its allocation, shows an actuation error once, and is cleared with ResizeCompleted.
func TestSettle(t *testing.T) {
	now := metav1.Now()
	p := pod("p", 2, "2")
	st := Initial(pod("p", 1, "1"))
	st.Allocated = ResourcesOf(p)
	st.InProgress = &corev1.PodCondition{Type: corev1.PodResizeInProgress, Status: corev1.ConditionTrue, ObservedGeneration: 2}

	got, ev := Settle(p, st, []string{"c"}, nil, now)
	if got.InProgress == nil || len(ev) != 0 {
		t.Errorf("not actuated: %+v %v", got.InProgress, ev)
	}
	// a stopped container starts with its allocation: only running ones keep a resize going.
	if got, _ := Settle(p, st, nil, nil, now); got.InProgress != nil {
		t.Error("no running container, resize still in progress")
	}
	errd, ev := Settle(p, st, []string{"c"}, errors.New(`attempting to set container "c" memory limit (1) below current usage (2)`), now)
	if errd.InProgress.Reason != corev1.PodReasonError || !strings.Contains(errd.InProgress.Message, "below current usage") || errd.InProgress.ObservedGeneration != 2 ||
		len(ev) != 1 || ev[0].Reason != ReasonResizeError {
		t.Errorf("error: %+v %v", errd.InProgress, ev)
	}
	st.Actuated = ResourcesOf(p)
	got, ev = Settle(p, st, []string{"c"}, nil, now)
	if got.InProgress != nil || len(ev) != 1 || ev[0].Reason != ReasonResizeCompleted {
		t.Errorf("completed: %+v %v", got.InProgress, ev)
	}
	if c := Conditions(errd, false); len(c) != 1 || c[0].Type != corev1.PodResizeInProgress {
		t.Errorf("conditions = %+v", c)
	}
	if c := Conditions(errd, true); c != nil {
		t.Errorf("terminal pod conditions = %+v", c)
	}
}

func TestUpdatePodFromAllocation(t *testing.T) {
	p := pod("p", 2, "2")
	alloc := ResourcesOf(pod("p", 1, "1"))
	got, changed := UpdatePodFromAllocation(p, alloc)
	if !changed || got == p || got.Spec.Containers[0].Resources.Requests.Cpu().String() != "1" || p.Spec.Containers[0].Resources.Requests.Cpu().String() != "2" {
		t.Errorf("UpdatePodFromAllocation: changed %v, %v", changed, got.Spec.Containers[0].Resources)
	}
	if same, changed := UpdatePodFromAllocation(p, ResourcesOf(p)); changed || same != p {
		t.Error("an equal allocation copied the pod")
	}
}

func TestStore(t *testing.T) {
	dir := t.TempDir()
	s := Store{Dir: func(uid string) string { return dir + "/" + uid }}
	if _, ok, err := s.Load("u"); ok || err != nil {
		t.Fatalf("empty store: %v %v", ok, err)
	}
	st := Initial(pod("p", 1, "1"))
	if err := s.Save("u", st); err != nil {
		t.Fatal(err)
	}
	got, ok, err := s.Load("u")
	if !ok || err != nil || !got.Allocated["c"].Limits[corev1.ResourceCPU].Equal(resource.MustParse("1")) {
		t.Errorf("Load = %+v %v %v", got, ok, err)
	}
}
