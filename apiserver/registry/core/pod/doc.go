// Package pod is the storage of core/v1 pods (NewREST): the pod strategy hooks (Pending on
// create, QoS class, graceful deletion, field selectors), pods/binding and the legacy bindings
// resource, pods/eviction (a policy/v1 Eviction checked against the pod's PodDisruptionBudget,
// eviction.go), and the streams pods/log, exec, attach and portforward proxied to node agents.
package pod
