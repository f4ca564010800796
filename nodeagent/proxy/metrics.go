package proxy

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the proxy's Prometheus metrics, named as upstream kube-proxy's.
type Metrics struct {
	// NetworkProgramming is the time from a change of a Service's endpoints (the
	// EndpointSlice's endpoints.kubernetes.io/last-change-trigger-time) to the rules in place.
	NetworkProgramming prometheus.Histogram
	SyncDuration       prometheus.Histogram
	FullSyncDuration   prometheus.Histogram
	PartialSync        prometheus.Histogram
	LastSync           prometheus.Gauge
	SyncFailures       prometheus.Counter
	// Rules counts what the table holds after the last sync, by kind (rules, chains, elements).
	Rules *prometheus.GaugeVec
}

func newMetrics() *Metrics {
	// Upstream's buckets: 0.25 s, 0.5 s, 1..59 s, 60..115 s by 5, 120..300 s by 30.
	var progBuckets []float64
	progBuckets = append(progBuckets, prometheus.LinearBuckets(0.25, 0.25, 2)...)
	progBuckets = append(progBuckets, prometheus.LinearBuckets(1, 1, 59)...)
	progBuckets = append(progBuckets, prometheus.LinearBuckets(60, 5, 12)...)
	progBuckets = append(progBuckets, prometheus.LinearBuckets(120, 30, 7)...)
	syncBuckets := prometheus.ExponentialBuckets(0.001, 2, 15)
	return &Metrics{
		NetworkProgramming: prometheus.NewHistogram(prometheus.HistogramOpts{
			Subsystem: "kubeproxy", Name: "network_programming_duration_seconds",
			Help:    "In Cluster Network Programming Latency in seconds",
			Buckets: progBuckets,
		}),
		SyncDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Subsystem: "kubeproxy", Name: "sync_proxy_rules_duration_seconds",
			Help: "SyncProxyRules latency in seconds", Buckets: syncBuckets,
		}),
		FullSyncDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Subsystem: "kubeproxy", Name: "sync_full_proxy_rules_duration_seconds",
			Help: "SyncProxyRules latency in seconds for full resyncs", Buckets: syncBuckets,
		}),
		PartialSync: prometheus.NewHistogram(prometheus.HistogramOpts{
			Subsystem: "kubeproxy", Name: "sync_partial_proxy_rules_duration_seconds",
			Help: "SyncProxyRules latency in seconds for partial resyncs", Buckets: syncBuckets,
		}),
		LastSync: prometheus.NewGauge(prometheus.GaugeOpts{
			Subsystem: "kubeproxy", Name: "sync_proxy_rules_last_timestamp_seconds",
			Help: "The last time proxy rules were successfully synced",
		}),
		SyncFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Subsystem: "kubeproxy", Name: "sync_proxy_rules_nftables_sync_failures_total",
			Help: "Cumulative proxy nftables sync failures",
		}),
		Rules: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Subsystem: "kubeproxy", Name: "sync_proxy_rules_nftables_objects",
			Help: "Number of nftables objects in the proxy's table after the last sync, by kind (rules, chains, elements)",
		}, []string{"kind"}),
	}
}

func (m *Metrics) register(r prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{m.NetworkProgramming, m.SyncDuration, m.FullSyncDuration,
		m.PartialSync, m.LastSync, m.SyncFailures, m.Rules} {
		if err := r.Register(c); err != nil {
			return err
		}
	}
	return nil
}
