// Package apiservertest starts a real Skiff API server (embedded etcd, TLS, admin client
// certificate) inside a test process, on free loopback ports and a temporary data dir.
package apiservertest
