package apiserver

import (
	"context"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"time"
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
// this sees no change. It is a floor: the limit grows with the live heap (MemoryLimitFor).
const ControlPlaneMemoryLimit = 3 << 30

// TuneGC sets the collector's target of this process to ControlPlaneGCPercent and its soft
// memory limit to ControlPlaneMemoryLimit, each unless the user set it (GOGC, GOMEMLIMIT). The
// limit it set then follows the live heap until ctx ends (MemoryLimitFor): a soft limit below
// what a large cluster keeps live makes the collector run without pause (issue 17: at 5,000
// nodes and about 20,000 pods the process stalled under 3 GiB).
func TuneGC(ctx context.Context) {
	percent, limit := gcSettings(os.LookupEnv)
	if percent != 0 {
		debug.SetGCPercent(percent)
	}
	if limit != 0 {
		debug.SetMemoryLimit(limit)
		go followLiveHeap(ctx, limit)
	}
}

// MemoryLimitFor is the soft memory limit for a live heap of live bytes: base, or the live heap
// with half of it again and 256 MiB, whichever is larger. Measured at 5,000 nodes and 50,000
// pods (issue 17): the limit rose to 3.5 GiB at 2.16 GiB live, every pod ran and the process
// peaked at 3.92 GiB, at 58 pods/s (the collector's share is the price: with a 6 GiB limit the
// same load ran at 102 pods/s in 6.5 GiB).
func MemoryLimitFor(base, live int64) int64 {
	return max(base, live+live/2+256<<20)
}

// followLiveHeap sets the memory limit from the live heap after collections, every 5 s.
func followLiveHeap(ctx context.Context, base int64) {
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	current := base
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		metrics.Read(sample)
		if sample[0].Value.Kind() != metrics.KindUint64 {
			return
		}
		if limit := MemoryLimitFor(base, int64(sample[0].Value.Uint64())); limit != current {
			debug.SetMemoryLimit(limit)
			current = limit
		}
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
