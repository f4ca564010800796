// Package ingress is Skiff's built-in ingress controller. It runs in every node agent process,
// on the host network, and serves the networking.k8s.io/v1 Ingresses whose class is an
// IngressClass with spec.controller skiff.dev/ingress-controller (helper.IngressController),
// and those without a class when such a class is the default (annotation
// ingressclass.kubernetes.io/is-default-class: "true"), as upstream controllers decide. The
// deprecated kubernetes.io/ingress.class annotation counts only when it names such a class.
//
// It is built on Go's net/http and net/http/httputil.ReverseProxy rather than on an external
// proxy (nginx, Envoy): no dependency and no process to supervise, HTTP/1.1 and HTTP/2 on the
// TLS port, websockets and other Upgrades through ReverseProxy's own support, and a reload that
// is a pointer swap inside the process instead of a configuration file and a signal.
//
// The routing decisions are pure (table.go): BuildTable turns the served Ingresses, Services,
// EndpointSlices and TLS Secrets into an immutable Table, and Table.Route chooses the backend
// of a host and path with upstream's semantics (exact and one-label wildcard hosts, Exact and
// element-wise Prefix paths with ImplementationSpecific treated as Prefix, longest path first,
// Exact before Prefix, the oldest Ingress winning conflicts as in ingress-nginx, the default
// backend, else 404). Requests go straight to the ready pod IPs of the backend Service port
// (round-robin), as ingress-nginx does, with X-Forwarded-For, -Host and -Proto set; a backend
// without ready endpoints answers 503, and so does a resource backend, which cannot be served:
// it gets one Warning event (UnsupportedBackend) on its Ingress.
//
// TLS: the certificates of spec.tls are chosen by SNI (exact host, then wildcard, then the
// certificate of an entry without hosts or the first one, then a self-signed certificate made
// at start). The node may read only the Secrets that an Ingress names (the node authorizer's
// Ingress edge), so each is listed and watched by name (a metadata.name field selector), as
// the kubelet watches its pods' Secrets. A Secret that is not a valid kubernetes.io/tls one
// gets a Warning event (BadTLSSecret) and is skipped.
//
// Every change of the watched objects builds a new Table, swapped in atomically: the listeners
// never close and requests in flight finish on the backend they chose. The controller records
// the ports it listens on in the annotation skiff.dev/ingress-ports of its own Node; the
// control plane's controllers/ingress writes the Ingresses' status.loadBalancer from the
// Ready nodes that have it, so that the status has one writer.
package ingress
