// Package policy is the storage of policy/v1: poddisruptionbudgets (short name pdb) with their
// status subresource and generation (Provider). The disruption controller
// (controllers/disruption) writes their status; the pods/eviction subresource
// (registry/core/pod) reads and decrements it.
package policy
