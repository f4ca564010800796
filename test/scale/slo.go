package scale

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// SLO classes of upstream's API call latency SLO (kubernetes/community
// sig-scalability/slos/api_call_latency.md), as clusterloader2's APIResponsivenessPrometheus
// measurement splits the requests.
const (
	ClassMutating  = "mutating"         // POST, PUT, PATCH, DELETE, DELETECOLLECTION: p99 ≤ 1 s
	ClassGet       = "get (resource)"   // GET of one object: p99 ≤ 1 s
	ClassNamespace = "list (namespace)" // LIST in one namespace: p99 ≤ 5 s
	ClassCluster   = "list (cluster)"   // LIST across namespaces: p99 ≤ 30 s
)

// Classes is the order the classes are reported in.
var Classes = []string{ClassMutating, ClassGet, ClassNamespace, ClassCluster}

// SLOThreshold is upstream's p99 threshold of each class.
var SLOThreshold = map[string]time.Duration{
	ClassMutating:  time.Second,
	ClassGet:       time.Second,
	ClassNamespace: 5 * time.Second,
	ClassCluster:   30 * time.Second,
}

// Histogram is a cumulative Prometheus histogram: upper bounds in increasing order and the
// cumulative count of observations at or under each, the last bound being +Inf.
type Histogram struct {
	Bounds []float64
	Counts []float64
}

// Count is the number of observations.
func (h Histogram) Count() float64 {
	if len(h.Counts) == 0 {
		return 0
	}
	return h.Counts[len(h.Counts)-1]
}

// Sub is h minus an earlier reading of the same histogram (missing buckets count 0).
func (h Histogram) Sub(earlier Histogram) Histogram {
	before := map[float64]float64{}
	for i, b := range earlier.Bounds {
		before[b] = earlier.Counts[i]
	}
	out := Histogram{Bounds: append([]float64(nil), h.Bounds...), Counts: make([]float64, len(h.Counts))}
	for i, b := range h.Bounds {
		out.Counts[i] = h.Counts[i] - before[b]
	}
	return out
}

// Quantile is Prometheus' histogram_quantile: the bucket holding the q-th observation, with
// linear interpolation inside it (from 0 for the first bucket); a quantile in the +Inf bucket
// is the highest finite bound. NaN without observations.
func (h Histogram) Quantile(q float64) float64 {
	n := len(h.Bounds)
	if n < 2 || h.Count() == 0 || !math.IsInf(h.Bounds[n-1], 1) {
		return math.NaN()
	}
	rank := q * h.Count()
	i := sort.Search(n, func(i int) bool { return h.Counts[i] >= rank })
	if i == n-1 {
		return h.Bounds[n-2]
	}
	lower, below := 0.0, 0.0
	if i > 0 {
		lower, below = h.Bounds[i-1], h.Counts[i-1]
	}
	inBucket := h.Counts[i] - below
	if inBucket == 0 {
		return h.Bounds[i]
	}
	return lower + (h.Bounds[i]-lower)*(rank-below)/inBucket
}

// CallKey is clusterloader2's grouping of API calls: one p99 per resource, subresource, verb
// and scope.
type CallKey struct {
	Resource, Subresource, Verb, Scope string
}

func (k CallKey) String() string {
	r := k.Resource
	if k.Subresource != "" {
		r += "/" + k.Subresource
	}
	return fmt.Sprintf("%s %s (%s)", k.Verb, r, k.Scope)
}

// Class is the SLO class of a call, or "" when the SLO does not cover it: watches, proxying,
// connections, events (clusterloader2 excludes them) and non-resource URLs.
func (k CallKey) Class() string {
	if k.Resource == "" || k.Resource == "events" {
		return ""
	}
	switch k.Verb {
	case "POST", "PUT", "PATCH", "DELETE", "DELETECOLLECTION", "APPLY":
		return ClassMutating
	case "GET":
		if k.Scope == "resource" {
			return ClassGet
		}
	case "LIST":
		switch k.Scope {
		case "namespace":
			return ClassNamespace
		case "cluster":
			return ClassCluster
		}
	}
	return ""
}

// LatencyMetric is the histogram read: the SLI histogram (without webhook and priority and
// fairness queueing time) when the server has it, as clusterloader2 reads it.
const (
	LatencyMetric         = "apiserver_request_sli_duration_seconds"
	LatencyMetricFallback = "apiserver_request_duration_seconds"
)

