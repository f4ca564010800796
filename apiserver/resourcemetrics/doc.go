// Package resourcemetrics is metrics-server inside the API server: a scrape loop (Scraper)
// reads every Ready node's /metrics/resource through the API server's node client (the one
// pods/log and exec use), decodes the kubelet's resource metrics (Decode) and keeps the last
// two samples of each node and container (Store), from which it serves usage as metrics-server
// does: CPU as the rate of the cumulative counter between the two samples (nanocores, over
// their window), memory as the last working set. registry/metrics serves it as
// metrics.k8s.io/v1beta1.
//
// Decoding and the rates are pure and table-tested; the scrape loop runs on an injected clock.
package resourcemetrics
