// Package flowcontrol is the storage of flowcontrol.apiserver.k8s.io/v1 flowschemas and
// prioritylevelconfigurations with their status subresources (Provider), and the API server's
// bootstrap configuration (EnsureConfiguration, upstream's priority-and-fairness config
// producer): the mandatory objects (exempt, catch-all) and the suggested ones of
// k8s.io/apiserver's bootstrap package are created when missing. Validation keeps the mandatory
// objects' spec fixed (apis/validation).
//
// Aggregated API servers (k8s.io/apiserver's priority-and-fairness config consumer) read this
// configuration and need it to be served. Skiff's own server does not enforce it yet: its
// request limits are the max-in-flight ones, and nothing maintains the FlowSchemas' Dangling
// condition.
package flowcontrol
