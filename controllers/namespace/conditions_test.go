package namespace

import (
	"errors"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestConditions(t *testing.T) {
	var status corev1.NamespaceStatus
	u := &conditionUpdater{}
	left := newRemaining()
	left.byResource[schema.GroupVersionResource{Version: "v1", Resource: "pods"}] = 2
	left.byResource[schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}] = 1
	left.byFinalizer["example.com/b"] = 1
	left.byFinalizer["example.com/a"] = 2
	u.processRemaining(left)
	u.processDeleteContentErr(errors.New("boom"))
	if !u.apply(&status) {
		t.Fatal("first apply must change status")
	}
	want := map[corev1.NamespaceConditionType][3]string{
		corev1.NamespaceDeletionDiscoveryFailure: {"False", "ResourcesDiscovered", "All resources successfully discovered"},
		corev1.NamespaceDeletionGVParsingFailure: {"False", "ParsedGroupVersions", "All legacy kube types successfully parsed"},
		corev1.NamespaceDeletionContentFailure:   {"True", "ContentDeletionFailed", "Failed to delete all resource types, 1 remaining: boom"},
		corev1.NamespaceContentRemaining:         {"True", "SomeResourcesRemain", "Some resources are remaining: deployments.apps has 1 resource instances, pods. has 2 resource instances"},
		corev1.NamespaceFinalizersRemaining:      {"True", "SomeFinalizersRemain", "Some content in the namespace has finalizers remaining: example.com/a in 2 resource instances, example.com/b in 1 resource instances"},
	}
	if len(status.Conditions) != len(want) {
		t.Fatalf("conditions = %+v", status.Conditions)
	}
	for _, c := range status.Conditions {
		w := want[c.Type]
		if string(c.Status) != w[0] || c.Reason != w[1] || c.Message != w[2] {
			t.Errorf("%s = %s/%s/%q, want %v", c.Type, c.Status, c.Reason, c.Message, w)
		}
	}
	// Same problems again: nothing changes, transition times stay.
	before := status.Conditions[0].LastTransitionTime
	u2 := &conditionUpdater{}
	u2.processRemaining(left)
	u2.processDeleteContentErr(errors.New("boom"))
	if u2.apply(&status) || status.Conditions[0].LastTransitionTime != before {
		t.Error("unchanged conditions must not be rewritten")
	}
	// All clear.
	if !(&conditionUpdater{}).apply(&status) {
		t.Error("clearing must change status")
	}
	for _, c := range status.Conditions {
		if c.Status != corev1.ConditionFalse || c.Message != okMessages[c.Type] {
			t.Errorf("%s not cleared: %+v", c.Type, c)
		}
	}
}

func TestPodsEstimate(t *testing.T) {
	g := func(s int64) *int64 { return &s }
	pods := []corev1.Pod{
		{Spec: corev1.PodSpec{TerminationGracePeriodSeconds: g(30)}},
		{Spec: corev1.PodSpec{TerminationGracePeriodSeconds: g(90)}, Status: corev1.PodStatus{Phase: corev1.PodSucceeded}},
		{Spec: corev1.PodSpec{TerminationGracePeriodSeconds: g(10)}},
	}
	tests := []struct {
		since time.Duration
		want  time.Duration
	}{
		{0, 30 * time.Second},
		{29 * time.Second, 30 * time.Second},
		{30 * time.Second, 0},
	}
	for _, tt := range tests {
		if got := podsEstimate(pods, tt.since); got != tt.want {
			t.Errorf("podsEstimate(since %v) = %v, want %v", tt.since, got, tt.want)
		}
	}
	if got := podsEstimate(nil, 0); got != 0 {
		t.Errorf("no pods: %v", got)
	}
}
