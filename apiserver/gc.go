package apiserver

import (
	"context"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"time"
)

// ControlPlaneGCPercent is the garbage collector's target for a control-plane process when
// GOGC is not set: the heap may grow to three times the live data between collections instead
// of twice. An API server allocates a great deal per request (decoding, managedFields,
// encoding); at Go's default of 100, collection takes about a tenth of its CPU under a write
// load.
const ControlPlaneGCPercent = 200

// ControlPlaneMemoryLimit is the soft limit of the Go runtime's memory
// (runtime/debug.SetMemoryLimit) of a control-plane process when GOMEMLIMIT is not set, until the
// process's own memory outside the Go runtime is known. Below the limit ControlPlaneGCPercent
// stands; near it the collector runs more often rather than let the heap triple: at 2,000
// simulated nodes and 10,000 pods the heap held 4.3 GiB for about 1.4 GiB of live data. A machine
// with less memory than this sees no change.
const ControlPlaneMemoryLimit = 3 << 30

// ControlPlaneMemoryTarget is the resident memory (RSS) a control-plane process aims to stay
// under: issue 17's goal of 4 GiB at 5,000 nodes and 50,000 pods, less a margin for the
// collector's overshoot. The soft limit is what the target leaves after the process's
// file-backed pages (etcd's memory-mapped database, the binary), which the Go runtime does not
// count (MemoryLimitFor).
const ControlPlaneMemoryTarget = 3840 << 20

// TuneGC sets the collector's target of this process to ControlPlaneGCPercent and its soft
// memory limit to ControlPlaneMemoryLimit, each unless the user set it (GOGC, GOMEMLIMIT). The
// limit it set then follows the process's file-backed memory and the live heap until ctx ends
// (MemoryLimitFor).
func TuneGC(ctx context.Context) {
	percent, limit := gcSettings(os.LookupEnv)
	if percent != 0 {
		debug.SetGCPercent(percent)
	}
	if limit != 0 {
		debug.SetMemoryLimit(limit)
		go followMemory(ctx, limit)
	}
}

// MemoryLimitFor is the soft memory limit of a process whose resident memory outside the Go
// runtime is outside bytes and whose live heap is live bytes: what ControlPlaneMemoryTarget
// leaves after outside, or the live heap with a quarter of it again and 256 MiB, whichever is
// larger. The second keeps the collector from running without pause once a large cluster keeps
// more live than the target allows (issue 17: at 5,000 nodes and about 20,000 pods the process
// stalled under a fixed 3 GiB). It was half the live heap again: at 50,000 pods (2.2 GB live)
// that set the limit to 3.5 GiB, over the target, and the process peaked at 3.6-4.1 GiB
// resident; a quarter leaves the target in charge up to about 2.6 GiB live. Under the target
// the collector's share of the CPU falls as the limit rises: with 1.7 GB live at 5,000 nodes
// it took 41 % of the control plane's CPU under 3 GiB and 33 % under the target.
func MemoryLimitFor(outside, live int64) int64 {
	return max(ControlPlaneMemoryTarget-outside, live+live/4+256<<20)
}

// followMemory sets the memory limit from the process's file-backed memory and the live heap,
// every 5 s, starting from initial.
func followMemory(ctx context.Context, initial int64) {
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	current := initial
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		// Where it cannot be read, the initial limit's share of the target is assumed.
		outside := ControlPlaneMemoryTarget - initial
		if status, err := os.ReadFile("/proc/self/status"); err == nil {
			if b, ok := fileBacked(status); ok {
				outside = b
			}
		}
		metrics.Read(sample)
		if sample[0].Value.Kind() != metrics.KindUint64 {
			return
		}
		if limit := MemoryLimitFor(outside, int64(sample[0].Value.Uint64())); limit != current {
			debug.SetMemoryLimit(limit)
			current = limit
		}
	}
}

// fileBacked is the resident file-backed and shared memory in /proc/<pid>/status (RssFile and
// RssShmem), in bytes; ok is false when either is missing.
func fileBacked(status []byte) (bytes int64, ok bool) {
	found := 0
	for _, line := range strings.Split(string(status), "\n") {
		name, value, cut := strings.Cut(line, ":")
		if !cut || (name != "RssFile" && name != "RssShmem") {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
		if err != nil {
			return 0, false
		}
		bytes += kb << 10
		found++
	}
	if found != 2 {
		return 0, false
	}
	return bytes, true
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
