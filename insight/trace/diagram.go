package trace

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// Kinds are the kinds of components in the order sequence diagrams draw their columns (`skiff
// trace` and the web page): the client, the API server, etcd, the controllers, the scheduler,
// the node agents, the container runtime, the service proxy.
var Kinds = []string{ComponentKubectl, ComponentAPIServer, ComponentEtcd, ComponentController, ComponentScheduler,
	ComponentAgent, ComponentRuntime, ComponentProxy}

// Kind is a component's kind: "controller" for "controller:deployment".
func Kind(component string) string {
	kind, _, _ := strings.Cut(component, ":")
	return kind
}

// rank orders the columns of a sequence diagram: by kind in Kinds' order, anything else after.
func rank(component string) int {
	if i := slices.Index(Kinds, Kind(component)); i >= 0 {
		return i
	}
	return len(Kinds)
}

// Columns lists the components of the spans (and their callers) in diagram order; components
// of one kind (controllers, agents) in the order they first appear.
func Columns(spans []Span) []string {
	first := map[string]int{}
	add := func(c string, i int) {
		if _, ok := first[c]; c != "" && !ok {
			first[c] = i
		}
	}
	for i, sp := range spans {
		add(sp.Caller, i)
		add(sp.Component, i)
	}
	cols := make([]string, 0, len(first))
	for c := range first {
		cols = append(cols, c)
	}
	sort.Slice(cols, func(i, j int) bool {
		if ri, rj := rank(cols[i]), rank(cols[j]); ri != rj {
			return ri < rj
		}
		if first[cols[i]] != first[cols[j]] {
			return first[cols[i]] < first[cols[j]]
		}
		return cols[i] < cols[j]
	})
	return cols
}

// CriticalPath picks the chain of spans that decided when the work ended: among the leaf spans
// (those without children among spans), the chain of spans one after the other that ends with
// the leaf that ended last and covers the most time (the longest path through "ends before the
// next starts", so that short unrelated work squeezed between two steps does not break the
// chain). It returns the indexes into spans, earliest first. Overlaps of up to a millisecond
// between consecutive steps are tolerated (a watch event can be delivered before the writer's
// span has ended).
func CriticalPath(spans []Span) []int {
	parents := map[string]bool{}
	for _, sp := range spans {
		if sp.ParentSpanID != "" {
			parents[sp.ParentSpanID] = true
		}
	}
	var leaves []int
	for i, sp := range spans {
		if !parents[sp.SpanID] && !sp.End.Before(sp.Start) {
			leaves = append(leaves, i)
		}
	}
	if len(leaves) == 0 {
		return nil
	}
	sort.SliceStable(leaves, func(a, b int) bool { return spans[leaves[a]].End.Before(spans[leaves[b]].End) })
	const slack = time.Millisecond
	best := make([]time.Duration, len(leaves))
	prev := make([]int, len(leaves))
	for a, i := range leaves {
		best[a], prev[a] = spans[i].Duration(), -1
		for b := 0; b < a; b++ {
			j := leaves[b]
			if !spans[j].End.Before(spans[i].Start.Add(slack)) || !spans[j].Start.Before(spans[i].Start) {
				continue
			}
			if d := best[b] + spans[i].Duration(); d > best[a] {
				best[a], prev[a] = d, b
			}
		}
	}
	var path []int
	for a := len(leaves) - 1; a >= 0; a = prev[a] {
		path = append(path, leaves[a])
	}
	for i, j := 0, len(path)-1; i < j; i, j = i+1, j-1 {
		path[i], path[j] = path[j], path[i]
	}
	return path
}

// Sum is the total duration of the spans at these indexes.
func Sum(spans []Span, idx []int) time.Duration {
	var d time.Duration
	for _, i := range idx {
		d += spans[i].Duration()
	}
	return d
}

