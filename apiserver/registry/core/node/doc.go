// Package node is the storage of core/v1 nodes (Kind) and the way to their agents: Connector
// finds an agent's address and holds the client TLS (ClientTLS) that pods' streams use.
package node
