// Package controllers assembles Skiff's control loops, one subpackage per controller, into a
// single controller-runtime manager with leader election on a Lease in kube-system. It runs inside
// `skiff up` / `skiff server`, or alone as `skiff controller-manager --kubeconfig ...`.
//
// Controllers talk to the cluster only through the API; they never import the API server. What
// several share lives here: Base (client, recorder, options), OwnerKey, ClaimPlan with
// AdoptPatch and ReleasePatch (upstream's ControllerRefManager decisions), PodHandler, and
// Written (a controller's own last write, newer than a lagging cache).
package controllers
