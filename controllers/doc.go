// Package controllers assembles Skiff's control loops, one subpackage per controller, into a
// single controller-runtime manager with leader election on a Lease in kube-system. It runs inside
// `skiff up` / `skiff server`, or alone as `skiff controller-manager --kubeconfig ...`.
//
// Controllers talk to the cluster only through the API; they never import the API server. What
// several share lives here: Base (client, recorder, options), OwnerKey, ClaimPlan with
// AdoptPatch and ReleasePatch (upstream's ControllerRefManager decisions), PodHandler,
// PodControllerIndex with PodsControlledBy (a controller's pods and the orphans, read from the
// cache without copies, as upstream's PodControllerUIDIndex), and Written (a controller's own
// last write, newer than a lagging cache). The manager's cache keeps no managed fields; a
// SharedCache (Options.Cache) is one cache for a process's leader-election terms, whose handlers
// leave with their term; Run runs
// a manager from NewManager so that it also returns when stopped before its caches synced, and
// its client carries streaminglists.WrapTransport (informers list instead of streaming when the
// API server's watch cache lags).
package controllers
