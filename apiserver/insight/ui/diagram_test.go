package ui

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/skiff-dev/skiff/insight/trace"
)

func TestDiagram(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 5, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	span := func(id, parent, name, component, caller string, start, end int) trace.Span {
		return trace.Span{SpanID: id, ParentSpanID: parent, Name: name, Component: component, Caller: caller, Start: at(start), End: at(end)}
	}
	col := func(i int) int { return diagramLeft + i*columnWidth + columnWidth/2 }
	type arrow struct {
		name              string
		from, to          int // column indexes
		offsetMS, durMS   int
		label, offsetText string
		critical          bool
	}
	tests := []struct {
		name     string
		spans    []trace.Span
		columns  []string
		arrows   []arrow
		total    time.Duration
		critical string
	}{
		{
			name:     "no spans: nothing to draw",
			critical: "0",
		},
		{
			name: "a pod's start, given out of order",
			spans: []trace.Span{
				span("4", "", "bind", "apiserver", "scheduler", 30, 34),
				span("1", "", "create pod", "apiserver", "kubectl", 0, 12),
				span("2", "1", "etcd txn", "etcd", "apiserver", 5, 9),
				span("3", "", "schedule", "scheduler", "", 20, 29),
				span("5", "", "start container", "runtime", "agent:node-a", 50, 1300),
			},
			columns: []string{"kubectl", "apiserver", "etcd", "scheduler", "agent:node-a", "runtime"},
			arrows: []arrow{
				{"create pod", 0, 1, 0, 12, "create pod (12ms)", "+0", false},
				{"etcd txn", 1, 2, 5, 4, "etcd txn (4ms)", "+5ms", true},
				{"schedule", 3, 3, 20, 9, "schedule (9ms)", "+20ms", true},
				{"bind", 3, 1, 30, 4, "bind (4ms)", "+30ms", true},
				{"start container", 4, 5, 50, 1250, "start container (1.25s)", "+50ms", true},
			},
			total:    1300 * time.Millisecond,
			critical: "1.27s",
		},
		{
			name: "the API server's own nested spans are left out, as skiff trace does",
			spans: []trace.Span{
				span("a", "", "POST pods", "apiserver", "controller:replicaset", 0, 10),
				span("b", "a", "Admit", "apiserver", "", 1, 2),
				span("c", "a", "Create etcd3", "etcd", "apiserver", 3, 9),
			},
			columns: []string{"apiserver", "etcd", "controller:replicaset"},
			arrows: []arrow{
				{"POST pods", 2, 0, 0, 10, "POST pods (10ms)", "+0", false},
				{"Create etcd3", 0, 1, 3, 6, "Create etcd3 (6ms)", "+3ms", true},
			},
			total:    10 * time.Millisecond,
			critical: "6ms",
		},
		{
			name: "instances of a kind take its place, in the order they appear; other kinds after",
			spans: []trace.Span{
				span("a", "", "reconcile", "controller:replicaset", "", 0, 4),
				span("b", "", "reconcile", "controller:deployment", "", 1, 3),
				span("c", "", "create pod", "apiserver", "controller:replicaset", 2, 4),
				span("d", "", "sync pod", "agent:node-b", "apiserver", 5, 9),
				span("e", "", "sync pod", "agent:node-a", "apiserver", 6, 10),
				span("f", "", "webhook", "webhook-server", "apiserver", 11, 12),
			},
			columns: []string{"apiserver", "controller:replicaset", "controller:deployment", "agent:node-b", "agent:node-a", "webhook-server"},
			arrows: []arrow{
				{"reconcile", 1, 1, 0, 4, "reconcile (4ms)", "+0", true},
				{"reconcile", 2, 2, 1, 2, "reconcile (2ms)", "+1ms", false},
				{"create pod", 1, 0, 2, 2, "create pod (2ms)", "+2ms", false},
				{"sync pod", 0, 3, 5, 4, "sync pod (4ms)", "+5ms", true},
				{"sync pod", 0, 4, 6, 4, "sync pod (4ms)", "+6ms", false},
				{"webhook", 0, 5, 11, 1, "webhook (1ms)", "+11ms", true},
			},
			total:    12 * time.Millisecond,
			critical: "9ms",
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
				if a.Label != want.label || a.OffsetText != want.offsetText || a.Critical != want.critical {
					t.Errorf("arrow %d: label %q offset %q critical %v, want %q %q %v", i, a.Label, a.OffsetText, a.Critical, want.label, want.offsetText, want.critical)
				}
				wantBarX := l.TimelineX + int(int64(a.Offset)*timelineWidth/int64(tt.total))
				if a.BarX != wantBarX || a.BarWidth < 1 || a.BarX+a.BarWidth > l.TimelineX+timelineWidth {
					t.Errorf("arrow %d: bar x=%d w=%d, want x=%d within the timeline [%d,%d]", i, a.BarX, a.BarWidth, wantBarX, l.TimelineX, l.TimelineX+timelineWidth)
				}
			}
			if l.Total != tt.total || l.CriticalText != tt.critical {
				t.Errorf("total %v, critical path %s, want %v and %s", l.Total, l.CriticalText, tt.total, tt.critical)
			}
			if l.LifelineBottom != diagramTop+(len(tt.arrows)+1)*rowHeight || l.Height <= l.LifelineBottom || l.Width != l.TimelineX+timelineWidth+10 {
				t.Errorf("size %dx%d, lifelines to %d", l.Width, l.Height, l.LifelineBottom)
			}
			if len(tt.spans) > 0 {
				sameAsRender(t, l, trace.Render(tt.spans))
			}
		})
	}
}

// sameAsRender checks that a layout has the columns (in order), the rows and the critical path
// of `skiff trace`'s diagram.
func sameAsRender(t *testing.T, l Layout, rendered string) {
	t.Helper()
	lines := strings.Split(strings.TrimRight(rendered, "\n"), "\n")
	var cols []string
	for _, c := range l.Columns {
		cols = append(cols, strings.Replace(c.Name, trace.ComponentController+":", "ctl:", 1))
	}
	if got := strings.Fields(lines[0]); !reflect.DeepEqual(got, cols) {
		t.Errorf("skiff trace's columns %v, the page's %v", got, cols)
	}
	if rows := len(lines) - 2; rows != len(l.Arrows) {
		t.Errorf("skiff trace draws %d rows, the page %d arrows", rows, len(l.Arrows))
	}
	for i, a := range l.Arrows {
		if marked := strings.HasPrefix(lines[i+1], "*"); marked != a.Critical {
			t.Errorf("row %d (%s): critical %v in skiff trace, %v on the page", i, a.Name, marked, a.Critical)
		}
	}
	if want := fmt.Sprintf("critical path (*) %s in %d spans", l.CriticalText, l.CriticalSpans); !strings.Contains(lines[len(lines)-1], want) {
		t.Errorf("skiff trace's last line %q lacks the page's %q", lines[len(lines)-1], want)
	}
}
