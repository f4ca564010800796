// Package kuberuntime is the kubelet's runtime manager over CRI, after upstream's
// pkg/kubelet/kuberuntime: it reads a pod's sandboxes and containers from the runtime, decides
// what to do (ComputePodActions) and does it (SyncPod, KillPod) through the cri-api
// RuntimeService and ImageManagerService interfaces.
//
// Lifecycle hooks (hooks.go) run as upstream's handlerRunner, through injected HookRunners:
// exec through CRI ExecSync, httpGet to the pod IP (or the host given) with scheme, named
// ports, path and headers (an https request answered in plain HTTP is retried as http), and
// sleep. postStart runs right after the container starts; when it fails the container is
// killed (event FailedPostStartHook, waiting reason PostStartHookError) and restarted per the
// restart policy. preStop runs before the stop signal of a running container when the grace
// period is above 0, for at most the grace period (event FailedPreStopHook on failure); the
// stop gets what remains, at least MinimumGracePeriod (PlanPreStop, StopGrace).
package kuberuntime
