// Package etcdmetrics reads the metrics that embedded etcd members register in the process's
// default Prometheus registry (etcd's own, such as etcd_debugging_mvcc_watch_stream_total), for
// tests that check what a member did. The registry is the process's: tests that compare values
// take differences and do not run in parallel with other members.
package etcdmetrics
