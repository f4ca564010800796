package resourcemetrics

import (
	"cmp"
	"errors"
	"math"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	apitypes "k8s.io/apimachinery/pkg/types"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
)

// freshContainerMinWindow is the shortest time since a new container's start that metrics-server
// takes as a window from its start (a counter at 0 then): shorter ones are too inaccurate.
const freshContainerMinWindow = 10 * time.Second

// NodeUsage is a node's usage: CPU over Window ending at Timestamp, the working set then.
type NodeUsage struct {
	Timestamp time.Time
	Window    time.Duration
	Usage     corev1.ResourceList
}

// PodUsage is a pod's containers' usage; Timestamp and Window are its earliest container's.
type PodUsage struct {
	Timestamp  time.Time
	Window     time.Duration
	Containers []metricsv1beta1.ContainerMetrics
}

// Store keeps the last two points of every node and container, as metrics-server's storage.
type Store struct {
	// resolution is the scrape interval: a container started less than that before its first
	// point (and at least freshContainerMinWindow) gets a rate from its start.
	resolution time.Duration

	mu                   sync.RWMutex
	lastNodes, prevNodes map[string]Point
	lastPods, prevPods   map[apitypes.NamespacedName]map[string]Point
}

// NewStore is an empty store for scrapes every resolution (DefaultResolution when 0).
func NewStore(resolution time.Duration) *Store {
	if resolution <= 0 {
		resolution = DefaultResolution
	}
	return &Store{resolution: resolution}
}

// Store records a scrape: what it has becomes the last points, and the last points that are
// older (of the same container start) become the previous ones; what it lacks is forgotten.
func (s *Store) Store(b *Batch) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lastNodes, s.prevNodes = NextNodes(s.lastNodes, s.prevNodes, b.Nodes)
	s.lastPods, s.prevPods = NextPods(s.lastPods, s.prevPods, b.Pods, s.resolution)
	// Points that can give a rate, as metrics-server counts them.
	containers := 0
	for _, ctrs := range s.prevPods {
		containers += len(ctrs)
	}
	pointsStored.WithLabelValues("node").Set(float64(len(s.prevNodes)))
	pointsStored.WithLabelValues("container").Set(float64(containers))
}

// NextNodes is the nodes' last and previous points after a scrape.
func NextNodes(last, prev, scraped map[string]Point) (map[string]Point, map[string]Point) {
	newLast, newPrev := make(map[string]Point, len(scraped)), make(map[string]Point, len(scraped))
	for name, p := range scraped {
		newLast[name] = p
		if l, ok := last[name]; ok {
			if p.Timestamp.After(l.Timestamp) {
				newPrev[name] = l
			} else if pr, ok := prev[name]; ok && pr.Timestamp.Before(p.Timestamp) {
				newPrev[name] = pr
			}
		}
	}
	return newLast, newPrev
}

// NextPods is the containers' last and previous points after a scrape, as metrics-server's pod
// storage: a point after the last one of the same container start pushes it to previous; a
// container that restarted starts over; a container first seen within resolution (and at
// least freshContainerMinWindow) after its start gets a previous point of 0 CPU at its start.
func NextPods(last, prev, scraped map[apitypes.NamespacedName]map[string]Point, resolution time.Duration) (map[apitypes.NamespacedName]map[string]Point, map[apitypes.NamespacedName]map[string]Point) {
	newLast := make(map[apitypes.NamespacedName]map[string]Point, len(scraped))
	newPrev := make(map[apitypes.NamespacedName]map[string]Point, len(scraped))
	for pod, ctrs := range scraped {
		lastCtrs, prevCtrs := make(map[string]Point, len(ctrs)), map[string]Point{}
		for name, p := range ctrs {
			lastCtrs[name] = p
			sinceStart := p.Timestamp.Sub(p.StartTime)
			switch l, ok := last[pod][name]; {
			case p.StartTime.Before(p.Timestamp) && sinceStart < resolution && sinceStart >= freshContainerMinWindow:
				prevCtrs[name] = Point{StartTime: p.StartTime, Timestamp: p.StartTime, Memory: p.Memory}
			case !ok || !p.StartTime.Before(l.Timestamp):
				// New, or restarted since the last point.
			case p.Timestamp.After(l.Timestamp):
				prevCtrs[name] = l
			default:
				if pr, ok := prev[pod][name]; ok && pr.Timestamp.Before(p.Timestamp) {
					prevCtrs[name] = pr
				}
			}
		}
		newLast[pod] = lastCtrs
		if len(prevCtrs) > 0 {
			newPrev[pod] = prevCtrs
		}
	}
	return newLast, newPrev
}

// Usage is the usage between two points: CPU as the counter's rate (nanocores), memory the
// last working set. It fails when the counter or the start time went back.
func Usage(last, prev Point) (corev1.ResourceList, time.Duration, error) {
	if last.StartTime.Before(prev.StartTime) {
		return nil, 0, errors.New("unexpected decrease in startTime of node/container")
	}
	if last.CumulativeCPU < prev.CumulativeCPU {
		return nil, 0, errors.New("unexpected decrease in cumulative CPU usage value")
	}
	window := last.Timestamp.Sub(prev.Timestamp)
	if window <= 0 {
		return nil, 0, errors.New("no time between the two points")
	}
	rate := float64(last.CumulativeCPU-prev.CumulativeCPU) / window.Seconds()
	return corev1.ResourceList{
		corev1.ResourceCPU:    quantity(uint64(rate), resource.DecimalSI, -9),
		corev1.ResourceMemory: quantity(last.Memory, resource.BinarySI, 0),
	}, window, nil
}

// quantity is val×10^scale; values beyond int64 lose a digit.
func quantity(val uint64, format resource.Format, scale resource.Scale) resource.Quantity {
	var q resource.Quantity
	if val > math.MaxInt64 {
		q = *resource.NewScaledQuantity(int64(val/10), scale+1)
	} else {
		q = *resource.NewScaledQuantity(int64(val), scale)
	}
	q.Format = format
	return q
}

// Node returns a node's usage, when it has two points.
func (s *Store) Node(name string) (NodeUsage, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	last, ok := s.lastNodes[name]
	if !ok {
		return NodeUsage{}, false
	}
	prev, ok := s.prevNodes[name]
	if !ok {
		return NodeUsage{}, false
	}
	usage, window, err := Usage(last, prev)
	if err != nil {
		return NodeUsage{}, false
	}
	return NodeUsage{Timestamp: last.Timestamp, Window: window, Usage: usage}, true
}

// Pod returns a pod's usage, when every container of its last scrape has two points.
// Containers are sorted by name.
func (s *Store) Pod(pod apitypes.NamespacedName) (PodUsage, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	last, ok := s.lastPods[pod]
	if !ok {
		return PodUsage{}, false
	}
	prev := s.prevPods[pod]
	var out PodUsage
	for name, l := range last {
		p, ok := prev[name]
		if !ok {
			return PodUsage{}, false
		}
		usage, window, err := Usage(l, p)
		if err != nil {
			continue
		}
		out.Containers = append(out.Containers, metricsv1beta1.ContainerMetrics{Name: name, Usage: usage})
		if out.Timestamp.IsZero() || l.Timestamp.Before(out.Timestamp) {
			out.Timestamp, out.Window = l.Timestamp, window
		}
	}
	slices.SortFunc(out.Containers, func(a, b metricsv1beta1.ContainerMetrics) int { return cmp.Compare(a.Name, b.Name) })
	return out, true
}
