package trace

import (
	"strconv"
	"strings"
	"time"
)

// AttrAfterCommit is the time from the etcd commit of a delivered object's resourceVersion to
// its delivery (a Go duration), which JoinDeliveries adds to delivery spans: how long the API
// server's watch took to bring the write to the component.
const AttrAfterCommit = "skiff.watch.after_commit"

// AttrAfterCommitAtMost marks an AttrAfterCommit that is an upper bound: the delivery came
// before the etcd3 span ended (etcd tells the watch as soon as the transaction commits, while
// the span goes on to decode the result), so the commit was between the span's start and the
// delivery, and the delay is at most the time from the span's start.
const AttrAfterCommitAtMost = "skiff.watch.after_commit_at_most"

// AttrCommitSpan is the span ID of the write (its etcd3 span when there is one) whose commit a
// delivery span was joined with.
const AttrCommitSpan = "skiff.watch.commit_span"

// JoinDeliveries finds, for each watch delivery span (Watch.Delivered), the API
// write that committed the delivered resourceVersion, and adds to it AttrAfterCommit and
// AttrCommitSpan. The API server's write spans carry the object as admission saw it, with
// the resourceVersion the write replaced (none for a create), so the write that committed
// version R of an object is the successful write of that object, started before the
// delivery, with the highest replaced version below R (the latest started among equals: a
// no-op write replaces the same version). Its commit is the end of its etcd3 Create or
// GuaranteedUpdate span, or the write's own end when it has none (a delete); a delivery that
// came before that end gets the time from the span's start as an upper bound
// (AttrAfterCommitAtMost). Spans are not modified: the joined ones get a copy of their
// attributes.
func JoinDeliveries(spans []Span) []Span {
	writes := map[string][]write{} // by object UID
	for i, sp := range spans {
		if w, ok := asWrite(sp); ok {
			w.index = i
			writes[w.uid] = append(writes[w.uid], w)
		}
	}
	if len(writes) == 0 {
		return spans
	}
	commits := etcdCommits(spans)
	var out []Span
	for i, sp := range spans {
		w := deliveredBy(sp, writes, spans)
		if w < 0 {
			continue
		}
		commit := spans[w]
		if c, ok := commitOf(commit, commits); ok {
			commit = c
		}
		if out == nil {
			out = append([]Span(nil), spans...)
		}
		attrs := make(map[string]string, len(sp.Attributes)+2)
		for k, v := range sp.Attributes {
			attrs[k] = v
		}
		if d := sp.Start.Sub(commit.End); d >= 0 {
			attrs[AttrAfterCommit] = d.String()
		} else {
			attrs[AttrAfterCommit] = max(sp.Start.Sub(commit.Start), 0).String()
			attrs[AttrAfterCommitAtMost] = "true"
		}
		attrs[AttrCommitSpan] = commit.SpanID
		out[i].Attributes = attrs
	}
	if out == nil {
		return spans
	}
	return out
}

// AfterCommit is the delay JoinDeliveries found for a delivery span (an upper bound when
// AttrAfterCommitAtMost is set).
func AfterCommit(sp Span) (time.Duration, bool) {
	v, ok := sp.Attributes[AttrAfterCommit]
	if !ok {
		return 0, false
	}
	d, err := time.ParseDuration(v)
	return d, err == nil
}

// write is an API write of an object: the resourceVersion it replaced (0: a create).
type write struct {
	index    int
	uid      string
	replaced uint64
}

// writeVerbs are the HTTP methods (and verbs) of API server spans that write.
var writeVerbs = map[string]bool{"POST": true, "PUT": true, "PATCH": true, "DELETE": true,
	"create": true, "update": true, "patch": true, "delete": true}

// asWrite reads an API server span that writes an object (the request span the admission
// annotator gave the object's attributes, or a handler span's where k8s.io/apiserver starts
// them), leaving out failed ones.
func asWrite(sp Span) (write, bool) {
	uid := sp.Attributes[AttrUID]
	verb := sp.Attributes["http.request.method"]
	if verb == "" {
		verb = sp.Attributes["verb"]
	}
	if sp.Component != ComponentAPIServer || uid == "" || sp.Attributes[AttrWatchEvent] != "" || !writeVerbs[verb] {
		return write{}, false
	}
	for _, k := range []string{"http.response.status_code", "http.status_code"} {
		if c, err := strconv.Atoi(sp.Attributes[k]); err == nil && c >= 400 {
			return write{}, false
		}
	}
	rv, ok := resourceVersion(sp)
	if !ok && sp.Attributes[AttrResourceVersion] != "" {
		return write{}, false
	}
	return write{uid: uid, replaced: rv}, true
}

// resourceVersion reads a span's object resourceVersion as a number (etcd's revision).
func resourceVersion(sp Span) (uint64, bool) {
	rv, err := strconv.ParseUint(sp.Attributes[AttrResourceVersion], 10, 64)
	return rv, err == nil
}

// deliveredBy is the index in spans of the write that committed what the delivery span sp
// delivered, or -1 (not a delivery, or no such write among spans).
func deliveredBy(sp Span, writes map[string][]write, spans []Span) int {
	if sp.Attributes[AttrWatchEvent] == "" {
		return -1
	}
	rv, ok := resourceVersion(sp)
	if !ok {
		return -1
	}
	best := -1
	var bestRV uint64
	for _, w := range writes[sp.Attributes[AttrUID]] {
		ws := spans[w.index]
		if w.replaced >= rv || !ws.Start.Before(sp.Start) {
			continue
		}
		if best < 0 || w.replaced > bestRV || w.replaced == bestRV && ws.Start.After(spans[best].Start) {
			best, bestRV = w.index, w.replaced
		}
	}
	return best
}

// etcdCommits are the etcd3 write spans by trace.
func etcdCommits(spans []Span) map[string][]Span {
	out := map[string][]Span{}
	for _, sp := range spans {
		if sp.Component == ComponentEtcd && (strings.HasPrefix(sp.Name, "Create ") || strings.HasPrefix(sp.Name, "GuaranteedUpdate ")) {
			out[sp.TraceID] = append(out[sp.TraceID], sp)
		}
	}
	return out
}

// commitOf is the last-ending etcd3 write span of the write's trace within its bounds.
func commitOf(w Span, commits map[string][]Span) (Span, bool) {
	var best Span
	found := false
	for _, c := range commits[w.TraceID] {
		if c.Start.Before(w.Start) || c.End.After(w.End) {
			continue
		}
		if !found || c.End.After(best.End) {
			best, found = c, true
		}
	}
	return best, found
}

// AfterCommitText is how long after the etcd commit a watch delivery came (JoinDeliveries).
func AfterCommitText(sp Span) string {
	if d, ok := AfterCommit(sp); ok {
		if sp.Attributes[AttrAfterCommitAtMost] != "" {
			return ", at most " + FormatDuration(d) + " after the etcd commit"
		}
		return ", " + FormatDuration(d) + " after the etcd commit"
	}
	return ""
}
