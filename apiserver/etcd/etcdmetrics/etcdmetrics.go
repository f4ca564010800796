package etcdmetrics

import (
	"fmt"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// Value is the named metric's value in the default registry (Lookup); it fails the test when
// the metric cannot be read.
func Value(t testing.TB, name string) float64 {
	t.Helper()
	v, err := Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// Lookup is the named metric's value in the default registry, summed over its series: a
// gauge's or counter's value, a histogram's or summary's count of observations.
func Lookup(name string) (float64, error) {
	families, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		return 0, fmt.Errorf("gathering metrics: %w", err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		var sum float64
		for _, m := range f.GetMetric() {
			switch {
			case m.Gauge != nil:
				sum += m.GetGauge().GetValue()
			case m.Counter != nil:
				sum += m.GetCounter().GetValue()
			case m.Histogram != nil:
				sum += float64(m.GetHistogram().GetSampleCount())
			case m.Summary != nil:
				sum += float64(m.GetSummary().GetSampleCount())
			}
		}
		return sum, nil
	}
	return 0, fmt.Errorf("metric %s is not registered", name)
}