// ParseCallHistograms reads the API latency histograms of a /metrics text by CallKey (summed
// over group, version and component), from LatencyMetric or, when absent,
// LatencyMetricFallback.
func ParseCallHistograms(r io.Reader) (map[CallKey]Histogram, error) {
	parser := expfmt.NewTextParser(model.LegacyValidation)
	families, err := parser.TextToMetricFamilies(r)
	if err != nil {
		return nil, fmt.Errorf("parsing /metrics: %w", err)
	}
	f := families[LatencyMetric]
	if f == nil {
		f = families[LatencyMetricFallback]
	}
	out := map[CallKey]Histogram{}
	if f == nil {
		return out, nil
	}
	for _, m := range f.GetMetric() {
		h := m.GetHistogram()
		if h == nil {
			continue
		}
		key := callKey(m.GetLabel())
		sum := out[key]
		out[key] = addHistogram(sum, h)
	}
	return out, nil
}

func callKey(labels []*dto.LabelPair) CallKey {
	var k CallKey
	for _, l := range labels {
		switch l.GetName() {
		case "resource":
			k.Resource = l.GetValue()
		case "subresource":
			k.Subresource = l.GetValue()
		case "verb":
			k.Verb = l.GetValue()
		case "scope":
			k.Scope = l.GetValue()
		}
	}
	return k
}

func addHistogram(sum Histogram, h *dto.Histogram) Histogram {
	bounds := make([]float64, 0, len(h.GetBucket())+1)
	counts := make([]float64, 0, len(h.GetBucket())+1)
	for _, b := range h.GetBucket() {
		bounds = append(bounds, b.GetUpperBound())
		counts = append(counts, float64(b.GetCumulativeCount()))
	}
	if len(bounds) == 0 || !math.IsInf(bounds[len(bounds)-1], 1) {
		bounds = append(bounds, math.Inf(1))
		counts = append(counts, float64(h.GetSampleCount()))
	}
	if len(sum.Bounds) == 0 {
		return Histogram{Bounds: bounds, Counts: counts}
	}
	for i := range sum.Counts {
		if i < len(counts) {
			sum.Counts[i] += counts[i]
		}
	}
	return sum
}

// CallLatency is the p99 of one group of calls over the measured window.
type CallLatency struct {
	Key   CallKey
	P99   time.Duration
	Count int
}

// ClassLatency is the verdict of one SLO class: its slowest group and how many groups miss
// the threshold.
type ClassLatency struct {
	Class     string
	Worst     CallLatency
	Groups    int
	Over      int
	Threshold time.Duration
}

// OK tells whether every group of the class is within its threshold.
func (c ClassLatency) OK() bool { return c.Over == 0 }

// APIResponsiveness computes, from two readings of the histograms (before and after the load),
// the p99 of every group of calls in the window and the verdict of each SLO class, as
// clusterloader2's APIResponsivenessPrometheus does with histogram_quantile(0.99,
// rate(...[window])).
func APIResponsiveness(before, after map[CallKey]Histogram) ([]CallLatency, []ClassLatency) {
	var calls []CallLatency
	classes := map[string]*ClassLatency{}
	for _, c := range Classes {
		classes[c] = &ClassLatency{Class: c, Threshold: SLOThreshold[c]}
	}
	for key, h := range after {
		class := key.Class()
		if class == "" {
			continue
		}
		d := h.Sub(before[key])
		if d.Count() == 0 {
			continue
		}
		p99 := time.Duration(d.Quantile(0.99) * float64(time.Second))
		call := CallLatency{Key: key, P99: p99, Count: int(d.Count())}
		calls = append(calls, call)
		cl := classes[class]
		cl.Groups++
		if p99 > cl.Threshold {
			cl.Over++
		}
		if cl.Groups == 1 || p99 > cl.Worst.P99 || (p99 == cl.Worst.P99 && call.Count > cl.Worst.Count) {
			cl.Worst = call
		}
	}
	sort.Slice(calls, func(i, j int) bool {
		if calls[i].P99 != calls[j].P99 {
			return calls[i].P99 > calls[j].P99
		}
		return calls[i].Key.String() < calls[j].Key.String()
	})
	out := make([]ClassLatency, 0, len(Classes))
	for _, c := range Classes {
		out = append(out, *classes[c])
	}
	return calls, out
}

