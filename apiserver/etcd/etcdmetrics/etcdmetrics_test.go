package etcdmetrics

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestValue(t *testing.T) {
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "etcdmetrics_test_gauge"})
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "etcdmetrics_test_histogram"})
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "etcdmetrics_test_counter"}, []string{"l"})
	prometheus.MustRegister(g, h, c)
	defer func() { prometheus.Unregister(g); prometheus.Unregister(h); prometheus.Unregister(c) }()
	g.Set(3)
	h.Observe(10)
	h.Observe(20)
	c.WithLabelValues("a").Add(1)
	c.WithLabelValues("b").Add(2)
	for name, want := range map[string]float64{"etcdmetrics_test_gauge": 3, "etcdmetrics_test_histogram": 2, "etcdmetrics_test_counter": 3} {
		if got, err := Lookup(name); err != nil || got != want {
			t.Errorf("Lookup(%s) = %v, %v; want %v", name, got, err, want)
		}
	}
	if _, err := Lookup("etcdmetrics_test_missing"); err == nil {
		t.Error("Lookup of a metric not registered: no error")
	}
}
