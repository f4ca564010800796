// Package discovery is the storage of discovery.k8s.io/v1 endpointslices (Provider).
package discovery
