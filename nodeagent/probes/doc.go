// Package probes runs liveness, readiness and startup probes after upstream's prober
// (pkg/kubelet/prober): one worker per container and probe kind, exec through CRI ExecSync,
// httpGet and tcpSocket from the host to the pod IP, initialDelaySeconds, periodSeconds,
// timeoutSeconds, successThreshold and failureThreshold with upstream's semantics, and results
// keyed by container ID so that a restarted container starts afresh. Sidecars (init containers
// with restartPolicy Always) are probed like app containers, from their initContainerStatuses
// entry, and their workers outlive an exit whatever the pod's restartPolicy.
//
// A probe run that changes a container's result (after the thresholds) is a span of the agent
// (Config.Tracer, insight/trace): "Readiness probe succeeded", "Liveness probe failed", timed as
// the run, with the pod's attributes, the container, the probe kind, the result and a failure's
// output. Runs that confirm the current result record nothing, so periodic probes do not fill
// the span store.
package probes
