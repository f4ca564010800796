package apiserver

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"k8s.io/component-base/metrics/legacyregistry"
)

// metricsHandler serves /metrics from the API server's own registry plus extra gatherers (the
// in-process controllers' and scheduler's), behind the server's authentication and authorization.
func metricsHandler(extra []prometheus.Gatherer, next http.Handler) http.Handler {
	if len(extra) == 0 {
		return next
	}
	gatherers := append(prometheus.Gatherers{legacyregistry.DefaultGatherer}, extra...)
	h := promhttp.HandlerFor(gatherers, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/metrics" && r.Method == http.MethodGet {
			h.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}
