// Package scheddiag carries the scheduler's last diagnosis of each pod it could not place (the
// nodes, the filter that rejected each and the numbers behind it: requested against free CPU,
// memory and pods, the untolerated taint, the ports) from controllers/scheduler to the API
// server's `/insight/v1/why` (apiserver/insight/why), which explains a Pending pod with it.
//
// It is the meeting point of the two sides, which must not import each other: cmd/skiff makes
// one Store and gives it to both, the scheduler as a Recorder and the API server as a Source.
// The Store is bounded (the newest diagnoses by pod UID, the oldest forgotten first) and lives
// in memory only: a restart, or a scheduler in another process (`skiff controller-manager`, or
// another control-plane member holding the lease), leaves the API server without it, and `skiff
// why` then says so and falls back to the pod's PodScheduled condition and FailedScheduling
// events.
package scheddiag
