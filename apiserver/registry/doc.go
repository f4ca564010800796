// Package registry holds what every kind's storage shares: the Kind descriptor (scope, status
// handling, field-selector attributes, graceful deletion), the generic Strategy it drives, the
// store builder on top of k8s.io/apiserver's registry Store with the table convertor from
// apiserver/printers, the status and scale subresources, the proxy subresource of pods,
// services and nodes (ProxyREST, proxy.go: each gives its location), and Build, which runs one
// RESTStorageProvider per API group in order.
//
// Each group's storage lives in its own package below: core (with core/pod, core/service,
// core/namespace, core/node), apps, batch, coordination, networking, discovery, certificates,
// rbac, scheduling, node, storage, authentication, authorization, events, policy,
// admissionregistration and flowcontrol.
//
// Defaulting happens in the codec (apis/defaults registered on the scheme), validation in the
// strategy (apis/validation, plus a Kind's own Validate for checks that need k8s.io/apiserver,
// such as compiling CEL), table conversion in apiserver/printers.
package registry
