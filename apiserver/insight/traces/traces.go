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
	// Peers lists the other API servers of an HA control plane ("host:port"), whose stores
	// hold the writes they served and the spans of the controllers running beside them (nil:
	// none). They are asked with LocalParam, so that they answer from their own store only.
	Peers func(ctx context.Context) ([]string, error)
	// PeerTransport reaches the peers (TLS with a client certificate they accept).
	PeerTransport http.RoundTripper
	// Timeout bounds each node's and peer's answer (2 s when 0).
	Timeout time.Duration
}

// LocalParam=true asks an API server for the spans of its own store only (a peer's question).
const LocalParam = "local"

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
		lists := [][]trace.Span{c.Store.Query(uids, ancestors)}
		if q.Get(LocalParam) != "true" {
			lists = append(lists, c.fromPeers(r.Context(), uids, ancestors)...)
			if c.Nodes != nil && c.Connect != nil {
				lists = append(lists, c.fromNodes(r.Context(), append(uids, objectUIDs(lists...)...), ancestors)...)
			}
		}
		trace.WriteResponse(w, Merge(uids, ancestors, lists...))
	})
}

// objectUIDs are the objects the spans name (descendants found by owner, so that the nodes
// are asked about a Deployment's pods).
func objectUIDs(lists ...[]trace.Span) []string {
	seen := map[string]bool{}
	var out []string
	for _, spans := range lists {
		for _, sp := range spans {
			if u := sp.Attributes[trace.AttrUID]; u != "" && !seen[u] {
				seen[u] = true
				out = append(out, u)
			}
		}
	}
	return out
}

// fromPeers asks every other API server for its own spans, in parallel; one that does not
// answer is left out.
func (c Config) fromPeers(ctx context.Context, uids, ancestors []string) [][]trace.Span {
	if c.Peers == nil || c.PeerTransport == nil {
		return nil
	}
	peers, err := c.Peers(ctx)
	if err != nil {
		klog.FromContext(ctx).V(2).Info("Listing API server peers for traces failed", "err", err)
		return nil
	}
	q := url.Values{"uid": uids, "ancestor": ancestors, LocalParam: {"true"}}.Encode()
	return gather(peers, func(peer string) ([]trace.Span, error) {
		ctx, cancel := context.WithTimeout(ctx, c.Timeout)
		defer cancel()
		return get(ctx, &url.URL{Scheme: "https", Host: peer}, c.PeerTransport, q)
	}, func(peer string, err error) {
		klog.FromContext(ctx).V(2).Info("Reading an API server peer's traces failed", "peer", peer, "err", err)
	})
}

// fromNodes asks every node's agent, in parallel; a node that does not answer is left out.
func (c Config) fromNodes(ctx context.Context, uids, ancestors []string) [][]trace.Span {
	nodes, err := c.Nodes()
	if err != nil {
		klog.FromContext(ctx).V(2).Info("Listing nodes for traces failed", "err", err)
		return nil
	}
	q := url.Values{"uid": uids, "ancestor": ancestors}.Encode()
	return gather(nodes, func(n string) ([]trace.Span, error) {
		ctx, cancel := context.WithTimeout(ctx, c.Timeout)
		defer cancel()
		base, rt, err := c.Connect(ctx, n)
		if err != nil {
			return nil, err
		}
		return get(ctx, base, rt, q)
	}, func(n string, err error) {
		klog.FromContext(ctx).V(2).Info("Reading a node's traces failed", "node", n, "err", err)
	})
}

// gather calls ask for every source in parallel and keeps the answers; failed is told of the
// others.
func gather(sources []string, ask func(string) ([]trace.Span, error), failed func(string, error)) [][]trace.Span {
	var mu sync.Mutex
	var out [][]trace.Span
	var wg sync.WaitGroup
	for _, src := range sources {
		wg.Add(1)
		go func() {
			defer wg.Done()
			spans, err := ask(src)
			if err != nil {
				failed(src, err)
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

// get reads Path with query from the server at base (the callers bound ctx by the Timeout).
func get(ctx context.Context, base *url.URL, rt http.RoundTripper, query string) ([]trace.Span, error) {
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
		return nil, fmt.Errorf("%s answered %s", base.Host, resp.Status)
	}
	var body trace.Response
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(&body); err != nil {
		return nil, fmt.Errorf("decoding %s's traces: %w", base.Host, err)
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
