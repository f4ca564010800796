package printers

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestCoreEventRows(t *testing.T) {
	pod := corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "web-1", FieldPath: "spec.containers{app}"}
	tests := []struct {
		name  string
		event corev1.Event
		want  []any
	}{
		{
			name: "classic event with count and source host",
			event: corev1.Event{
				ObjectMeta:     objMeta("web-1.17a", 10*time.Minute),
				InvolvedObject: pod,
				Reason:         "BackOff",
				Message:        "Back-off restarting failed container\n",
				Type:           corev1.EventTypeWarning,
				Source:         corev1.EventSource{Component: "kubelet", Host: "node-1"},
				FirstTimestamp: ago(10 * time.Minute),
				LastTimestamp:  ago(2 * time.Minute),
				Count:          7,
			},
			want: []any{"2m", "Warning", "BackOff", "pod/web-1", "spec.containers{app}", "kubelet, node-1",
				"Back-off restarting failed container", "10m", int64(7), "web-1.17a"},
		},
		{
			name: "new-style singleton event",
			event: corev1.Event{
				ObjectMeta:          objMeta("e2", time.Minute),
				InvolvedObject:      corev1.ObjectReference{Kind: "Deployment", Name: "web"},
				Reason:              "ScalingReplicaSet",
				Message:             "Scaled up replica set web-abc to 3",
				Type:                corev1.EventTypeNormal,
				EventTime:           microAgo(45 * time.Second),
				ReportingController: "deployment-controller",
			},
			want: []any{"45s", "Normal", "ScalingReplicaSet", "deployment/web", "", "deployment-controller",
				"Scaled up replica set web-abc to 3", "45s", int64(1), "e2"},
		},
		{
			name: "series event",
			event: corev1.Event{
				ObjectMeta:          objMeta("e3", time.Hour),
				InvolvedObject:      corev1.ObjectReference{Kind: "Node", Name: "node-1"},
				Reason:              "NodeNotReady",
				Type:                corev1.EventTypeNormal,
				EventTime:           microAgo(time.Hour),
				Series:              &corev1.EventSeries{Count: 12, LastObservedTime: microAgo(3 * time.Minute)},
				ReportingController: "node-controller",
				ReportingInstance:   "cp-1",
			},
			want: []any{"3m", "Normal", "NodeNotReady", "node/node-1", "", "node-controller, cp-1", "", "60m", int64(12), "e3"},
		},
		{
			name: "no times, kind only",
			event: corev1.Event{
				ObjectMeta:     objMeta("e4", time.Hour),
				InvolvedObject: corev1.ObjectReference{Kind: "ClusterRole"},
				Source:         corev1.EventSource{Component: "c"},
			},
			want: []any{"<unknown>", "", "", "clusterrole", "", "c", "", "<unknown>", int64(1), "e4"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkCells(t, rowCells(t, coreEventsGR, &tt.event), tt.want)
		})
	}
}

func TestEventsEventRows(t *testing.T) {
	tests := []struct {
		name  string
		event eventsv1.Event
		want  []any
	}{
		{
			name: "new-style singleton",
			event: eventsv1.Event{
				ObjectMeta:          objMeta("web.1", time.Minute),
				EventTime:           microAgo(30 * time.Second),
				ReportingController: "kubelet",
				ReportingInstance:   "node-2",
				Action:              "Pulling",
				Reason:              "Pulling",
				Regarding:           corev1.ObjectReference{Kind: "Pod", Name: "web", FieldPath: "spec.containers{app}"},
				Note:                "  Pulling image \"nginx\"  ",
				Type:                corev1.EventTypeNormal,
			},
			want: []any{"30s", "Normal", "Pulling", "pod/web", "spec.containers{app}", "kubelet, node-2", "Pulling image \"nginx\"", "30s", int64(1), "web.1"},
		},
		{
			name: "series",
			event: eventsv1.Event{
				ObjectMeta:          objMeta("s", time.Hour),
				EventTime:           microAgo(time.Hour),
				Series:              &eventsv1.EventSeries{Count: 4, LastObservedTime: microAgo(5 * time.Minute)},
				ReportingController: "scheduler",
				Reason:              "FailedScheduling",
				Regarding:           corev1.ObjectReference{Kind: "Pod", Name: "p"},
				Note:                "0/3 nodes are available",
				Type:                corev1.EventTypeWarning,
			},
			want: []any{"5m", "Warning", "FailedScheduling", "pod/p", "", "scheduler", "0/3 nodes are available", "60m", int64(4), "s"},
		},
		{
			name: "deprecated fields from a core/v1 writer",
			event: eventsv1.Event{
				ObjectMeta:               objMeta("old", time.Hour),
				Reason:                   "Killing",
				Regarding:                corev1.ObjectReference{Kind: "Pod", Name: "p"},
				Type:                     corev1.EventTypeNormal,
				DeprecatedSource:         corev1.EventSource{Component: "kubelet", Host: "node-3"},
				DeprecatedFirstTimestamp: ago(20 * time.Minute),
				DeprecatedLastTimestamp:  ago(time.Minute),
				DeprecatedCount:          2,
				ReportingController:      "ignored-when-source-set",
			},
			want: []any{"60s", "Normal", "Killing", "pod/p", "", "kubelet, node-3", "", "20m", int64(2), "old"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkCells(t, rowCells(t, eventsEventsGR, &tt.event), tt.want)
		})
	}
}

func TestEventListMetadata(t *testing.T) {
	list := &eventsv1.EventList{
		ListMeta: metav1.ListMeta{ResourceVersion: "5", Continue: "c"},
		Items:    []eventsv1.Event{{ObjectMeta: objMeta("a", time.Minute)}, {ObjectMeta: objMeta("b", time.Minute)}},
	}
	table := convert(t, eventsEventsGR, list)
	if table.ResourceVersion != "5" || table.Continue != "c" || len(table.Rows) != 2 {
		t.Errorf("table = %+v", table)
	}
}
