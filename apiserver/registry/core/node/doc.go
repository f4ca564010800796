// Package node is the storage of core/v1 nodes (Kind) and the way to their agents: Connector
// finds an agent's address and holds the client TLS (ClientTLS) that pods' streams use, and
// nodes/proxy (NewProxyREST, proxy.go) goes through it to the agent's server.
package node