// Throughput is clusterloader2's SchedulingThroughput: the pods scheduled in each sampling
// interval divided by the interval, summarised by percentiles, over the intervals between the
// first and the last scheduled pod.
type Throughput struct {
	Perc50, Perc90, Perc99, Max float64
	// Average is all the pods scheduled divided by the time from the first interval with a
	// scheduled pod to the last.
	Average float64
}

// SchedulingThroughput summarises cumulative counts of scheduled pods sampled every interval.
func SchedulingThroughput(cumulative []int, interval time.Duration) Throughput {
	var rates []float64
	first, last := -1, -1
	for i := 1; i < len(cumulative); i++ {
		if cumulative[i] > cumulative[i-1] {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	if first < 0 {
		return Throughput{}
	}
	for i := first; i <= last; i++ {
		rates = append(rates, float64(cumulative[i]-cumulative[i-1])/interval.Seconds())
	}
	sort.Float64s(rates)
	pick := func(p float64) float64 {
		i := int(math.Ceil(p*float64(len(rates)))) - 1
		return rates[max(i, 0)]
	}
	intervals := float64(last - first + 1)
	return Throughput{Perc50: pick(0.5), Perc90: pick(0.9), Perc99: pick(0.99), Max: rates[len(rates)-1],
		Average: float64(cumulative[last]-cumulative[first-1]) / (intervals * interval.Seconds())}
}

// Percentile is the p-th percentile (0..1, nearest rank) of durations; 0 when empty.
func Percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(math.Ceil(p*float64(len(s)))) - 1
	return s[max(i, 0)]
}

// Row is one line of the report: a figure, what was measured, Skiff's goal (issue 17) and
// upstream's published threshold for the same quantity.
type Row struct {
	Figure, Measured, Goal, Upstream string
	// Verdict is "ok", "MISSED" or "" when there is no goal.
	Verdict string
}

// Verdict is "ok" when ok, else "MISSED".
func Verdict(ok bool) string {
	if ok {
		return "ok"
	}
	return "MISSED"
}

// WriteTable prints rows as aligned columns with a header.
func WriteTable(w io.Writer, rows []Row) {
	header := Row{Figure: "figure", Measured: "measured", Goal: "goal", Upstream: "upstream threshold", Verdict: ""}
	all := append([]Row{header}, rows...)
	var wf, wm, wg int
	for _, r := range all {
		wf, wm, wg = max(wf, len([]rune(r.Figure))), max(wm, len([]rune(r.Measured))), max(wg, len([]rune(r.Goal)))
	}
	pad := func(s string, n int) string { return s + strings.Repeat(" ", n-len([]rune(s))) }
	for i, r := range all {
		fmt.Fprintf(w, "  %s  %s  %s  %-6s %s\n", pad(r.Figure, wf), pad(r.Measured, wm), pad(r.Goal, wg), r.Verdict, r.Upstream)
		if i == 0 {
			fmt.Fprintf(w, "  %s\n", strings.Repeat("-", wf+wm+wg+30))
		}
	}
}

// FormatDuration prints a latency in milliseconds or seconds.
func FormatDuration(d time.Duration) string {
	if d < time.Second {
		return fmt.Sprintf("%.0f ms", float64(d.Microseconds())/1000)
	}
	return fmt.Sprintf("%.2f s", d.Seconds())
}

// FormatBytes prints a size in MiB or GiB.
func FormatBytes(v int64) string {
	if v >= 1<<30 {
		return fmt.Sprintf("%.2f GiB", float64(v)/(1<<30))
	}
	return fmt.Sprintf("%.0f MiB", float64(v)/(1<<20))
}

// Gauge is the sum of the samples of a gauge or counter in a /metrics text, and whether the
// metric was there.
func Gauge(text []byte, name string) (float64, bool) {
	parser := expfmt.NewTextParser(model.LegacyValidation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(text))
	if err != nil || families[name] == nil {
		return 0, false
	}
	sum := 0.0
	for _, m := range families[name].GetMetric() {
		switch {
		case m.GetGauge() != nil:
			sum += m.GetGauge().GetValue()
		case m.GetCounter() != nil:
			sum += m.GetCounter().GetValue()
		case m.GetUntyped() != nil:
			sum += m.GetUntyped().GetValue()
		}
	}
	return sum, true
}
