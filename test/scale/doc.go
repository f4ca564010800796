// Package scale is issue 17's scale run: thousands of simulated nodes and tens of thousands of
// pods on one `skiff up`, measured as upstream's clusterloader2 measures a cluster, each figure
// printed next to its goal and next to upstream's published threshold.
//
//	make bench-scale                                  # 5,000 nodes, 50,000 pods
//	make bench-scale SCALE_NODES=500 SCALE_PODS=5000  # smaller
//	make bench-scale-knee                             # 1k, 2k, 5k, 10k nodes, 10 pods each
//
// TestScale (only with SKIFF_SCALE=1; `make test` compiles it and runs the unit tests of the
// figures) builds skiff (or takes $SKIFF_BIN) and runs `skiff up --agent=false` on a fresh data
// dir under $TMPDIR, with --cluster-cidr 10.128.0.0/10 (the default /16 has subnets for 256
// nodes), and the N simulated nodes in a process of their own, `skiff agent --simulated --count
// N` with a join token (each node its own client certificate, connection and kubelet-serving
// certificate, as kubelets), so that the control plane's memory and CPU are measured apart;
// SCALE_NODES_IN=up runs them inside skiff up instead (--simulated-nodes N). Once every node is
// Ready, and (joined nodes) every node's kubelet-serving certificate issued, so that the nodes'
// joining does not overlap the load, it creates namespaces
// of 10 Deployments of 100 replicas (SCALE_PODS in all; SCALE_QPS Deployment creates a
// second) and waits for every pod to be Running, while it measures:
//
//   - API latency by upstream's SLO classes (mutating ≤ 1 s, get ≤ 1 s, namespace list ≤ 5 s,
//     cluster list ≤ 30 s): server side, the p99 of every resource/subresource/verb/scope group
//     of apiserver_request_sli_duration_seconds between the start and the end of the load
//     (histogram_quantile over the window, events and watches excluded, as clusterloader2's
//     APIResponsivenessPrometheus), the slowest group of each class reported; client side,
//     probes during the load: a ConfigMap PATCH and a pod GET every second, a namespace's pods
//     listed every 5 s, every pod listed in pages of 500 and every node listed every 30 s;
//   - scheduling throughput: scheduled pods sampled every 5 s (clusterloader2's
//     SchedulingThroughput percentiles) and the average over the load, next to the pods'
//     creation rate sampled the same way (the scheduler cannot bind faster than the ReplicaSet
//     controller creates); pod startup latency (creation to the watch seeing the pod Running);
//   - memory: the resident memory of the skiff up process (peak and at rest) and its Go heap
//     in use, the simulated nodes' process apart; the etcd database size; CPU seconds during
//     the load, of both;
//   - a 30 s CPU profile from 10 s into the load and a heap profile at rest, from the API
//     server's /debug/pprof (a non-resource URL behind authorization), saved in SCALE_OUT and
//     summarised as `go tool pprof -top` (top 10);
//   - restart: skiff up interrupted and started again on the same data dir and port, timed to
//     "Skiff is ready.", /readyz, every node Lease renewed and every pod listed Running. The
//     simulated nodes' process keeps running, as kubelets do, and reconnects; with
//     SCALE_NODES_IN=up they restart with skiff up, and their Pool adopts the pods they ran (a
//     restarted kubelet finds its containers running in containerd) and renews the Leases of
//     Nodes already registered at once, so the restart rewrites no pod status. A stop that
//     hangs for two minutes gets SIGQUIT: the goroutine dump lands in
//     SCALE_OUT/skiff-up-stop.log.
//
// TestScaleKnee (SKIFF_SCALE_KNEE=1) runs the same load without restart and profiles for each
// of SCALE_KNEE_STEPS nodes (SCALE_PODS_PER_NODE pods each) and stops at the first step where
// a server-side p99 exceeds its SLO or the run fails: the knee.
//
// A run kills skiff up when its resident memory passes SCALE_MAX_RSS_GIB (default 12) and
// gives up when no pod starts for SCALE_STALL_SECONDS (180). SCALE_UP_ARGS adds flags to
// skiff up; SCALE_KEEP=1 keeps the data dir (and its logs/skiff.log). The make targets take
// /tmp/skiff-scale.lock: one scale run at a time on a shared machine.
package scale
