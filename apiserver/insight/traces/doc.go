// Package traces is the API server's side of `skiff trace`: the admission plugin that ties each
// write's request span (k8s.io/apiserver's own OpenTelemetry span, with its etcd3 children) to
// the object written or deleted (k8s.object.uid, kind, namespace, name, owners; the caller from the user),
// and the handler of GET /insight/v1/traces?uid=UID[&uid=...] (a non-resource path, authorized
// as any: cluster-admin may; for an object that is gone, kind=KIND&namespace=NS&name=NAME
// instead of uid picks the latest object of that name the spans name, and its owners as
// ancestors), which answers {"spans":[...]} (insight/trace.Span) from this
// process's store merged with every node agent's (/insight/v1/traces on the agent's server,
// reached with the node client as nodes/proxy; a node sharing this process's store answers the
// same spans, which are deduplicated) and with every other API server of an HA control plane:
// the members find each other by their identity Leases (kube-system, label
// apiserver.kubernetes.io/identity=kube-apiserver, address in kubernetes.io/peer-advertise-address,
// renewed in the last 30 s) and ask each other with local=true (a member answers that from its
// own store only), as system:apiserver with a client certificate of the shared CA. So a query
// through any member shows the writes other members served and the spans of the controllers
// running beside the leader. A gone object's name is resolved in this member's store only.
package traces