// Visible leaves out the spans nested inside a span of the same component without a caller of
// their own that either have children or are the API server's (k8s.io/apiserver's audit,
// authorization, handler and serialization spans around the request's storage call): the
// diagram keeps the request, its storage call and the other components' steps. Spans naming
// related objects (an EndpointSlice write and the pods it concerns) are always kept: they are
// why another object's trace holds the spans around them. Watch deliveries are joined with
// the writes they deliver (JoinDeliveries) first. Sorted by start.
func Visible(spans []Span) []Span {
	spans = JoinDeliveries(spans)
	comp := make(map[string]string, len(spans))
	parents := map[string]bool{}
	for _, sp := range spans {
		comp[sp.SpanID] = sp.Component
		if sp.ParentSpanID != "" {
			parents[sp.ParentSpanID] = true
		}
	}
	out := make([]Span, 0, len(spans))
	for _, sp := range spans {
		if c, ok := comp[sp.ParentSpanID]; ok && c == sp.Component && (sp.Caller == "" || sp.Caller == sp.Component) &&
			(parents[sp.SpanID] || sp.Component == ComponentAPIServer) && sp.Attributes[AttrRelatedUIDs] == "" {
			continue
		}
		out = append(out, sp)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Start.Before(out[j].Start) })
	return out
}

// Render draws the spans as a terminal sequence diagram: one column per component (Columns),
// one row per span in start order with an arrow from its caller to its component (a box on the
// component's line when it has no other caller), its start offset, name and duration; rows on
// the critical path are marked with '*'. The bottom lines give the time from the first start
// to the last end and the critical path's sum.
func Render(spans []Span) string {
	spans = Visible(spans)
	if len(spans) == 0 {
		return "no spans\n"
	}
	sort.SliceStable(spans, func(i, j int) bool { return spans[i].Start.Before(spans[j].Start) })
	cols := Columns(spans)
	const maxWidth = 20
	width := 9
	for _, c := range cols {
		width = max(width, min(len(header(c))+2, maxWidth))
	}
	center := make(map[string]int, len(cols))
	for i, c := range cols {
		center[c] = i*width + width/2
	}
	lineLen := len(cols) * width
	critical := map[int]bool{}
	path := CriticalPath(spans)
	for _, i := range path {
		critical[i] = true
	}
	t0, end := spans[0].Start, spans[0].End
	for _, sp := range spans {
		if sp.End.After(end) {
			end = sp.End
		}
	}
	var b strings.Builder
	// Header: the column names, centred and cut to the column width.
	head := []rune(strings.Repeat(" ", lineLen))
	for i, c := range cols {
		name := header(c)
		if len(name) > width-1 {
			name = name[:width-1]
		}
		start := i*width + (width-len(name))/2
		copy(head[start:], []rune(name))
	}
	fmt.Fprintf(&b, "%-11s%s\n", "", strings.TrimRight(string(head), " "))
	for i, sp := range spans {
		row := []rune(strings.Repeat(" ", lineLen))
		for _, c := range cols {
			row[center[c]] = '|'
		}
		to := center[sp.Component]
		from, ok := center[sp.Caller]
		if !ok || sp.Caller == sp.Component {
			row[to] = '#'
		} else {
			lo, hi := min(from, to), max(from, to)
			for x := lo + 1; x < hi; x++ {
				row[x] = '-'
			}
			if to > from {
				row[to-1] = '>'
			} else {
				row[to+1] = '<'
			}
		}
		mark := ' '
		if critical[i] {
			mark = '*'
		}
		fmt.Fprintf(&b, "%c %8s %s  %s %s%s\n", mark, "+"+FormatDuration(sp.Start.Sub(t0)), string(row), sp.Name,
			FormatDuration(sp.Duration()), AfterCommitText(sp))
	}
	fmt.Fprintf(&b, "total %s from the first span's start to the last one's end; critical path (*) %s in %d spans\n",
		FormatDuration(end.Sub(t0)), FormatDuration(Sum(spans, path)), len(path))
	return b.String()
}

// header is a column's name as the diagram prints it (controller:x as ctl:x).
func header(component string) string {
	if name, ok := strings.CutPrefix(component, ComponentController+":"); ok {
		return "ctl:" + name
	}
	return component
}

// FormatDuration prints a duration as people read timings, to three significant digits: 850µs,
// 1.5ms, 12ms, 340ms, 1.25s, 2m3s ("0" for none, "-" before a negative one). `skiff trace`, the
// web page's diagram and the tour in docs/ print every duration with it.
func FormatDuration(d time.Duration) string {
	switch {
	case d == 0:
		return "0"
	case d < 0:
		return "-" + FormatDuration(-d)
	case d < time.Millisecond:
		return fmt.Sprintf("%dµs", d.Microseconds())
	case d < 100*time.Millisecond:
		return fmt.Sprintf("%.3gms", float64(d)/float64(time.Millisecond))
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.3gs", d.Seconds())
	}
	return d.Round(time.Second).String()
}
