// Package etcd runs an embedded etcd member (go.etcd.io/etcd/server/v3/embed) under the data
// dir. Only the API server talks to it.
package etcd
