// Package endpoints is Skiff's endpoints controller. For every Service with a selector it
// keeps two views of the selected pods, as upstream's endpoints and endpointslice controllers:
// the core/v1 Endpoints object of the same name (ready and not-ready addresses, per-pod port
// resolution of named targetPorts, publishNotReadyAddresses) and discovery.k8s.io/v1
// EndpointSlices (at most 100 endpoints each, with ready/serving/terminating conditions),
// owned by the Service. Services without a selector are left to their users.
package endpoints
