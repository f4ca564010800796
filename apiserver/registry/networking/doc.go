// Package networking is the storage of networking.k8s.io/v1 ipaddresses (Provider), the objects
// through which registry/core/service allocates ClusterIPs.
package networking
