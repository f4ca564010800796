// Package bench measures the API server against an in-process apiservertest server, and raw
// etcd puts against a separately started embedded etcd on the same disk, in the same run, so
// the two throughputs can be compared:
//
//	go test ./test/bench/ -run '^$' -bench . -benchtime 1x
//
// BenchmarkAPIServer does bounded work (a few thousand requests; well under two minutes on two
// cores): pod create throughput and latency with 16 concurrent clients, the same with raw etcd
// puts of the same size, get, list of 1000 pods, watch-event throughput and latency, and a
// paced run of 20 writes/s. It prints a table and reports every figure with b.ReportMetric.
// There are no assertions on timings: goals are printed next to the figures.
//
// BenchmarkWatchBurst creates and binds 5,000 pods (16 workers) while 20 cluster-wide pod
// watchers, half JSON and half protobuf, read every event; it counts the watches the server
// closed (apiserver_terminated_watchers_total), the re-watches refused with 410 Gone (relists)
// and the largest write-to-event lag. Goal: 0 forced closes (apiserver/watchbuffer).
//
// BenchmarkTracingOverhead measures issue 16's cost of tracing with tracing off and on in the
// same run: two child processes of the test binary (TestTracingStack: API server, controllers,
// scheduler, simulated nodes; one traced as `skiff up`, one as with --disable-tracing) take
// alternating short rounds (off, on, on, off, ...) of API pod creates and of ReplicaSet pod
// startups; each pair of rounds gives an overhead, and the figures are the pairs' median and
// spread, for the server's CPU time per create or pod (what tracing costs, little moved by other
// processes on the machine) and for the wall time (creates/s, startup latency). Goal: < 5%.
//
// BenchmarkTracedCreates is its quick half, in one process: API pod creates on an untraced and
// on a traced API server (no controllers), sub-benchmarks "off" and "on" with B/op, allocs/op
// and cpu-ms/op per create; -bench 'TracedCreates/on' -memprofile profiles the traced side.
package bench
