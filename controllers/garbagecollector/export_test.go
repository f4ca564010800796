package garbagecollector

import (
	"sort"

	"k8s.io/apimachinery/pkg/types"
)

// Observed reports whether the collector's graph holds the object with uid as seen by its
// informer (not only as a virtual owner). Tests wait on it before deleting in the foreground:
// like upstream, the collector decides on its graph, which lags the API by an informer hop.
func (gc *GarbageCollector) Observed(uid types.UID) bool {
	s, ok := gc.graph.snapshot(uid)
	return ok && !s.virtual
}

// SharedMonitors names the kinds the collector watches through the shared cache, sorted.
func (gc *GarbageCollector) SharedMonitors() []string {
	gc.monitors.mu.Lock()
	defer gc.monitors.mu.Unlock()
	var kinds []string
	for _, mon := range gc.monitors.byGVR {
		if mon.shared {
			kinds = append(kinds, mon.gvk.String())
		}
	}
	sort.Strings(kinds)
	return kinds
}
