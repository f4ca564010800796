package resourcemetrics

import (
	"fmt"
	"math"
	"time"

	apitypes "k8s.io/apimachinery/pkg/types"
)

// Point is one sample of a node or container.
type Point struct {
	// StartTime is when the container started (zero for nodes): its CPU counter was 0 then.
	StartTime time.Time
	// Timestamp is when the CPU counter was read.
	Timestamp time.Time
	// CumulativeCPU is the CPU used since StartTime, in core-nanoseconds.
	CumulativeCPU uint64
	// Memory is the working set, in bytes.
	Memory uint64
}

// Batch is what one scrape of one or more nodes gave.
type Batch struct {
	Nodes map[string]Point
	// Pods are the containers' points of each pod, by container name.
	Pods map[apitypes.NamespacedName]map[string]Point
}

// NewBatch is an empty batch.
func NewBatch() *Batch {
	return &Batch{Nodes: map[string]Point{}, Pods: map[apitypes.NamespacedName]map[string]Point{}}
}

// Merge adds the points of o (another node's) to b.
func (b *Batch) Merge(o *Batch) {
	for k, v := range o.Nodes {
		b.Nodes[k] = v
	}
	for k, v := range o.Pods {
		b.Pods[k] = v
	}
}

// Decode reads a kubelet's /metrics/resource (the Prometheus text format) as metrics-server
// does: node_cpu_usage_seconds_total and node_memory_working_set_bytes make the node's point,
// container_cpu_usage_seconds_total, container_memory_working_set_bytes and
// container_start_time_seconds the containers' (by namespace, pod and container labels). A
// point needs both CPU and memory, else it is left out; a series without a timestamp is
// stamped with now (the scrape's time).
func Decode(body []byte, nodeName string, now time.Time) (*Batch, error) {
	type partial struct {
		Point
		hasCPU, hasMemory bool
	}
	node := partial{}
	ctrs := map[apitypes.NamespacedName]map[string]*partial{}
	ctr := func(s *sample) *partial {
		if s.namespace == "" || s.pod == "" || s.container == "" {
			return nil
		}
		key := apitypes.NamespacedName{Namespace: s.namespace, Name: s.pod}
		if ctrs[key] == nil {
			ctrs[key] = map[string]*partial{}
		}
		if ctrs[key][s.container] == nil {
			ctrs[key][s.container] = &partial{}
		}
		return ctrs[key][s.container]
	}
	stamp := func(s *sample) time.Time {
		if !s.hasTimestamp {
			return now
		}
		return time.UnixMilli(s.timestampMs)
	}
	err := eachSample(body, func(s *sample) {
		v := s.value
		if math.IsNaN(v) || v < 0 {
			return
		}
		switch s.name {
		case nodeCPU:
			node.CumulativeCPU, node.Timestamp, node.hasCPU = uint64(v*1e9), stamp(s), true
		case nodeMemory:
			node.Memory, node.hasMemory = uint64(v), true
		case containerCPU:
			if p := ctr(s); p != nil {
				p.CumulativeCPU, p.Timestamp, p.hasCPU = uint64(v*1e9), stamp(s), true
			}
		case containerMem:
			if p := ctr(s); p != nil {
				p.Memory, p.hasMemory = uint64(v), true
			}
		case containerStart:
			if p := ctr(s); p != nil {
				sec, frac := math.Modf(v)
				p.StartTime = time.Unix(int64(sec), int64(frac*1e9))
			}
		}
	})
	if err != nil {
		return nil, fmt.Errorf("decoding resource metrics of node %s: %w", nodeName, err)
	}
	out := NewBatch()
	if node.hasCPU && node.hasMemory {
		out.Nodes[nodeName] = node.Point
	}
	for pod, cs := range ctrs {
		points := map[string]Point{}
		for name, p := range cs {
			if p.hasCPU && p.hasMemory {
				points[name] = p.Point
			}
		}
		if len(points) > 0 {
			out.Pods[pod] = points
		}
	}
	return out, nil
}
