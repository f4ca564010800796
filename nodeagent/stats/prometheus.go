package stats

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	statsv1alpha1 "k8s.io/kubelet/pkg/apis/stats/v1alpha1"
	"k8s.io/utils/ptr"
)

// The kubelet's /metrics/resource metrics (pkg/kubelet/metrics/collectors/resource_metrics.go),
// with their help as component-base prints it (the stability level first).
const (
	NodeCPUUsage           = "node_cpu_usage_seconds_total"
	NodeMemoryWorkingSet   = "node_memory_working_set_bytes"
	ContainerCPUUsage      = "container_cpu_usage_seconds_total"
	ContainerMemoryWorking = "container_memory_working_set_bytes"
	ContainerStartTime     = "container_start_time_seconds"
	PodCPUUsage            = "pod_cpu_usage_seconds_total"
	PodMemoryWorkingSet    = "pod_memory_working_set_bytes"
	ScrapeError            = "scrape_error"
	ResourceScrapeError    = "resource_scrape_error"
)

var resourceHelp = map[string]string{
	NodeCPUUsage:           "[STABLE] Cumulative cpu time consumed by the node in core-seconds",
	NodeMemoryWorkingSet:   "[STABLE] Current working set of the node in bytes",
	ContainerCPUUsage:      "[STABLE] Cumulative cpu time consumed by the container in core-seconds",
	ContainerMemoryWorking: "[STABLE] Current working set of the container in bytes",
	ContainerStartTime:     "[STABLE] Start time of the container since unix epoch in seconds",
	PodCPUUsage:            "[STABLE] Cumulative cpu time consumed by the pod in core-seconds",
	PodMemoryWorkingSet:    "[STABLE] Current working set of the pod in bytes",
	ScrapeError:            "[ALPHA] (Deprecated since 1.29.0) 1 if there was an error while getting container metrics, 0 otherwise",
	ResourceScrapeError:    "[STABLE] 1 if there was an error while getting container metrics, 0 otherwise",
}

var counters = map[string]bool{NodeCPUUsage: true, ContainerCPUUsage: true, PodCPUUsage: true}

// ResourceMetrics converts a Summary to the kubelet's resource metrics: the node's, each pod's
// and each container's CPU (cumulative core-seconds) and working set, stamped with the time of
// their reading, the containers' start times, and the scrape error gauges (1 when the summary
// could not be read: s is then nil). Families are sorted by name and metrics by labels, as a
// Prometheus registry gathers them.
func ResourceMetrics(s *statsv1alpha1.Summary, scrapeErr bool) []*dto.MetricFamily {
	fams := map[string]*dto.MetricFamily{}
	add := func(name string, v float64, at *time.Time, labels ...string) {
		f, ok := fams[name]
		if !ok {
			typ := dto.MetricType_GAUGE
			if counters[name] {
				typ = dto.MetricType_COUNTER
			}
			f = &dto.MetricFamily{Name: ptr.To(name), Help: ptr.To(resourceHelp[name]), Type: typ.Enum()}
			fams[name] = f
		}
		m := &dto.Metric{}
		for i := 0; i+1 < len(labels); i += 2 {
			m.Label = append(m.Label, &dto.LabelPair{Name: ptr.To(labels[i]), Value: ptr.To(labels[i+1])})
		}
		slices.SortFunc(m.Label, func(a, b *dto.LabelPair) int { return cmp.Compare(a.GetName(), b.GetName()) })
		if counters[name] {
			m.Counter = &dto.Counter{Value: ptr.To(v)}
		} else {
			m.Gauge = &dto.Gauge{Value: ptr.To(v)}
		}
		if at != nil {
			m.TimestampMs = ptr.To(at.UnixMilli())
		}
		f.Metric = append(f.Metric, m)
	}
	errValue := 0.0
	if scrapeErr || s == nil {
		errValue = 1
	}
	add(ScrapeError, errValue, nil)
	add(ResourceScrapeError, errValue, nil)
	if s != nil {
		if c := s.Node.CPU; c != nil && c.UsageCoreNanoSeconds != nil {
			add(NodeCPUUsage, float64(*c.UsageCoreNanoSeconds)/float64(time.Second), &c.Time.Time)
		}
		if m := s.Node.Memory; m != nil && m.WorkingSetBytes != nil {
			add(NodeMemoryWorkingSet, float64(*m.WorkingSetBytes), &m.Time.Time)
		}
		for _, p := range s.Pods {
			for _, c := range p.Containers {
				labels := []string{"container", c.Name, "pod", p.PodRef.Name, "namespace", p.PodRef.Namespace}
				if c.StartTime.Unix() > 0 {
					add(ContainerStartTime, float64(c.StartTime.UnixNano())/float64(time.Second), nil, labels...)
				}
				if c.CPU != nil && c.CPU.UsageCoreNanoSeconds != nil {
					add(ContainerCPUUsage, float64(*c.CPU.UsageCoreNanoSeconds)/float64(time.Second), &c.CPU.Time.Time, labels...)
				}
				if c.Memory != nil && c.Memory.WorkingSetBytes != nil {
					add(ContainerMemoryWorking, float64(*c.Memory.WorkingSetBytes), &c.Memory.Time.Time, labels...)
				}
			}
			labels := []string{"pod", p.PodRef.Name, "namespace", p.PodRef.Namespace}
			if p.CPU != nil && p.CPU.UsageCoreNanoSeconds != nil {
				add(PodCPUUsage, float64(*p.CPU.UsageCoreNanoSeconds)/float64(time.Second), &p.CPU.Time.Time, labels...)
			}
			if p.Memory != nil && p.Memory.WorkingSetBytes != nil {
				add(PodMemoryWorkingSet, float64(*p.Memory.WorkingSetBytes), &p.Memory.Time.Time, labels...)
			}
		}
	}
	out := make([]*dto.MetricFamily, 0, len(fams))
	for _, f := range fams {
		slices.SortFunc(f.Metric, func(a, b *dto.Metric) int { return compareLabels(a.Label, b.Label) })
		out = append(out, f)
	}
	slices.SortFunc(out, func(a, b *dto.MetricFamily) int { return cmp.Compare(a.GetName(), b.GetName()) })
	return out
}

func compareLabels(a, b []*dto.LabelPair) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if c := cmp.Or(cmp.Compare(a[i].GetName(), b[i].GetName()), cmp.Compare(a[i].GetValue(), b[i].GetValue())); c != 0 {
			return c
		}
	}
	return cmp.Compare(len(a), len(b))
}

// WriteText writes metric families in the Prometheus text format (version 0.0.4).
func WriteText(w io.Writer, fams []*dto.MetricFamily) error {
	for _, f := range fams {
		if _, err := expfmt.MetricFamilyToText(w, f); err != nil {
			return fmt.Errorf("writing %s: %w", f.GetName(), err)
		}
	}
	return nil
}
