package resourcemetrics

import (
	"bytes"
	"fmt"
	"math"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
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
	parser := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := parser.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("decoding resource metrics of node %s: %w", nodeName, err)
	}
	type partial struct {
		Point
		hasCPU, hasMemory bool
	}
	node := partial{}
	ctrs := map[apitypes.NamespacedName]map[string]*partial{}
	ctr := func(m *dto.Metric) *partial {
		var ns, pod, name string
		for _, l := range m.GetLabel() {
			switch l.GetName() {
			case "namespace":
				ns = l.GetValue()
			case "pod":
				pod = l.GetValue()
			case "container":
				name = l.GetValue()
			}
		}
		if ns == "" || pod == "" || name == "" {
			return nil
		}
		key := apitypes.NamespacedName{Namespace: ns, Name: pod}
		if ctrs[key] == nil {
			ctrs[key] = map[string]*partial{}
		}
		if ctrs[key][name] == nil {
			ctrs[key][name] = &partial{}
		}
		return ctrs[key][name]
	}
	stamp := func(m *dto.Metric) time.Time {
		if m.TimestampMs == nil {
			return now
		}
		return time.UnixMilli(m.GetTimestampMs())
	}
	for name, f := range fams {
		for _, m := range f.GetMetric() {
			v := metricValue(m)
			if math.IsNaN(v) || v < 0 {
				continue
			}
			switch name {
			case "node_cpu_usage_seconds_total":
				node.CumulativeCPU, node.Timestamp, node.hasCPU = uint64(v*1e9), stamp(m), true
			case "node_memory_working_set_bytes":
				node.Memory, node.hasMemory = uint64(v), true
			case "container_cpu_usage_seconds_total":
				if p := ctr(m); p != nil {
					p.CumulativeCPU, p.Timestamp, p.hasCPU = uint64(v*1e9), stamp(m), true
				}
			case "container_memory_working_set_bytes":
				if p := ctr(m); p != nil {
					p.Memory, p.hasMemory = uint64(v), true
				}
			case "container_start_time_seconds":
				if p := ctr(m); p != nil {
					sec, frac := math.Modf(v)
					p.StartTime = time.Unix(int64(sec), int64(frac*1e9))
				}
			}
		}
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

func metricValue(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.GetCounter().GetValue()
	case m.Gauge != nil:
		return m.GetGauge().GetValue()
	case m.Untyped != nil:
		return m.GetUntyped().GetValue()
	}
	return math.NaN()
}
