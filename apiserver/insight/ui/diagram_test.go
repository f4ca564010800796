package ui

import (
	"reflect"
	"testing"
	"time"
)

func TestDiagram(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 5, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	span := func(id, parent, name, component, caller string, start, end int) Span {
		return Span{SpanID: id, ParentSpanID: parent, Name: name, Component: component, Caller: caller, Start: at(start), End: at(end)}
	}
	col := func(i int) int { return diagramLeft + i*columnWidth + columnWidth/2 }
	type arrow struct {
		name              string
		from, to          int // column indexes
		offsetMS, durMS   int
		label, offsetText string
	}
	tests := []struct {
		name    string
		spans   []Span
		columns []string
		arrows  []arrow
		total   time.Duration
	}{
		{
			name:    "no spans: the columns alone",
			columns: Components,
		},
		{
			name: "a pod's start, given out of order",
			spans: []Span{
				span("4", "", "bind", "apiserver", "scheduler", 30, 34),
				span("1", "", "create pod", "apiserver", "kubectl", 0, 12),
				span("2", "1", "etcd txn", "etcd", "apiserver", 5, 9),
				span("3", "", "schedule", "scheduler", "scheduler", 20, 35),
				span("5", "", "start container", "runtime", "agent", 50, 1300),
			},
			columns: Components,
			arrows: []arrow{
				{"create pod", 0, 1, 0, 12, "create pod (12ms)", "+0"},
				{"etcd txn", 1, 2, 5, 4, "etcd txn (4ms)", "+5ms"},
				{"schedule", 4, 4, 20, 15, "schedule (15ms)", "+20ms"},
				{"bind", 4, 1, 30, 4, "bind (4ms)", "+30ms"},
				{"start container", 5, 6, 50, 1250, "start container (1.25s)", "+50ms"},
			},
			total: 1300 * time.Millisecond,
		},
		{
			name: "no caller: the parent's component calls; no parent: the component itself",
			spans: []Span{
				span("a", "", "reconcile", "controller", "", 0, 10),
				span("b", "a", "create replicaset", "apiserver", "", 0, 8),
			},
			columns: Components,
			arrows: []arrow{
				{"reconcile", 3, 3, 0, 10, "reconcile (10ms)", "+0"},
				{"create replicaset", 3, 1, 0, 8, "create replicaset (8ms)", "+0"},
			},
			total: 10 * time.Millisecond,
		},
		{
			name: "instances of a kind take its place, in the order they appear",
			spans: []Span{
				span("a", "", "reconcile", "controller:replicaset", "", 0, 4),
				span("b", "", "reconcile", "controller:deployment", "", 1, 3),
				span("c", "", "create pod", "apiserver", "controller:replicaset", 2, 4),
				span("d", "", "sync pod", "agent:node-b", "apiserver", 5, 9),
				span("e", "", "sync pod", "agent:node-a", "apiserver", 6, 10),
			},
			columns: []string{"kubectl", "apiserver", "etcd", "controller:replicaset", "controller:deployment", "scheduler", "agent:node-b", "agent:node-a", "runtime", "proxy"},
			arrows: []arrow{
				{"reconcile", 3, 3, 0, 4, "reconcile (4ms)", "+0"},
				{"reconcile", 4, 4, 1, 2, "reconcile (2ms)", "+1ms"},
				{"create pod", 3, 1, 2, 2, "create pod (2ms)", "+2ms"},
				{"sync pod", 1, 6, 5, 4, "sync pod (4ms)", "+5ms"},
				{"sync pod", 1, 7, 6, 4, "sync pod (4ms)", "+6ms"},
			},
			total: 10 * time.Millisecond,
		},
		{
			name: "unknown components get columns after the known ones, as they appear",
			spans: []Span{
				span("a", "", "webhook", "webhook-server", "apiserver", 0, 3),
				span("b", "", "dns", "clusterdns", "agent", 1, 2),
			},
			columns: append(append([]string{}, Components...), "webhook-server", "clusterdns"),
			arrows: []arrow{
				{"webhook", 1, 8, 0, 3, "webhook (3ms)", "+0"},
				{"dns", 5, 9, 1, 1, "dns (1ms)", "+1ms"},
			},
			total: 3 * time.Millisecond,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := Diagram(tt.spans)
			var names []string
			for i, c := range l.Columns {
				names = append(names, c.Name)
				if c.X != col(i) {
					t.Errorf("column %s at x=%d, want %d", c.Name, c.X, col(i))
				}
			}
			if !reflect.DeepEqual(names, tt.columns) {
				t.Errorf("columns %v, want %v", names, tt.columns)
			}
			if len(l.Arrows) != len(tt.arrows) {
				t.Fatalf("%d arrows, want %d: %+v", len(l.Arrows), len(tt.arrows), l.Arrows)
			}
			for i, want := range tt.arrows {
				a := l.Arrows[i]
				if a.Name != want.name || a.X1 != col(want.from) || a.X2 != col(want.to) || a.Self != (want.from == want.to) {
					t.Errorf("arrow %d: %s x %d→%d self=%v, want %s x %d→%d", i, a.Name, a.X1, a.X2, a.Self, want.name, col(want.from), col(want.to))
				}
				if a.Y != diagramTop+(i+1)*rowHeight {
					t.Errorf("arrow %d (%s) at y=%d, want row %d", i, a.Name, a.Y, i+1)
				}
				if a.Offset != time.Duration(want.offsetMS)*time.Millisecond || a.Duration != time.Duration(want.durMS)*time.Millisecond {
					t.Errorf("arrow %d (%s): offset %v duration %v, want %dms %dms", i, a.Name, a.Offset, a.Duration, want.offsetMS, want.durMS)
				}
				if a.Label != want.label || a.OffsetText != want.offsetText {
					t.Errorf("arrow %d: label %q offset %q, want %q %q", i, a.Label, a.OffsetText, want.label, want.offsetText)
				}
				wantBarX := l.TimelineX + int(int64(a.Offset)*timelineWidth/int64(tt.total))
				if a.BarX != wantBarX || a.BarWidth < 1 || a.BarX+a.BarWidth > l.TimelineX+timelineWidth {
					t.Errorf("arrow %d: bar x=%d w=%d, want x=%d within the timeline [%d,%d]", i, a.BarX, a.BarWidth, wantBarX, l.TimelineX, l.TimelineX+timelineWidth)
				}
			}
			if l.Total != tt.total {
				t.Errorf("total %v, want %v", l.Total, tt.total)
			}
			if l.LifelineBottom != diagramTop+(len(tt.arrows)+1)*rowHeight || l.Height <= l.LifelineBottom || l.Width != l.TimelineX+timelineWidth+10 {
				t.Errorf("size %dx%d, lifelines to %d", l.Width, l.Height, l.LifelineBottom)
			}
		})
	}
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0:                       "0",
		850 * time.Microsecond:  "850µs",
		12 * time.Millisecond:   "12ms",
		1500 * time.Microsecond: "1.5ms",
		340 * time.Millisecond:  "340ms",
		1250 * time.Millisecond: "1.25s",
		123 * time.Second:       "2m3s",
	} {
		if got := FormatDuration(d); got != want {
			t.Errorf("FormatDuration(%v) = %q, want %q", d, got, want)
		}
	}
}
