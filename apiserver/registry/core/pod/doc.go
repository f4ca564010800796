// Package pod is the storage of core/v1 pods (NewREST): the pod strategy hooks (Pending on
// create, QoS class, graceful deletion, field selectors, metadata.generation and the
// observedGeneration a status write keeps), pods/resize (upstream's resize strategy: only the
// containers' resources and resize policies change, generation bumped, ValidatePodResize;
// resize.go), pods/binding and the legacy bindings resource,
// pods/eviction (a policy/v1 Eviction checked against the pod's PodDisruptionBudget,
// eviction.go), pods/ephemeralcontainers (kubectl debug: only spec.ephemeralContainers
// changes, containers are added and never removed or changed; ephemeralcontainers.go), the
// streams pods/log (plain or over a websocket), exec, attach and portforward
// proxied to node agents (streams.go), and pods/proxy to the pod's IP (proxy.go).
package pod
