// Package watchtrace records the watch events a client-go informer delivers to a component
// (the node agent's pods, the service proxy's Services and EndpointSlices, the node lifecycle
// controller's Nodes) as delivery spans, with insight/trace.Watch: the mechanism the
// controllers' watches (controllers.TracedWatch, TracedFor) and the scheduler's share. It is
// apart from insight/trace, which stays a leaf without client-go.
package watchtrace
