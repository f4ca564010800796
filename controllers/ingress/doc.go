// Package ingress is the control plane's half of Skiff's built-in ingress controller: it
// writes status.loadBalancer of the Ingresses that the node agents serve (nodeagent/ingress),
// so that the status has one writer however many nodes serve. Each node's ingress controller
// records the ports it listens on in the annotation skiff.dev/ingress-ports of its own Node;
// this controller gives every Ingress served by an IngressClass of skiff.dev/ingress-controller
// (by name, or as the default class) one status.loadBalancer.ingress[].ip per distinct
// InternalIP of the Ready nodes that have the annotation, sorted, and writes only when that
// changes. Ingresses of other controllers are left alone.
package ingress
