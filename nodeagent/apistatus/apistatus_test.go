package apistatus

import (
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestNodeStatusDue(t *testing.T) {
	const interval, node = 5 * time.Minute, "n1"
	// The clock below is shifted so that node n1's slots fall at 12:01:30, 12:06:30, ...
	// (12:00:00 UTC is a multiple of the interval since the Unix epoch).
	shift := ReportPhase(node, interval) - 90*time.Second
	at := func(hms string) time.Time {
		tm, err := time.Parse(time.TimeOnly, hms)
		if err != nil {
			t.Fatal(err)
		}
		return time.Date(2026, 12, 6, tm.Hour(), tm.Minute(), tm.Second(), 0, time.UTC).Add(shift)
	}
	ready := &corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}}}
	notReady := &corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionFalse}}}
	for _, tc := range []struct {
		name       string
		last, next *corev1.NodeStatus
		lastReport string
		now        string
		interval   time.Duration
		want       bool
	}{
		{name: "none posted", last: nil, next: ready, lastReport: "12:00:00", now: "12:00:01", interval: interval, want: true},
		{name: "changed", last: notReady, next: ready, lastReport: "12:00:00", now: "12:00:01", interval: interval, want: true},
		{name: "unchanged before the slot", last: ready, next: ready, lastReport: "12:00:00", now: "12:01:29", interval: interval, want: false},
		{name: "unchanged at the slot", last: ready, next: ready, lastReport: "12:00:00", now: "12:01:30", interval: interval, want: true},
		{name: "posted at the slot", last: ready, next: ready, lastReport: "12:01:30", now: "12:06:29", interval: interval, want: false},
		{name: "next slot", last: ready, next: ready, lastReport: "12:01:30", now: "12:06:30", interval: interval, want: true},
		{name: "posted just after a slot waits a whole interval", last: ready, next: ready, lastReport: "12:01:31", now: "12:06:29", interval: interval, want: false},
		{name: "no interval", last: ready, next: ready, lastReport: "12:00:00", now: "12:00:01", interval: 0, want: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := NodeStatusDue(tc.last, tc.next, at(tc.lastReport), at(tc.now), tc.interval, node); got != tc.want {
				t.Errorf("NodeStatusDue = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestReportPhaseSpread: the phases of 5,000 nodes fill each minute of a 5-minute interval
// about evenly, and a node's phase does not change.
func TestReportPhaseSpread(t *testing.T) {
	const interval, nodes = 5 * time.Minute, 5000
	var perMinute [5]int
	for i := range nodes {
		name := fmt.Sprintf("sim-%d", i)
		p := ReportPhase(name, interval)
		if p < 0 || p >= interval || p != ReportPhase(name, interval) {
			t.Fatalf("ReportPhase(%s) = %v", name, p)
		}
		perMinute[p/time.Minute]++
	}
	for m, n := range perMinute {
		if n < nodes/5*8/10 || n > nodes/5*12/10 {
			t.Errorf("minute %d holds %d of %d nodes' slots: %v", m, n, nodes, perMinute)
		}
	}
	if ReportPhase("n", 0) != 0 {
		t.Error("ReportPhase with no interval is not 0")
	}
}

// TestStatusChanged: statuses compare as the API stores them, heartbeats aside.
func TestStatusChanged(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	status := func(edit func(s *corev1.NodeStatus)) *corev1.NodeStatus {
		s := &corev1.NodeStatus{
			Capacity: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")},
			Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue,
				LastHeartbeatTime: metav1.NewTime(t0), LastTransitionTime: metav1.NewTime(t0)}},
			Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "10.0.0.1"}},
		}
		if edit != nil {
			edit(s)
		}
		return s
	}
	for _, tc := range []struct {
		name string
		edit func(s *corev1.NodeStatus)
		want bool
	}{
		{"same", nil, false},
		{"heartbeat only", func(s *corev1.NodeStatus) { s.Conditions[0].LastHeartbeatTime = metav1.NewTime(t0.Add(time.Minute)) }, false},
		{"transition time below the second", func(s *corev1.NodeStatus) {
			s.Conditions[0].LastTransitionTime = metav1.NewTime(t0.Add(300 * time.Millisecond))
		}, false},
		{"transition time", func(s *corev1.NodeStatus) { s.Conditions[0].LastTransitionTime = metav1.NewTime(t0.Add(time.Second)) }, true},
		{"condition status", func(s *corev1.NodeStatus) { s.Conditions[0].Status = corev1.ConditionFalse }, true},
		{"condition added", func(s *corev1.NodeStatus) {
			s.Conditions = append(s.Conditions, corev1.NodeCondition{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse})
		}, true},
		{"same quantity written otherwise", func(s *corev1.NodeStatus) { s.Capacity[corev1.ResourceCPU] = resource.MustParse("2000m") }, false},
		{"capacity", func(s *corev1.NodeStatus) { s.Capacity[corev1.ResourceCPU] = resource.MustParse("3") }, true},
		{"empty list as none", func(s *corev1.NodeStatus) { s.Images = []corev1.ContainerImage{} }, false},
		{"image", func(s *corev1.NodeStatus) { s.Images = []corev1.ContainerImage{{Names: []string{"busybox"}}} }, true},
		{"address", func(s *corev1.NodeStatus) { s.Addresses[0].Address = "10.0.0.2" }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := status(nil), status(tc.edit)
			if got := statusChanged(a, b); got != tc.want {
				t.Errorf("statusChanged = %v, want %v", got, tc.want)
			}
			if got := statusChanged(b, a); got != tc.want {
				t.Errorf("statusChanged reversed = %v, want %v", got, tc.want)
			}
		})
	}
}
