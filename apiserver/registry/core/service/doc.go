// Package service is the storage of core/v1 services (NewREST) and their allocators: ClusterIPs
// as networking.k8s.io IPAddress objects (ipalloc.go) and NodePorts as a bitmap in etcd
// (portalloc.go, nodeport.go), allocated on create and update and released on delete; and
// services/proxy (proxy.go) to a ready endpoint of the named port, as upstream's.
package service
