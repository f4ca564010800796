// Package controllermanager puts every Skiff controller into one controller-runtime manager, as
// kube-controller-manager (plus the scheduler) does: ReplicaSet, Deployment, endpoints and
// EndpointSlices, garbage collector, namespace, disruption (PodDisruptionBudget status), node
// lifecycle, node IPAM (podCIDRs from --cluster-cidr) and the scheduler. Leader election on a
// Lease lets several control-plane processes run while one acts (election.go, client-go's
// elector as kube-controller-manager's): every controller and the scheduler run in one manager
// only while the process holds the Lease kube-system/skiff-controller-manager. A lost Lease (a
// renewal failing for the renew deadline, or another holder) stops that manager, waits for
// every controller to end (the manager's graceful shutdown; past its 30 s the process ends
// instead, never running two managers), and campaigns again with a new manager: upstream's
// kube-controller-manager exits and its supervisor restarts it, which in `skiff up` would end
// the whole cluster. The process keeps one identity, so a term lost to a slow renewal that the
// API server applied is won again at once; another holder's Lease is waited out. The Lease is
// released at the end only once the controllers stopped.
package controllermanager
