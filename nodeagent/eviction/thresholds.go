package eviction

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// Signal is an eviction signal, named as upstream's.
type Signal string

// The signals a node observes.
const (
	SignalMemoryAvailable   Signal = "memory.available"
	SignalNodeFsAvailable   Signal = "nodefs.available"
	SignalNodeFsInodesFree  Signal = "nodefs.inodesFree"
	SignalImageFsAvailable  Signal = "imagefs.available"
	SignalImageFsInodesFree Signal = "imagefs.inodesFree"
	SignalPIDAvailable      Signal = "pid.available"
)

// signalInfo is what a signal means: the node condition it raises and the resource its
// evictions reclaim (named in the eviction message).
var signalInfo = map[Signal]struct {
	condition corev1.NodeConditionType
	resource  corev1.ResourceName
}{
	SignalMemoryAvailable:   {corev1.NodeMemoryPressure, corev1.ResourceMemory},
	SignalNodeFsAvailable:   {corev1.NodeDiskPressure, corev1.ResourceEphemeralStorage},
	SignalNodeFsInodesFree:  {corev1.NodeDiskPressure, "inodes"},
	SignalImageFsAvailable:  {corev1.NodeDiskPressure, corev1.ResourceEphemeralStorage},
	SignalImageFsInodesFree: {corev1.NodeDiskPressure, "inodes"},
	SignalPIDAvailable:      {corev1.NodePIDPressure, "pids"},
}

// Threshold is one eviction threshold: the signal is met when what is available falls below
// Quantity, or below Percentage of the capacity. GracePeriod 0 is a hard threshold; a soft one
// must be met for its GracePeriod before it evicts.
type Threshold struct {
	Signal      Signal
	Quantity    *resource.Quantity
	Percentage  float64
	GracePeriod time.Duration
}

// Hard reports whether the threshold evicts at once.
func (t Threshold) Hard() bool { return t.GracePeriod == 0 }

// Value is the threshold as given ("100Mi", "10%").
func (t Threshold) Value() string {
	if t.Quantity != nil {
		return t.Quantity.String()
	}
	return strconv.FormatFloat(t.Percentage*100, 'f', -1, 64) + "%"
}

// quantity is the threshold in the signal's unit against capacity.
func (t Threshold) quantity(capacity int64) *resource.Quantity {
	if t.Quantity != nil {
		return t.Quantity
	}
	return resource.NewQuantity(int64(t.Percentage*float64(capacity)), resource.BinarySI)
}

// DefaultHard is Skiff's default --eviction-hard: upstream's memory, inode and PID thresholds
// (memory.available<100Mi, *.inodesFree<5%); disk space at 5% rather than upstream's 10% and
// 15%, since Skiff runs on a developer's machine whose disk is shared with everything else
// (kind turns disk eviction off altogether).
const DefaultHard = "memory.available<100Mi,nodefs.available<5%,nodefs.inodesFree<5%,imagefs.available<5%,imagefs.inodesFree<5%"

// ParseThresholds reads --eviction-hard and --eviction-soft ("signal<value,...", value a
// quantity or a percentage of capacity) and --eviction-soft-grace-period ("signal=duration,...")
// as the kubelet's ParseThresholdConfig: an unknown signal, a negative or unparsable value, a
// soft threshold without a grace period, or a grace period without a soft threshold is an
// error; a threshold of 0 or 0% is no threshold.
func ParseThresholds(hard, soft, softGrace string) ([]Threshold, error) {
	grace := map[Signal]time.Duration{}
	for _, kv := range splitList(softGrace) {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, fmt.Errorf("eviction soft grace period %q: want signal=duration", kv)
		}
		s := Signal(strings.TrimSpace(k))
		if _, known := signalInfo[s]; !known {
			return nil, fmt.Errorf("unsupported eviction signal %v", s)
		}
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil {
			return nil, fmt.Errorf("eviction soft grace period of %v: %w", s, err)
		}
		if d <= 0 {
			return nil, fmt.Errorf("eviction soft grace period of %v must be positive, got %v", s, d)
		}
		grace[s] = d
	}
	var out []Threshold
	seen := map[Signal]bool{}
	for _, set := range []struct {
		spec string
		soft bool
	}{{hard, false}, {soft, true}} {
		for _, stmt := range splitList(set.spec) {
			t, err := parseStatement(stmt)
			if err != nil {
				return nil, err
			}
			if set.soft {
				d, ok := grace[t.Signal]
				if !ok {
					return nil, fmt.Errorf("no corresponding grace period specified for eviction signal %v", t.Signal)
				}
				t.GracePeriod, seen[t.Signal] = d, true
			}
			if t.Quantity != nil && t.Quantity.IsZero() || t.Quantity == nil && t.Percentage == 0 {
				continue
			}
			out = append(out, t)
		}
	}
	for s := range grace {
		if !seen[s] {
			return nil, fmt.Errorf("eviction soft grace period of %v without a soft threshold", s)
		}
	}
	return out, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// parseStatement reads "signal<value".
func parseStatement(stmt string) (Threshold, error) {
	k, v, ok := strings.Cut(stmt, "<")
	if !ok {
		return Threshold{}, fmt.Errorf("eviction threshold %q: want signal<value", stmt)
	}
	t := Threshold{Signal: Signal(strings.TrimSpace(k))}
	if _, known := signalInfo[t.Signal]; !known {
		return Threshold{}, fmt.Errorf("unsupported eviction signal %v", t.Signal)
	}
	v = strings.TrimSpace(v)
	if p, isPct := strings.CutSuffix(v, "%"); isPct {
		f, err := strconv.ParseFloat(p, 64)
		if err != nil {
			return Threshold{}, fmt.Errorf("eviction threshold of %v: invalid percentage %q", t.Signal, v)
		}
		if f < 0 || f > 100 {
			return Threshold{}, fmt.Errorf("eviction percentage threshold %v must be >= 0%% and <= 100%%: %s", t.Signal, v)
		}
		t.Percentage = f / 100
		return t, nil
	}
	q, err := resource.ParseQuantity(v)
	if err != nil {
		return Threshold{}, fmt.Errorf("eviction threshold of %v: %w", t.Signal, err)
	}
	if q.Sign() < 0 {
		return Threshold{}, fmt.Errorf("eviction threshold %v must be positive: %s", t.Signal, q.String())
	}
	t.Quantity = &q
	return t, nil
}

// Conditions lists the node conditions in the order the node reports them.
var Conditions = []corev1.NodeConditionType{corev1.NodeMemoryPressure, corev1.NodeDiskPressure, corev1.NodePIDPressure}

// sortByPriority orders thresholds as upstream's byEvictionPriority: memory first.
func sortByPriority(ts []Threshold) {
	slices.SortStableFunc(ts, func(a, b Threshold) int {
		am, bm := a.Signal == SignalMemoryAvailable, b.Signal == SignalMemoryAvailable
		switch {
		case am && !bm:
			return -1
		case bm && !am:
			return 1
		}
		return 0
	})
}
