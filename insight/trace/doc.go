// Package trace is the in-process tracing every Skiff component shares: an OpenTelemetry
// TracerProvider (go.opentelemetry.io/otel/sdk) whose span processor, the Store, keeps the
// finished spans of this process in a bounded ring buffer (the oldest are overwritten and
// counted as dropped), plus an OTLP/gRPC exporter when an endpoint is configured.
//
// Spans are tied to the objects they work on by attributes (the conventions below):
// k8s.object.uid, .kind, .namespace, .name, .resource_version and .owner_uids (so a
// Deployment's trace reaches its ReplicaSets' and their pods'), skiff.related_uids (an
// EndpointSlice write or a proxy sync names the pods it concerns), skiff.component (apiserver,
// etcd, controller:<name>, scheduler, agent:<node>, runtime, proxy, kubectl) and skiff.caller
// (the component whose request caused the span; when it is not set, the Store derives it from
// the span's parent or link, which WrapTransport carries from clients to the API server as a
// W3C traceparent header).
//
// The span sources: the API server's requests and their etcd3 calls, the controllers' reconciles
// (controllers.Traced), the watch events delivered to the components ("watch Pod event", the API
// server as the caller: Watch, shared by controllers.TracedWatch and TracedFor for
// controller-runtime watches and insight/watchtrace.Handler for client-go informers; the
// Deployment, ReplicaSet and Pod events of the deployment and replicaset controllers, the pods
// of the endpoints controller, the scheduler and the node agent, the proxy's Services and
// EndpointSlices, the node lifecycle controller's Nodes, the garbage collector's deletions;
// recorded when the handler is done, only when it queued work, not for an informer's initial
// list or a resync), the endpoints controller's EndpointSlice writes, the scheduler's steps, the node agent's pod syncs, runtime calls, status writes and
// probe result changes, and the service proxy's syncs that program rules for pods whose
// endpoints changed. Spans naming related objects carry at most MaxRelated of them.
//
// A span can also name the objects whose stories its work continues, skiff.effect_uids (the
// pods a ReplicaSet created, the pod a taint eviction deletes, the node a Fault silences), and
// the objects whose fate caused it, skiff.cause_uids (the gone pods a ReplicaSet replaces).
//
// What is recorded costs the API server per request (issue 16's goal: tracing under 5%): the
// sampler keeps writes (not reads, Leases or Events) and the spans under a kept parent, and
// flags the kept spans sampled only when they are exported over OTLP (k8s.io/apiserver attaches
// a Prometheus exemplar to each metric observed under a sampled span); WrapTransport sends a
// recorded span as a sampled traceparent. The API server is given Provider.APIServer, whose
// spans are its own (apiSpan: no SDK span limits, copies or events, kept by the Store as they
// are, exported over OTLP when configured): it starts none of the per-filter spans
// (authentication, audit, authorization, ...) nor the write handlers' and response encoding's
// (Create, Update, Patch, Delete, SerializeObject), so that a write is its request span, which
// names the object, and its etcd3 calls under it; the request span leaves out the connection's
// attributes nothing reads unless exported.
//
// A delivery span carries the delivered object's resourceVersion; JoinDeliveries (run by
// Visible, so by `skiff trace` and the web page) finds the API write that committed it (the API
// server's spans carry the version a write replaced: the write of the object with the highest
// replaced version below the delivered one) and adds skiff.watch.after_commit, the time from
// the end of its etcd3 span to the delivery, which the diagram prints ("watch Pod event 80µs,
// 1.2ms after the etcd commit"; "at most 3ms" from the span's start when the delivery came
// before the span ended: etcd tells watchers on commit, the span goes on to decode).
//
// Store.Query(uids) answers which spans concern those objects: the spans that name them, their
// descendants' (transitively, by owner UIDs), the objects their story goes on with (a span's
// effects when the span is in the story through its object or a cause, its causes when an
// effect is; each object from the time the story reaches it), and every span of the traces
// those belong to (the API server's etcd3 child spans carry no object attributes of their own).
//
// The package is a leaf: it imports only go.opentelemetry.io/otel*, k8s.io/apimachinery and the
// standard library, so that the API server, the controllers and the node agent can all use it.
package trace
