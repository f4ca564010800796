package trace

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestJoinDeliveries(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 5, 0, 0, 0, time.UTC)
	ms := func(v float64) time.Time { return t0.Add(time.Duration(v * float64(time.Millisecond))) }
	// write is the API server's handler span of a write of pod-1 replacing version replaced
	// ("": a create), with its etcd3 span ending at commit (0: none, a delete).
	write := func(id, verb, uid, replaced string, from, commit, to float64) []Span {
		attrs := map[string]string{AttrUID: uid, AttrKind: "Pod", "verb": verb}
		if replaced != "" {
			attrs[AttrResourceVersion] = replaced
		}
		out := []Span{{TraceID: "t-" + id, SpanID: id, Name: verb + " pods", Component: ComponentAPIServer, Start: ms(from), End: ms(to),
			Attributes: attrs}}
		if commit > 0 {
			name := "GuaranteedUpdate etcd3"
			if verb == "POST" {
				name = "Create etcd3"
			}
			out = append(out, Span{TraceID: "t-" + id, SpanID: id + "-etcd", ParentSpanID: id, Name: name, Component: ComponentEtcd,
				Caller: ComponentAPIServer, Start: ms(from + 0.1), End: ms(commit)})
		}
		return out
	}
	delivery := func(id, component, uid, rv string, at float64) Span {
		return Span{TraceID: "t-" + id, SpanID: id, Name: WatchSpanName("Pod"), Component: component, Caller: ComponentAPIServer,
			Start: ms(at), End: ms(at + 0.05), Attributes: map[string]string{AttrUID: uid, AttrResourceVersion: rv, AttrWatchEvent: WatchModified}}
	}
	spans := func(parts ...any) []Span {
		var out []Span
		for _, p := range parts {
			switch p := p.(type) {
			case Span:
				out = append(out, p)
			case []Span:
				out = append(out, p...)
			}
		}
		return out
	}
	for _, tc := range []struct {
		name  string
		spans []Span
		// want is, per delivery span, "id: commit span id after" or "id: -" when not joined.
		want []string
	}{
		{"a create delivered to two components", spans(
			write("create", "POST", "pod-1", "", 0, 2, 3),
			delivery("rs", "controller:replicaset", "pod-1", "10", 2.5),
			delivery("sched", "scheduler", "pod-1", "10", 4),
		), []string{"rs: create-etcd 500µs", "sched: create-etcd 2ms"}},
		{"each version of a pod to the write that committed it", spans(
			write("create", "POST", "pod-1", "", 0, 2, 3),
			write("bind", "POST", "pod-1", "10", 5, 6, 7),
			write("status", "PATCH", "pod-1", "11", 20, 21, 22),
			delivery("d10", "scheduler", "pod-1", "10", 3),
			delivery("d11", "agent:n1", "pod-1", "11", 6.5),
			delivery("d12", "controller:replicaset", "pod-1", "12", 23),
		), []string{"d10: create-etcd 1ms", "d11: bind-etcd 500µs", "d12: status-etcd 2ms"}},
		{"a late delivery of an older version while a newer write runs", spans(
			write("create", "POST", "pod-1", "", 0, 2, 3),
			write("bind", "POST", "pod-1", "10", 5, 6, 7),
			delivery("old", "controller:endpoints", "pod-1", "10", 5.5),
		), []string{"old: create-etcd 3.5ms"}},
		{"a delivery before the etcd3 span's end: at most the time from its start", spans(
			write("create", "POST", "pod-1", "", 0, 5, 6),
			delivery("early", "scheduler", "pod-1", "10", 3),
		), []string{"early: create-etcd at most 2.9ms"}},
		{"a no-op write of the same version: the latest started before the delivery", spans(
			write("create", "POST", "pod-1", "", 0, 2, 3),
			write("noop", "PATCH", "pod-1", "10", 4, 0, 4.5),
			write("label", "PATCH", "pod-1", "10", 5, 6, 7),
			delivery("d", "controller:replicaset", "pod-1", "11", 7.2),
		), []string{"d: label-etcd 1.2ms"}},
		{"a delete without an etcd3 span: its end", spans(
			write("create", "POST", "pod-1", "", 0, 2, 3),
			write("delete", "DELETE", "pod-1", "10", 10, 0, 12),
			delivery("gone", "controller:replicaset", "pod-1", "13", 12.5),
		), []string{"gone: delete 500µs"}},
		{"no write of that object, or of an older version, or not a number", spans(
			write("other", "POST", "pod-2", "", 0, 2, 3),
			write("later", "PATCH", "pod-1", "20", 0, 2, 3),
			delivery("a", "scheduler", "pod-1", "10", 4),
			delivery("b", "scheduler", "pod-2", "x", 4),
		), []string{"a: -", "b: -"}},
		{"a write that started after the delivery is not its cause", spans(
			write("create", "POST", "pod-1", "", 10, 12, 13),
			delivery("early", "scheduler", "pod-1", "10", 5),
		), []string{"early: -"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := fmt.Sprint(tc.spans)
			joined := JoinDeliveries(tc.spans)
			if fmt.Sprint(tc.spans) != before {
				t.Error("JoinDeliveries modified its input")
			}
			var got []string
			for _, sp := range joined {
				if sp.Attributes[AttrWatchEvent] == "" {
					continue
				}
				d, ok := AfterCommit(sp)
				if !ok {
					got = append(got, sp.SpanID+": -")
					continue
				}
				bound := ""
				if sp.Attributes[AttrAfterCommitAtMost] != "" {
					bound = "at most "
				}
				got = append(got, fmt.Sprintf("%s: %s %s%s", sp.SpanID, sp.Attributes[AttrCommitSpan], bound, FormatDuration(d)))
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestRenderShowsTheDelayAfterCommit(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 5, 0, 0, 0, time.UTC)
	ms := func(v float64) time.Time { return t0.Add(time.Duration(v * float64(time.Millisecond))) }
	spans := []Span{
		{TraceID: "a", SpanID: "post", Name: "POST pods", Component: ComponentAPIServer, Caller: ComponentKubectl, Start: ms(0), End: ms(3)},
		{TraceID: "a", SpanID: "create", ParentSpanID: "post", Name: "Create", Component: ComponentAPIServer, Start: ms(0.2), End: ms(2.9),
			Attributes: map[string]string{AttrUID: "pod-1", "verb": "POST"}},
		{TraceID: "a", SpanID: "etcd", ParentSpanID: "create", Name: "Create etcd3", Component: ComponentEtcd, Caller: ComponentAPIServer,
			Start: ms(0.5), End: ms(2)},
		{TraceID: "b", SpanID: "w", Name: "watch Pod event", Component: "scheduler", Caller: ComponentAPIServer, Start: ms(3.5), End: ms(3.6),
			Attributes: map[string]string{AttrUID: "pod-1", AttrResourceVersion: "7", AttrWatchEvent: WatchAdded}},
	}
	out := Render(spans)
	if !strings.Contains(out, "watch Pod event 100µs, 1.5ms after the etcd commit") {
		t.Errorf("the diagram does not show the delivery's delay:\n%s", out)
	}
}
