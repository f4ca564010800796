// Package metrics is the storage of metrics.k8s.io/v1beta1 (Provider), the resource metrics
// API that metrics-server serves and `kubectl top` and the HorizontalPodAutoscaler read:
// read-only NodeMetrics and PodMetrics (get and list, label selectors on the nodes' and pods'
// labels, field selectors on metadata.name and metadata.namespace), with metrics-server's table
// columns. The usage comes from apiserver/resourcemetrics, the in-process scraper of the
// nodes' /metrics/resource; `--disable-metrics-api` leaves the group out so that the real
// metrics-server can serve it.
package metrics
