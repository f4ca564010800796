package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/prometheus/common/expfmt"
	"k8s.io/klog/v2"

	"github.com/skiff-dev/skiff/nodeagent/stats"
)

// statsSummary serves /stats/summary: the node's Summary as JSON, as the kubelet's (which
// accepts only_cpu_and_memory; this Summary has nothing but CPU and memory anyway).
func (s *Server) statsSummary(w http.ResponseWriter, r *http.Request) {
	sum, err := s.cfg.Stats.Summary(r.Context())
	if err != nil {
		writeError(w, http.StatusInternalServerError, fmt.Sprintf("failed to get node info: %v", err))
		return
	}
	b, err := json.Marshal(sum)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

// resourceMetrics serves /metrics/resource: the kubelet's resource metrics in the Prometheus
// text format; a failed read answers 200 with resource_scrape_error 1, as the kubelet's.
func (s *Server) resourceMetrics(w http.ResponseWriter, r *http.Request) {
	sum, err := s.cfg.Stats.Summary(r.Context())
	if err != nil {
		klog.FromContext(r.Context()).Error(err, "Reading the node's resource statistics")
		sum = nil
	}
	var buf bytes.Buffer
	if err := stats.WriteText(&buf, stats.ResourceMetrics(sum, err != nil)); err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("Content-Type", string(expfmt.NewFormat(expfmt.TypeTextPlain)))
	_, _ = w.Write(buf.Bytes())
}
