// Package etcd runs an embedded etcd member (go.etcd.io/etcd/server/v3/embed) under the data
// dir. Only the API server talks to it.
//
// The member does not compact on its own: the API server compacts its history every five
// minutes (--etcd-compaction-interval), once a round for all API servers of a cluster, as
// kube-apiserver does with an etcd run without --auto-compaction-retention; Config paces the
// compaction's batches (etcd's --compaction-batch-limit and --compaction-sleep-interval).
// RunDefrag reports the database file's size and the bytes in use
// (skiff_etcd_db_total_size_in_bytes, skiff_etcd_db_total_size_in_use_in_bytes in the API
// server's /metrics) and defragments the member when more than half of the file, and at least
// 64 MiB, is free (DefragPolicy). Snapshots: snapshot.go (`skiff etcd snapshot`).
package etcd
