package ui

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/skiff-dev/skiff/insight/trace"
)

// Span is one span of the trace endpoint's answer (GET /insight/v1/traces?uid=UID).
type Span struct {
	TraceID      string         `json:"traceID"`
	SpanID       string         `json:"spanID"`
	ParentSpanID string         `json:"parentSpanID"`
	Name         string         `json:"name"`
	Component    string         `json:"component"`
	Caller       string         `json:"caller"`
	Start        time.Time      `json:"start"`
	End          time.Time      `json:"end"`
	Attributes   map[string]any `json:"attributes"`
}

// Components are the kinds of the diagram's columns, in this order (insight/trace's Kinds, as
// `skiff trace` draws them). A component is a kind, or kind:instance ("controller:deployment",
// "agent:node-a"). Components of other kinds get columns after these, in the order they first
// appear.
var Components = trace.Kinds

// Sizes of the diagram, in SVG user units.
const (
	diagramLeft     = 70  // room for the time offsets on the left
	diagramTop      = 40  // the column headers
	columnWidth     = 110 // between two lifelines
	rowHeight       = 28  // between two arrows
	timelineGap     = 30  // between the last lifeline's column and the timeline
	timelineWidth   = 240 // the waterfall of spans on the right
	diagramBottom   = 20
	selfArrowReach  = 30 // how far a call to the same component loops to the right
	minTimelineBarW = 1
)

// Column is one lifeline.
type Column struct {
	// Name is the component; Kind and Instance its two parts ("controller", "deployment").
	Name, Kind, Instance string
	// X is the lifeline's position; the header is centred on it.
	X int
}

// Arrow is one span: a call from Caller's lifeline to Component's, at row Y.
type Arrow struct {
	Name      string
	Caller    string
	Component string
	// X1 is the caller's lifeline, X2 the callee's; Self when they are the same lifeline (the
	// arrow loops out to X2+selfArrowReach and back).
	X1, X2, Y int
	Self      bool
	// Offset is the span's start after the first span's; Duration its length.
	Offset, Duration time.Duration
	// Label is "name (duration)"; OffsetText "+offset".
	Label, OffsetText string
	// BarX and BarWidth place the span on the timeline at the right (start and length scaled
	// to the whole trace).
	BarX, BarWidth int
	// Depth is the number of ancestors found among the spans.
	Depth int
}

// Layout is a sequence diagram ready to draw: lifelines, arrows from top to bottom in start
// order, and the timeline's scale.
type Layout struct {
	Width, Height int
	Columns       []Column
	Arrows        []Arrow
	// LifelineTop and LifelineBottom are the lifelines' ends.
	LifelineTop, LifelineBottom int
	// TimelineX is the timeline's left edge, TimelineWidth its width; Total the time from the
	// first span's start to the last span's end.
	TimelineX, TimelineWidth int
	Total                    time.Duration
	TotalText                string
}

