// Package aggregator puts k8s.io/kube-aggregator in front of Skiff's API server, as
// kube-apiserver chains its servers: aggregator → core → apiextensions → not found.
//
// The aggregator serves apiregistration.k8s.io/v1 APIServices (stored in etcd), routes each
// group version to the local delegate chain or, for an APIService with spec.service, proxies it
// to that Service (resolved by the API server's shared service resolver) with the front-proxy
// client certificate and X-Remote-User/X-Remote-Group headers. It merges legacy and aggregated
// discovery and the OpenAPI v2 and v3 documents of every server, and keeps the APIServices'
// Available conditions (kube-aggregator's local and remote availability controllers).
//
// What kube-apiserver adds around the library lives here as Skiff's own code: the built-in group
// versions' APIServices and their discovery priorities (Priorities, BuiltinAPIServices), the
// registration of CRD group versions (CRDRegistration, upstream's crdregistration controller) and
// the autoregister-completion readiness check.
package aggregator
