// Package events is the storage of events.k8s.io/v1 events (Provider), served from the core/v1
// events store with conversion both ways, as kube-apiserver does.
package events
