package apiserver

import (
	"os"
	"runtime/debug"
)

// ControlPlaneGCPercent is the garbage collector's target for a control-plane process when
// GOGC is not set: the heap may grow to three times the live data between collections instead
// of twice. An API server allocates a great deal per request (decoding, managedFields,
// encoding); at Go's default of 100, collection takes about a tenth of its CPU under a write
// load.
const ControlPlaneGCPercent = 200

// ControlPlaneMemoryLimit is the soft limit of the Go runtime's memory
// (runtime/debug.SetMemoryLimit) of a control-plane process when GOMEMLIMIT is not set. Below it
// ControlPlaneGCPercent stands; near it the collector runs more often rather than let the heap
// triple: at 2,000 simulated nodes and 10,000 pods the heap held 4.3 GiB for about 1.4 GiB of
// live data (issue 17, whose goal is 4 GiB at 50,000 pods). A machine with less memory than
// this sees no change.
const ControlPlaneMemoryLimit = 3 << 30

// TuneGC sets the collector's target of this process to ControlPlaneGCPercent and its soft
// memory limit to ControlPlaneMemoryLimit, each unless the user set it (GOGC, GOMEMLIMIT).
func TuneGC() {
	percent, limit := gcSettings(os.LookupEnv)
	if percent != 0 {
		debug.SetGCPercent(percent)
	}
	if limit != 0 {
		debug.SetMemoryLimit(limit)
	}
}

// gcSettings is what TuneGC sets given the environment: the GC percent and the memory limit,
// 0 for a setting the environment fixes.
func gcSettings(lookup func(string) (string, bool)) (percent int, limit int64) {
	if _, set := lookup("GOGC"); !set {
		percent = ControlPlaneGCPercent
	}
	if _, set := lookup("GOMEMLIMIT"); !set {
		limit = ControlPlaneMemoryLimit
	}
	return percent, limit
}
