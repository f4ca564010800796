// Package etcd runs an embedded etcd member (go.etcd.io/etcd/server/v3/embed) under the data
// dir. Only the API server talks to it.
//
// Revisions older than five minutes are compacted (etcd's periodic auto-compaction, beside the
// API server's own every five minutes); RunDefrag reports the database file's size and the bytes
// in use (skiff_etcd_db_total_size_in_bytes, skiff_etcd_db_total_size_in_use_in_bytes in the
// API server's /metrics) and defragments the member when more than half of the file, and at
// least 64 MiB, is free (DefragPolicy). Snapshots: snapshot.go (`skiff etcd snapshot`).
package etcd
