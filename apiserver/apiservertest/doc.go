// Package apiservertest starts a real Skiff API server (embedded etcd, TLS, admin client
// certificate) inside a test process, on free loopback ports and a temporary data dir, and
// the servers tests put behind it: a backend behind a Service (ServeThroughService) and a
// fake node agent (FakeNode, NodeAgentServer).
package apiservertest
