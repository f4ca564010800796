// Package coordination is the storage of coordination.k8s.io/v1 leases (Provider).
package coordination
