// Package networking is the storage of networking.k8s.io/v1 (Provider): ipaddresses, the objects
// through which registry/core/service allocates ClusterIPs; networkpolicies (stored, not yet
// enforced); ingresses with their status and ingressclasses, served by the node agents' ingress
// controller (nodeagent/ingress); EnsureDefaultIngressClass creates the built-in default class
// `skiff` at start.
// Defaults and validation are in apis/, tables in apiserver/printers, the DefaultIngressClass
// admission plugin in apiserver/admission.
package networking
