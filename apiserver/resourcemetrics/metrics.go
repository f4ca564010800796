package resourcemetrics

import (
	"sync"

	"k8s.io/component-base/metrics"
	"k8s.io/component-base/metrics/legacyregistry"
)

// The scraper's own metrics on the API server's /metrics, metrics-server's names.
var (
	requestDuration = metrics.NewHistogramVec(&metrics.HistogramOpts{
		Namespace: "metrics_server", Subsystem: "kubelet", Name: "request_duration_seconds",
		Help:    "Duration of requests to Kubelet API in seconds",
		Buckets: metrics.DefBuckets, StabilityLevel: metrics.ALPHA,
	}, []string{"node"})
	requestTotal = metrics.NewCounterVec(&metrics.CounterOpts{
		Namespace: "metrics_server", Subsystem: "kubelet", Name: "request_total",
		Help: "Number of requests sent to Kubelet API", StabilityLevel: metrics.ALPHA,
	}, []string{"success"})
	pointsStored = metrics.NewGaugeVec(&metrics.GaugeOpts{
		Namespace: "metrics_server", Subsystem: "storage", Name: "points",
		Help: "Number of metrics points stored.", StabilityLevel: metrics.ALPHA,
	}, []string{"type"})
	registerOnce sync.Once
)

// registerMetrics registers the scraper's metrics once per process.
func registerMetrics() {
	registerOnce.Do(func() {
		legacyregistry.MustRegister(requestDuration, requestTotal, pointsStored)
	})
}
