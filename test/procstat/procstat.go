// Package procstat reads the figures benchmarks print next to their timings on a shared
// machine: this process's CPU time (so that a figure can be given per unit of work, which the
// machine's load moves less than wall time) and the load average.
package procstat

import (
	"os"
	"strings"
	"syscall"
	"time"
)

// CPU is this process's user and system CPU time so far (0 when unavailable).
func CPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// LoadAverage is /proc/loadavg's first three fields, or "unknown".
func LoadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
