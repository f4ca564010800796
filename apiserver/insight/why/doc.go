// Package why serves `/insight/v1/why` (`skiff why pod/NAME`): why a pod is Pending or not
// Ready, in plain sentences.
//
// Explain is pure and table-tested: pod, events and the scheduler's last diagnosis
// (insight/scheddiag) in, sentences out. For a pod not yet scheduled it names every node and the
// filter that rejected it with the numbers (the pod's request against the node's free,
// allocatable and already requested CPU, memory and pods; the untolerated taint; the nodeSelector
// or required affinity against the node's labels; the taken host ports). The diagnosis lives in
// the process that runs the scheduler: cmd/skiff gives the same scheddiag.Store to the
// scheduler and to the API server. When the scheduler runs elsewhere (`skiff
// controller-manager`, or another control-plane member holding the lease) the API server has
// no diagnosis, says so, and explains from the PodScheduled condition and the last
// FailedScheduling event. For a scheduled pod that is not Ready it explains each container:
// image pulls (waiting reason and the last Failed event), crash loops with the last
// termination's exit code, reason and message, probe failures (the Unhealthy events), init
// containers and sidecars, readiness gates, then the newest warning events not yet quoted.
//
// The Handler reads the pod and its events through the loopback client. testenv wires the
// scheduler and the API server as `skiff up` does, so its clusters explain pods too.
package why
