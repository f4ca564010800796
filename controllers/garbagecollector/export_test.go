package garbagecollector

import "k8s.io/apimachinery/pkg/types"

// Observed reports whether the collector's graph holds the object with uid as seen by its
// informer (not only as a virtual owner). Tests wait on it before deleting in the foreground:
// like upstream, the collector decides on its graph, which lags the API by an informer hop.
func (gc *GarbageCollector) Observed(uid types.UID) bool {
	s, ok := gc.graph.snapshot(uid)
	return ok && !s.virtual
}
