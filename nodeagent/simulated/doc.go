// Package simulated is the node agent's explicit simulated mode, in the manner of kwok but on the
// agent's own code: thousands of nodes in one process, no container run. It exists for scale
// tests, benchmarks and controller tests; it is never a fallback for the real agent.
//
// A simulated node runs the real agent's code paths with an in-memory CRI runtime (cri.go):
//   - its Node: registration, status (conditions, capacity, nodeInfo, heartbeat and transition
//     times) and when to post it, from nodeagent/apistatus as the agent's; NotReady until it has a
//     pod CIDR (Config.PodCIDR, else the one the node IPAM controller assigns);
//   - its Lease in kube-node-lease: nodelease.Renewer, one update a renewal, as the agent's;
//   - its pods: the agent's pod workers (nodeagent/podworkers), kuberuntime.SyncPod
//     (ComputePodActions and its runtime calls), status.Generate and the observed generation,
//     the termination path (stop, final status, remove, delete the object with grace 0) and
//     apistatus.PutPodStatus. The runtime acts at once: a sandbox is ready with the next IP of
//     the node's pod CIDR (released with it), every image is present, containers run from their
//     start; regular init containers (and, with Config.CompleteFinitePods, the containers of
//     pods that do not always restart) exit 0 as they start; a stopped container exits 143. A
//     sync repeats until the runtime has nothing left to do (a real node's PLEG would wake it for
//     each completed init container) and writes one status. Sidecars, ephemeral containers,
//     in-place resize (UpdateContainerResources succeeds) and lifecycle hooks (exec succeeds,
//     HTTP answers 200, sleep returns) go through the same code.
//
// What does not run cheaply is off: volumes, cgroups, container logs, image and container
// garbage collection, node-pressure eviction, static pods, admission (host ports), events,
// metrics and traces; probes are not run, every readiness and startup probe succeeds; no
// DNS, service proxy or network policy. Pods' hostIP is the node's server address (127.0.0.1
// without one). An activeDeadlineSeconds past is applied at the pod's next sync (the pod
// workers' resync, each minute), not within a second as on a real node.
//
// A Pool (pool.go) runs many nodes at a few KiB each (BenchmarkNodeMemory: about 4 KiB of heap
// and no goroutine an idle node; a running pod adds about 1–3 KiB of heap and its pod worker's
// goroutine besides its cached object): one pod informer for all of them (pods dispatched by
// spec.nodeName), one Node informer keeping only names and pod CIDRs, one kuberuntime manager
// on one in-memory runtime, one set of pod workers, one heartbeat scheduler (sched.go: a heap
// of the nodes' registrations, Lease renewals and status syncs, run by 128 workers, spread
// and jittered; a failed renewal is retried within seconds, nodelease.Renewer.Heartbeat), one
// limiter of the status writes (PoolConfig.StatusQPS). Nodes share the pool's client, or each
// writes its Node, Lease and pods with its own (Config.Client: the node credentials of `skiff
// agent --simulated --count N`). `skiff up --simulated-nodes N` runs one pool; a node given
// no pool (New without Config.Pool) gets its own, watching only its pods.
//
// A restarted pool (skiff up stopped and started again) begins with an empty runtime, where a
// restarted kubelet finds its containers still running in containerd and restarts none. So
// that a restart costs what it costs upstream, the pool adopts, when it starts, the pods its
// nodes ran: from each non-terminal pod's status, the containers with this runtime's IDs are
// created again by the pod's first sync as they were (IP, container IDs, start and finish
// times, restart counts), and no status changes. A node whose Node is in the API already
// renews its Lease at once (the kubelet's Lease controller runs from its start, beside the
// registration) and runs its pods while it registers again.
//
// A node with Config.Server serves the node agent's API with simulated resource statistics
// (stats.go), so that the metrics API and kubectl top work with simulated nodes.
package simulated
