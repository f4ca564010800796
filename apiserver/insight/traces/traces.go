package traces

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"sort"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	oteltrace "go.opentelemetry.io/otel/trace"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/klog/v2"

	"github.com/skiff-dev/skiff/insight/trace"
)

// Path is where the API server serves spans (insight/trace.Path).
const Path = trace.Path

// Annotator is a validating admission plugin that adds the object's attributes to the
// request's span (it runs after the object has its UID, before it is stored; for a delete,
// with the object being deleted).
type Annotator struct{}

var _ admission.ValidationInterface = Annotator{}

// Handles writes that carry an object, and deletes.
func (Annotator) Handles(op admission.Operation) bool {
	return op == admission.Create || op == admission.Update || op == admission.Delete
}

// Validate annotates the span and never refuses.
func (Annotator) Validate(ctx context.Context, a admission.Attributes, _ admission.ObjectInterfaces) error {
	span := oteltrace.SpanFromContext(ctx)
	o := a.GetObject()
	if a.GetOperation() == admission.Delete {
		o = a.GetOldObject()
	}
	if !span.IsRecording() || o == nil {
		return nil
	}
	obj, err := meta.Accessor(o)
	if err != nil {
		return nil
	}
	kind := a.GetKind().Kind
	attrs := trace.Object(kind, obj)
	if sub := a.GetSubresource(); sub != "" {
		attrs = append(attrs, attribute.String("k8s.subresource", sub))
	}
	if u := a.GetUserInfo(); u != nil {
		if c := trace.CallerOf(u.GetName(), ""); c != "" {
			attrs = append(attrs, trace.Caller(c))
		}
	}
	span.SetAttributes(attrs...)
	return nil
}

// Config configures the handler.
type Config struct {
	// Store is this process's span store.
	Store *trace.Store
	// Nodes lists the nodes whose agents are asked too (nil: none).
	Nodes func() ([]string, error)
	// Connect returns a node agent's base URL and the transport to reach it.
	Connect func(ctx context.Context, nodeName string) (*url.URL, http.RoundTripper, error)
	// Timeout bounds each node's answer (2 s when 0).
	Timeout time.Duration
}

// Handler serves Path.
func Handler(c Config) http.Handler {
	if c.Timeout <= 0 {
		c.Timeout = 2 * time.Second
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			http.Error(w, "only GET", http.StatusMethodNotAllowed)
			return
		}
		q := r.URL.Query()
		uids, ancestors := q["uid"], q["ancestor"]
		if len(uids) == 0 && q.Get("name") != "" {
			// An object that is gone: the one of that kind and name the spans last named.
			uid, owners := c.Store.Resolve(q.Get("kind"), q.Get("namespace"), q.Get("name"))
			if uid == "" {
				http.Error(w, fmt.Sprintf("no spans about %s %s", q.Get("kind"), path.Join(q.Get("namespace"), q.Get("name"))), http.StatusNotFound)
				return
			}
			uids, ancestors = []string{uid}, append(ancestors, owners...)
		}
		if len(uids) == 0 {
			http.Error(w, "uid (or kind, namespace and name) is required", http.StatusBadRequest)
			return
		}
		own := c.Store.Query(uids, ancestors)
		lists := [][]trace.Span{own}
		if c.Nodes != nil && c.Connect != nil {
			lists = append(lists, c.fromNodes(r.Context(), append(uids, objectUIDs(own)...), ancestors)...)
		}
		trace.WriteResponse(w, Merge(uids, ancestors, lists...))
	})
}

// objectUIDs are the objects the spans name (descendants found by owner, so that the nodes
// are asked about a Deployment's pods).
func objectUIDs(spans []trace.Span) []string {
	seen := map[string]bool{}
	var out []string
	for _, sp := range spans {
		if u := sp.Attributes[trace.AttrUID]; u != "" && !seen[u] {
			seen[u] = true
			out = append(out, u)
		}
	}
	return out
}

// fromNodes asks every node's agent, in parallel; a node that does not answer is left out.
func (c Config) fromNodes(ctx context.Context, uids, ancestors []string) [][]trace.Span {
	nodes, err := c.Nodes()
	if err != nil {
		klog.FromContext(ctx).V(2).Info("Listing nodes for traces failed", "err", err)
		return nil
	}
	q := url.Values{"uid": uids, "ancestor": ancestors}.Encode()
	var mu sync.Mutex
	var out [][]trace.Span
	var wg sync.WaitGroup
	for _, n := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			spans, err := c.fromNode(ctx, n, q)
			if err != nil {
				klog.FromContext(ctx).V(2).Info("Reading a node's traces failed", "node", n, "err", err)
				return
			}
			mu.Lock()
			out = append(out, spans)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return out
}

func (c Config) fromNode(ctx context.Context, node, query string) ([]trace.Span, error) {
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	base, rt, err := c.Connect(ctx, node)
	if err != nil {
		return nil, err
	}
	u := *base
	u.Path, u.RawQuery = Path, query
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := (&http.Client{Transport: rt}).Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("node %s answered %s", node, resp.Status)
	}
	var body trace.Response
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(&body); err != nil {
		return nil, fmt.Errorf("decoding node %s's traces: %w", node, err)
	}
	return body.Spans, nil
}

// Merge joins span lists from several stores (a span reported twice is kept once) and selects
// again over the union, so that callers resolve across processes (a node's status write linked
// to the agent's span); sorted by start.
func Merge(uids, ancestors []string, lists ...[]trace.Span) []trace.Span {
	seen := map[string]bool{}
	var all []trace.Span
	for _, l := range lists {
		for _, sp := range l {
			if !seen[sp.SpanID] {
				seen[sp.SpanID] = true
				all = append(all, sp)
			}
		}
	}
	out := trace.Select(all, uids, ancestors)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Start.Before(out[j].Start) })
	return out
}
