package logs

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
)

const (
	// TimestampFormat is the suffix of a rotated log file, as upstream's.
	TimestampFormat = "20060102-150405"
	// CompressSuffix ends a compressed rotated log.
	CompressSuffix = ".gz"
	// TmpSuffix ends the temporary file of a compression.
	TmpSuffix = ".tmp"
)

// Plan is one rotation of a container's log file: remove Remove, gzip Compress (each to
// <name>.gz, then remove it), then rename the current file to Rotated and reopen it.
type Plan struct {
	Remove   []string
	Compress []string
	Rotated  string
}

// PlanRotation plans the rotation of log, whose rotated files (the names matching <log>.*) are
// rotated, keeping at most maxFiles files in all, at time now. As upstream: temporary files and
// uncompressed files whose .gz exists are leftovers; of the others, sorted by name (the
// timestamp orders them), the oldest are removed so that maxFiles-2 remain beside the current
// file and the one rotated now; those left uncompressed are compressed.
func PlanRotation(log string, rotated []string, maxFiles int, now time.Time) Plan {
	var p Plan
	present := map[string]bool{}
	for _, l := range rotated {
		present[l] = true
	}
	var inUse []string
	for _, l := range rotated {
		switch {
		case strings.HasSuffix(l, TmpSuffix), !strings.HasSuffix(l, CompressSuffix) && present[l+CompressSuffix]:
			p.Remove = append(p.Remove, l)
		default:
			inUse = append(inUse, l)
		}
	}
	sort.Strings(inUse)
	keep := max(maxFiles-2, 0)
	excess := max(len(inUse)-keep, 0)
	p.Remove = append(p.Remove, inUse[:excess]...)
	for _, l := range inUse[excess:] {
		if !strings.HasSuffix(l, CompressSuffix) {
			p.Compress = append(p.Compress, l)
		}
	}
	p.Rotated = fmt.Sprintf("%s.%s", log, now.Format(TimestampFormat))
	return p
}

// ParseMaxSize reads containerLogMaxSize, a quantity such as 10Mi, as upstream's parseMaxSize;
// it must be positive.
func ParseMaxSize(s string) (int64, error) {
	q, err := resource.ParseQuantity(s)
	if err != nil {
		return 0, fmt.Errorf("invalid container log max size %q: %w", s, err)
	}
	n, ok := q.AsInt64()
	if !ok || n <= 0 {
		return 0, fmt.Errorf("invalid container log max size %q: must be a positive number of bytes", s)
	}
	return n, nil
}
