package ui

import (
	"fmt"
	"strings"
	"time"

	"github.com/skiff-dev/skiff/insight/trace"
)

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
	// Label is "name (duration)", for a watch delivery with its delay after the etcd commit;
	// OffsetText "+offset".
	Label, OffsetText string
	// BarX and BarWidth place the span on the timeline at the right (start and length scaled
	// to the whole trace).
	BarX, BarWidth int
	// Critical is set when the span is on the critical path (`skiff trace` marks it with '*').
	Critical bool
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
	// Critical is the sum of the critical path's spans (trace.CriticalPath), CriticalSpans
	// their number: the figure `skiff trace` prints last.
	Critical      time.Duration
	CriticalText  string
	CriticalSpans int
}

// Diagram lays out spans as `skiff trace` draws them (insight/trace's Render), so that the page
// and the terminal show the same diagram: the spans trace.Visible keeps, in start order; one
// column per component in trace.Columns' order; one arrow per span from its caller's column to
// its component's (on its component's own lifeline when it has no caller or calls itself); the
// spans of trace.CriticalPath marked and summed. Pure: the same spans give the same layout.
func Diagram(spans []trace.Span) Layout {
	spans = trace.Visible(spans)
	names := trace.Columns(spans)
	index := map[string]int{}
	columns := make([]Column, 0, len(names))
	for i, name := range names {
		index[name] = i
		kind, instance, _ := strings.Cut(name, ":")
		columns = append(columns, Column{Name: name, Kind: kind, Instance: instance, X: diagramLeft + i*columnWidth + columnWidth/2})
	}
	path := trace.CriticalPath(spans)
	critical := make(map[int]bool, len(path))
	for _, i := range path {
		critical[i] = true
	}

	var first, last time.Time
	for i, s := range spans {
		end := s.End
		if end.Before(s.Start) {
			end = s.Start
		}
		if i == 0 || s.Start.Before(first) {
			first = s.Start
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
		TotalText:     trace.FormatDuration(total),
		Critical:      trace.Sum(spans, path),
		CriticalSpans: len(path),
	}
	l.CriticalText = trace.FormatDuration(l.Critical)
	for i, s := range spans {
		d := max(s.Duration(), 0)
		offset := s.Start.Sub(first)
		caller := s.Caller
		if _, ok := index[caller]; !ok {
			caller = s.Component
		}
		a := Arrow{
			Name: s.Name, Caller: caller, Component: s.Component,
			X1: columns[index[caller]].X, X2: columns[index[s.Component]].X,
			Y:      diagramTop + (i+1)*rowHeight,
			Offset: offset, Duration: d, Critical: critical[i],
			Label:      fmt.Sprintf("%s (%s%s)", s.Name, trace.FormatDuration(d), trace.AfterCommitText(s)),
			OffsetText: "+" + trace.FormatDuration(offset),
			BarX:       timelineX + scale(offset),
			BarWidth:   max(scale(d), minTimelineBarW),
		}
		a.Self = a.X1 == a.X2
		l.Arrows = append(l.Arrows, a)
	}
	l.LifelineBottom = diagramTop + (len(spans)+1)*rowHeight
	l.Height = l.LifelineBottom + diagramBottom
	l.Width = timelineX + timelineWidth + 10
	return l
}
