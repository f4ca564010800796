// Package controllermanager puts every Skiff controller into one controller-runtime manager, as
// kube-controller-manager (plus the scheduler) does: ReplicaSet, Deployment, endpoints and
// EndpointSlices, garbage collector, namespace, disruption (PodDisruptionBudget status), node
// lifecycle, node IPAM (podCIDRs from --cluster-cidr) and the scheduler. Leader election on a
// Lease lets several control-plane processes run while one acts.
package controllermanager
