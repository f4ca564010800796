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

// TuneGC sets the collector's target of this process to ControlPlaneGCPercent, unless the GOGC
// environment variable is set (then the user's value stands).
func TuneGC() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(ControlPlaneGCPercent)
	}
}