// Diagram lays out spans as a sequence diagram: one column per component (by kind in
// Components' order), one arrow per span from its caller's column to its component's, rows in
// start order (a parent before its children when they start together). A span without a caller
// is called by its parent span's component, or by its own component when it has no parent
// among the spans. Pure: the same spans give the same layout.
func Diagram(spans []Span) Layout {
	byID := make(map[string]*Span, len(spans))
	for i := range spans {
		if spans[i].SpanID != "" {
			byID[spans[i].SpanID] = &spans[i]
		}
	}
	depth := func(s *Span) int {
		d := 0
		seen := map[string]bool{s.SpanID: true}
		for p := byID[s.ParentSpanID]; p != nil && !seen[p.SpanID]; p = byID[p.ParentSpanID] {
			seen[p.SpanID] = true
			d++
		}
		return d
	}
	type row struct {
		span   *Span
		caller string
		depth  int
	}
	rows := make([]row, 0, len(spans))
	for i := range spans {
		s := &spans[i]
		caller := s.Caller
		if caller == "" {
			if p := byID[s.ParentSpanID]; p != nil {
				caller = p.Component
			} else {
				caller = s.Component
			}
		}
		rows = append(rows, row{span: s, caller: caller, depth: depth(s)})
	}
	sort.SliceStable(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		if !a.span.Start.Equal(b.span.Start) {
			return a.span.Start.Before(b.span.Start)
		}
		if a.depth != b.depth {
			return a.depth < b.depth
		}
		return a.span.Name < b.span.Name
	})

	// Columns: one per component, by kind in Components' order (the components of one kind,
	// "controller:deployment", "agent:node-a", in the order they first appear), a kind
	// without spans as its bare name, other kinds after them in order of appearance.
	var seen []string
	for _, r := range rows {
		for _, c := range []string{r.caller, r.span.Component} {
			if c != "" && !slices.Contains(seen, c) {
				seen = append(seen, c)
			}
		}
	}
	var names []string
	for _, kind := range Components {
		n := len(names)
		for _, c := range seen {
			if trace.Kind(c) == kind {
				names = append(names, c)
			}
		}
		if len(names) == n {
			names = append(names, kind)
		}
	}
	for _, c := range seen {
		if !slices.Contains(Components, trace.Kind(c)) {
			names = append(names, c)
		}
	}
	index := map[string]int{}
	columns := make([]Column, 0, len(names))
	for i, name := range names {
		index[name] = i
		kind, instance, _ := strings.Cut(name, ":")
		columns = append(columns, Column{Name: name, Kind: kind, Instance: instance, X: diagramLeft + i*columnWidth + columnWidth/2})
	}

	var first, last time.Time
	for i, r := range rows {
		if i == 0 || r.span.Start.Before(first) {
			first = r.span.Start
		}
		end := r.span.End
		if end.Before(r.span.Start) {
			end = r.span.Start
		}
		if i == 0 || end.After(last) {
			last = end
		}
	}
	total := last.Sub(first)
	timelineX := diagramLeft + len(columns)*columnWidth + timelineGap
	scale := func(d time.Duration) int {
		if total <= 0 {
			return 0
		}
		return int(int64(d) * timelineWidth / int64(total))
	}

	l := Layout{
		Columns:       columns,
		LifelineTop:   diagramTop,
		TimelineX:     timelineX,
		TimelineWidth: timelineWidth,
		Total:         total,
		TotalText:     FormatDuration(total),
	}
	for i, r := range rows {
		s := r.span
		d := s.End.Sub(s.Start)
		if d < 0 {
			d = 0
		}
		offset := s.Start.Sub(first)
		a := Arrow{
			Name: s.Name, Caller: r.caller, Component: s.Component,
			X1: columns[index[r.caller]].X, X2: columns[index[s.Component]].X,
			Y:      diagramTop + (i+1)*rowHeight,
			Offset: offset, Duration: d, Depth: r.depth,
			Label:      fmt.Sprintf("%s (%s)", s.Name, FormatDuration(d)),
			OffsetText: "+" + FormatDuration(offset),
			BarX:       timelineX + scale(offset),
			BarWidth:   max(scale(d), minTimelineBarW),
		}
		a.Self = a.X1 == a.X2
		l.Arrows = append(l.Arrows, a)
	}
	l.LifelineBottom = diagramTop + (len(rows)+1)*rowHeight
	l.Height = l.LifelineBottom + diagramBottom
	l.Width = timelineX + timelineWidth + 10
	return l
}

// FormatDuration prints d as people read timings: 850µs, 12ms, 1.25s, 2m3s.
func FormatDuration(d time.Duration) string {
	switch {
	case d <= 0:
		return "0"
	case d < time.Millisecond:
		return fmt.Sprintf("%dµs", d.Microseconds())
	case d < 100*time.Millisecond:
		return fmt.Sprintf("%.3gms", float64(d)/float64(time.Millisecond))
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.3gs", d.Seconds())
	default:
		return d.Round(time.Second).String()
	}
}
