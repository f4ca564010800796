// Package scheduling is the storage of scheduling.k8s.io/v1 priorityclasses (Provider), with
// upstream's rules for the built-in classes system-cluster-critical and system-node-critical:
// EnsureSystemPriorityClasses creates them at start and they cannot be deleted.
package scheduling
