// Package testenv runs a whole Skiff control plane inside a Go test, for operator authors: an
// embedded etcd, the API server (with CustomResourceDefinitions) and the controllers (garbage
// collector, namespace, ReplicaSet, Deployment, endpoints, node lifecycle, node IPAM, scheduler),
// optionally simulated nodes (which honour NodeHeartbeat Faults) and tracing (WithTracing: the
// spans `skiff trace` draws, in Env.Traces), all in the test process on free loopback ports and
// a temporary data dir. Skiff's own kinds (chaos.skiff.dev Faults) are installed with the controllers, as
// skiff up does.
//
//	env := testenv.Start(t, testenv.WithCRDs("config/crd"), testenv.WithSimulatedNodes(2))
//	mgr, err := ctrl.NewManager(env.Config, ctrl.Options{...})
//
// Unlike controller-runtime's envtest it needs no external binaries, and the cluster behaves as a
// real one: namespaces finish deleting, ownerReferences cascade, Deployments make Pods that get
// scheduled onto nodes. Everything stops and is removed when the test ends.
package testenv
