package scale

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/skiff-dev/skiff/test/poll"
)

// settings of a run, from the environment (make bench-scale sets them).
type settings struct {
	nodes, pods, replicas int
	qps                   float64
	maxRSS                int64
	stall                 time.Duration
	out                   string
	restart, profiles     bool
	// nodesInUp runs the simulated nodes inside skiff up (SCALE_NODES_IN=up) instead of a
	// `skiff agent --simulated` process of their own (the default): the control plane's memory
	// and CPU are then measured with the nodes'.
	nodesInUp bool
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func loadSettings(t *testing.T) settings {
	s := settings{
		nodes:    envInt("SCALE_NODES", 5000),
		pods:     envInt("SCALE_PODS", 50000),
		replicas: envInt("SCALE_REPLICAS", 100),
		qps:      float64(envInt("SCALE_QPS", 20)),
		maxRSS:   int64(envInt("SCALE_MAX_RSS_GIB", 12)) << 30,
		stall:    time.Duration(envInt("SCALE_STALL_SECONDS", 180)) * time.Second,
		out:      os.Getenv("SCALE_OUT"),
		restart:  true, profiles: true,
		nodesInUp: os.Getenv("SCALE_NODES_IN") == "up",
	}
	if s.out == "" {
		s.out = filepath.Join(os.TempDir(), "skiff-scale-"+time.Now().UTC().Format("20060102-150405"))
	}
	if err := os.MkdirAll(s.out, 0o755); err != nil {
		t.Fatal(err)
	}
	return s
}

// result is what one run measured.
type result struct {
	nodes, pods     int
	nodesReadyAfter time.Duration // from "Skiff is ready." to every node Ready
	// nodesServingAfter is from "Skiff is ready." to every node's kubelet-serving certificate
	// issued (0 with the nodes in skiff up).
	nodesServingAfter time.Duration
	loadDuration      time.Duration // from the first Deployment to every pod Running
	running           int
	throughput        Throughput
	creation          Throughput // pods created (by the ReplicaSet controller), sampled as throughput
	startup           []time.Duration
	calls             []CallLatency
	classes           []ClassLatency
	client            map[string][]time.Duration
	clientErrors      map[string]int
	rss, peakRSS      int64
	agentRSS          int64 // the simulated nodes' process at rest (0: nodes in skiff up)
	agentPeakRSS      int64
	agentCPUSeconds   float64
	nodesInUp         bool
	heapInuse         float64
	etcdDB            float64
	cpuSeconds        float64
	restart           restartTimes
	cpuTop, heapTop   string
	failed            string
}

type restartTimes struct {
	done                                 bool
	ready, readyz, nodes, pods, stopTook time.Duration
	// etcdReady and apiReady are when skiff up reported its etcd and its API server ready
	// (its progress lines), 0 when it did not.
	etcdReady, apiReady time.Duration
}

// TestScale is issue 17's scale run: skiff up with SCALE_NODES simulated nodes (default
// 5,000), SCALE_PODS pods (default 50,000) created by Deployments, the figures printed next
// to their goals and upstream's thresholds. Only with SKIFF_SCALE=1 (make bench-scale).
func TestScale(t *testing.T) {
	if os.Getenv("SKIFF_SCALE") == "" {
		t.Skip("SKIFF_SCALE=1 runs the scale test (make bench-scale)")
	}
	s := loadSettings(t)
	bin := skiffBinary(t)
	r := run(t, bin, s)
	rows := report(r)
	where := "skiff up and a skiff agent --simulated process"
	if r.nodesInUp {
		where = "skiff up, one process"
	}
	fmt.Printf("\nSkiff scale run: %d simulated nodes, %d pods in %d Deployments (%s; figures in %s)\n",
		r.nodes, r.pods, (r.pods+s.replicas-1)/s.replicas, where, s.out)
	WriteTable(os.Stdout, rows)
	printDetails(r)
	if r.failed != "" {
		t.Fatal(r.failed)
	}
}

// TestScaleKnee steps the number of nodes (SCALE_KNEE_STEPS, default 1000,2000,5000,10000;
// SCALE_PODS_PER_NODE pods each, default 10) and reports the first step where a p99 of the API
// exceeds its SLO or the run fails. Only with SKIFF_SCALE_KNEE=1 (make bench-scale-knee).
func TestScaleKnee(t *testing.T) {
	if os.Getenv("SKIFF_SCALE_KNEE") == "" {
		t.Skip("SKIFF_SCALE_KNEE=1 runs the knee search (make bench-scale-knee)")
	}
	steps := os.Getenv("SCALE_KNEE_STEPS")
	if steps == "" {
		steps = "1000,2000,5000,10000"
	}
	perNode := envInt("SCALE_PODS_PER_NODE", 10)
	bin := skiffBinary(t)
	base := loadSettings(t)
	var lines []string
	knee := ""
	for _, step := range strings.Split(steps, ",") {
		nodes, err := strconv.Atoi(strings.TrimSpace(step))
		if err != nil {
			t.Fatalf("SCALE_KNEE_STEPS: %v", err)
		}
		s := base
		s.nodes, s.pods, s.restart, s.profiles = nodes, nodes*perNode, false, false
		s.out = filepath.Join(base.out, fmt.Sprintf("nodes-%d", nodes))
		_ = os.MkdirAll(s.out, 0o755)
		r := run(t, bin, s)
		line, ok := kneeLine(r)
		lines = append(lines, line)
		fmt.Printf("knee step: %s\n", line)
		if !ok {
			knee = fmt.Sprintf("%d nodes / %d pods", nodes, nodes*perNode)
			break
		}
	}
	fmt.Printf("\nKnee search (%d pods per node; p99 of the worst call of each SLO class, server side)\n", perNode)
	for _, l := range lines {
		fmt.Println("  " + l)
	}
	if knee == "" {
		fmt.Println("  no step exceeded an SLO")
	} else {
		fmt.Printf("  knee: first step over an SLO or failing: %s\n", knee)
	}
}

func kneeLine(r result) (string, bool) {
	ok := r.failed == ""
	parts := []string{fmt.Sprintf("%5d nodes %6d pods:", r.nodes, r.pods)}
	for _, c := range r.classes {
		parts = append(parts, fmt.Sprintf("%s %s", c.Class, FormatDuration(c.Worst.P99)))
		ok = ok && c.OK()
	}
	parts = append(parts, fmt.Sprintf("sched avg %.0f pods/s", r.throughput.Average), "rss "+FormatBytes(r.peakRSS))
	if r.failed != "" {
		parts = append(parts, "FAILED: "+firstLine(r.failed))
	}
	return strings.Join(parts, "  "), ok
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// run does one scale run on a fresh data dir; a failure is recorded in result.failed with the
// figures measured so far.
func run(t *testing.T, bin string, s settings) (r result) {
	t.Helper()
	r = result{nodes: s.nodes, pods: s.pods, nodesInUp: s.nodesInUp}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir, err := os.MkdirTemp("", "skiff-scale-data-")
	if err != nil {
		t.Fatal(err)
	}
	if os.Getenv("SCALE_KEEP") == "" {
		defer os.RemoveAll(dir)
	}
	upNodes := 0
	if s.nodesInUp {
		upNodes = s.nodes
	}
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	c, err := startCluster(t, bin, dir, upNodes, port)
	if err != nil {
		r.failed = err.Error()
		return r
	}
	c.dumpDir = s.out
	defer func() { c.stop() }()
	var a *agents
	if !s.nodesInUp {
		if a, err = startAgents(t, bin, dir, c, s.nodes); err != nil {
			r.failed = err.Error()
			return r
		}
		defer a.stop()
	}
	// The waits below end when skiff up (or the agents) exit.
	go func() {
		var agentsExited chan struct{}
		if a != nil {
			agentsExited = a.exited
		}
		select {
		case <-c.exited:
			cancel()
		case <-agentsExited:
			cancel()
		case <-ctx.Done():
		}
	}()
	var rssExceeded, peakRSS, agentPeakRSS atomic.Int64
	go c.watchdog(ctx, s.maxRSS, func(v int64) { rssExceeded.Store(v) })
	go func() {
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				if v := c.rss(); v > peakRSS.Load() {
					peakRSS.Store(v)
				}
				if v := a.rss(); v > agentPeakRSS.Load() {
					agentPeakRSS.Store(v)
				}
			}
		}
	}()
	defer func() { r.peakRSS, r.agentPeakRSS = peakRSS.Load(), agentPeakRSS.Load() }()
	fail := func(format string, args ...any) result {
		r.failed = fmt.Sprintf(format, args...)
		if err := c.alive(); err != nil {
			r.failed = err.Error() + ": " + r.failed
		}
		if a != nil {
			if err := a.alive(); err != nil {
				r.failed = err.Error() + ": " + r.failed
			}
		}
		if v := rssExceeded.Load(); v > 0 {
			r.failed = fmt.Sprintf("skiff up killed at %s resident (SCALE_MAX_RSS_GIB): %s", FormatBytes(v), r.failed)
		}
		r.failed += "\nskiff up log tail:\n" + c.log.tail(3000) + "\n(full log: " + filepath.Join(dir, "logs", "skiff.log") + ")"
		return r
	}

	readyAt := time.Now()
	tracker, nodes, err := startTrackers(ctx, c.client)
	if err != nil {
		return fail("%v", err)
	}
	if err := poll.Wait(ctx, 10*time.Minute, func() error {
		if n := readyNodes(nodes); n < s.nodes {
			return fmt.Errorf("%d of %d nodes Ready", n, s.nodes)
		}
		return nil
	}); err != nil {
		return fail("waiting for the nodes: %v", err)
	}
	r.nodesReadyAfter = time.Since(readyAt)
	t.Logf("%d nodes Ready %s after skiff up was ready", s.nodes, r.nodesReadyAfter.Round(time.Second))
	if a != nil {
		// Joined nodes request their kubelet-serving certificates once registered, about 25 a
		// second (a CSR created, approved, signed and watched each): the load starts once the
		// last is issued, on nodes done joining, as in a cluster whose nodes are up.
		if err := poll.Wait(ctx, 15*time.Minute, func() error {
			n, err := issuedServingCertificates(ctx, c.client)
			if err == nil && n < s.nodes {
				err = fmt.Errorf("%d of %d kubelet-serving certificates issued", n, s.nodes)
			}
			return err
		}); err != nil {
			return fail("waiting for the nodes' serving certificates: %v", err)
		}
		r.nodesServingAfter = time.Since(readyAt)
		t.Logf("%d nodes serving with their own certificates %s after skiff up was ready", s.nodes, r.nodesServingAfter.Round(time.Second))
	}

	before, err := callHistograms(ctx, c.client)
	if err != nil {
		return fail("%v", err)
	}
	cpuBefore := cpuSeconds(c.pid())
	var agentCPUBefore float64
	if a != nil {
		agentCPUBefore = cpuSeconds(a.cmd.Process.Pid)
	}
	probeCtx, stopProbes := context.WithCancel(ctx)
	defer stopProbes()
	pr := runProbes(probeCtx, c.client, tracker)

	// Scheduled pods sampled every 5 s, as clusterloader2's SchedulingThroughput.
	const sampleEvery = 5 * time.Second
	var samples, created []int
	var samplesMu sync.Mutex
	go func() {
		tick := time.NewTicker(sampleEvery)
		defer tick.Stop()
		for {
			samplesMu.Lock()
			samples = append(samples, int(tracker.scheduled.Load()))
			created = append(created, int(tracker.total.Load()))
			samplesMu.Unlock()
			select {
			case <-probeCtx.Done():
				return
			case <-tick.C:
			}
		}
	}()

	loadStart := time.Now()
	creator := *c.cfg
	creator.QPS, creator.Burst = float32(s.qps), int(s.qps)
	cc, err := kubernetes.NewForConfig(protobuf(&creator))
	if err != nil {
		return fail("%v", err)
	}
	plan := layout(s.pods, s.replicas)
	if err := createLoad(ctx, cc, plan, 4, s.qps); err != nil {
		return fail("%v", err)
	}
	t.Logf("%d Deployments created in %s", (s.pods+s.replicas-1)/s.replicas, time.Since(loadStart).Round(time.Second))

	// A CPU profile (30 s) while the pods are created, bound and started.
	cpuProfile := make(chan string, 1)
	if s.profiles {
		go func() {
			// From 10 s into the load: pods are being created, bound and started.
			select {
			case <-ctx.Done():
			case <-time.After(10 * time.Second):
			}
			cpuProfile <- profileTop(ctx, c, s.out, "cpu", "/debug/pprof/profile", "seconds=30", "")
		}()
	}

	last, lastProgress := int64(-1), time.Now()
	loadCtx, stopWaiting := context.WithCancel(ctx)
	var gaveUp error
	err = poll.Wait(loadCtx, 4*time.Hour, func() error {
		running := tracker.running.Load()
		state := fmt.Errorf("%d of %d pods Running (%d scheduled, %d created)", running, s.pods, tracker.scheduled.Load(), tracker.total.Load())
		if running != last {
			last, lastProgress = running, time.Now()
		}
		if time.Since(lastProgress) > s.stall {
			gaveUp = fmt.Errorf("no progress for %s: %w", s.stall, state)
			stopWaiting()
		}
		if running < int64(s.pods) {
			return state
		}
		return nil
	})
	stopWaiting()
	if gaveUp != nil {
		err = gaveUp
	}
	r.loadDuration = time.Since(loadStart)
	r.running = int(tracker.running.Load())
	// Let the probes and the throughput sampler see the end of the load.
	time.Sleep(sampleEvery) // one more sample interval for the throughput sampler, not a wait for a condition
	stopProbes()
	samplesMu.Lock()
	r.throughput = SchedulingThroughput(samples, sampleEvery)
	r.creation = SchedulingThroughput(created, sampleEvery)
	samplesMu.Unlock()
	r.startup = tracker.startupLatencies()
	r.client, r.clientErrors = map[string][]time.Duration{}, map[string]int{}
	for _, class := range Classes {
		r.client[class], r.clientErrors[class] = pr.latencies(class)
	}
	if after, herr := callHistograms(ctx, c.client); herr == nil {
		r.calls, r.classes = APIResponsiveness(before, after)
	}
	if c.alive() == nil {
		r.cpuSeconds = cpuSeconds(c.pid()) - cpuBefore
	}
	if a != nil && a.alive() == nil {
		r.agentCPUSeconds = cpuSeconds(a.cmd.Process.Pid) - agentCPUBefore
	}
	if err != nil {
		if s.profiles {
			r.cpuTop = <-cpuProfile
		}
		return fail("waiting for the pods: %v", err)
	}
	t.Logf("%d pods Running %s after the first Deployment", s.pods, r.loadDuration.Round(time.Second))

	if s.profiles {
		r.cpuTop = <-cpuProfile
	}
	// Memory at rest with every pod Running.
	time.Sleep(20 * time.Second) // settling before a memory reading, not a wait for a condition
	r.rss, r.agentRSS = c.rss(), a.rss()
	if text, err := metricsText(ctx, c.client); err == nil {
		r.heapInuse, _ = Gauge(text, "go_memstats_heap_inuse_bytes")
	}
	// The file, not skiff_etcd_db_total_size_in_bytes: that gauge is refreshed every 10 minutes.
	if st, err := os.Stat(filepath.Join(dir, "etcd", "member", "snap", "db")); err == nil {
		r.etcdDB = float64(st.Size())
	}
	if s.profiles {
		r.heapTop = profileTop(ctx, c, s.out, "heap", "/debug/pprof/heap", "", "-sample_index=inuse_space")
	}
	if !s.restart {
		return r
	}

	// Restart of the whole control plane on the same data dir (and port). The simulated nodes
	// of their own process keep running, as kubelets do, and find it again; inside skiff up
	// they restart with it, and their Pool adopts the pods they ran (nodeagent/simulated), as
	// containerd keeps them across a kubelet restart.
	cancel()
	stopStart := time.Now()
	c.stop()
	r.restart.stopTook = time.Since(stopStart)
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	start := time.Now()
	c2, err := startCluster(t, bin, dir, upNodes, port)
	if err != nil {
		return fail("restart: %v", err)
	}
	c = c2
	c.dumpDir = s.out
	go func() {
		select {
		case <-c.exited:
			cancel2()
		case <-ctx2.Done():
		}
	}()
	r.restart.ready = time.Since(start)
	upLog := c.log.String()
	r.restart.etcdReady = progressAt(upLog, "etcd is ready")
	r.restart.apiReady = progressAt(upLog, "API server is ready")
	if err := poll.Wait(ctx2, 10*time.Minute, func() error {
		_, err := c.client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx2)
		return err
	}); err != nil {
		return fail("restart: /readyz: %v", err)
	}
	r.restart.readyz = time.Since(start)
	if err := poll.Wait(ctx2, 10*time.Minute, func() error {
		n, err := leasesRenewedSince(ctx2, c.client, start)
		if err == nil && n < s.nodes {
			err = fmt.Errorf("%d of %d node Leases renewed", n, s.nodes)
		}
		return err
	}); err != nil {
		return fail("restart: %v", err)
	}
	r.restart.nodes = time.Since(start)
	if err := poll.Wait(ctx2, 10*time.Minute, func() error {
		running, total, err := runningPods(ctx2, c.client)
		if err == nil && running < s.pods {
			err = fmt.Errorf("%d of %d pods listed Running (%d listed)", running, s.pods, total)
		}
		return err
	}); err != nil {
		return fail("restart: %v", err)
	}
	r.restart.pods = time.Since(start)
	r.restart.done = true
	return r
}

// progressAt is when skiff up's progress line with the given text says it happened (its
// "  2.4s  etcd is ready; ..." lines in log), 0 when log has no such line.
func progressAt(log, text string) time.Duration {
	for _, line := range strings.Split(log, "\n") {
		at, rest, ok := strings.Cut(strings.TrimSpace(line), "s  ")
		if !ok || !strings.HasPrefix(rest, text) {
			continue
		}
		if v, err := strconv.ParseFloat(at, 64); err == nil {
			return time.Duration(v * float64(time.Second))
		}
	}
	return 0
}

// profileTop fetches a pprof profile from the API server (cluster-admin: /debug/pprof is a
// non-resource URL behind authorization), saves it in out and returns `go tool pprof -top`'s
// ten largest entries.
func profileTop(ctx context.Context, c *cluster, out, name, path, query, extra string) string {
	req := c.client.CoreV1().RESTClient().Get().AbsPath(path).Timeout(2 * time.Minute)
	if k, v, ok := strings.Cut(query, "="); ok {
		req = req.Param(k, v)
	}
	raw, err := req.DoRaw(ctx)
	if err != nil {
		return fmt.Sprintf("%s profile: %v", name, err)
	}
	file := filepath.Join(out, name+".pprof")
	if err := os.WriteFile(file, raw, 0o644); err != nil {
		return err.Error()
	}
	args := []string{"tool", "pprof", "-top", "-nodecount=10"}
	if extra != "" {
		args = append(args, extra)
	}
	top, err := exec.Command("go", append(args, c.bin, file)...).CombinedOutput()
	if err != nil {
		return fmt.Sprintf("go tool pprof: %v\n%s", err, top)
	}
	return fmt.Sprintf("(%s)\n%s", file, top)
}

// report is the table of figures with their goals (issue 17) and upstream's thresholds
// (kubernetes/community sig-scalability: slos/ and configs-and-limits/thresholds.md;
// clusterloader2's defaults where the SLOs have none).
func report(r result) []Row {
	inUp := ""
	if r.nodesInUp {
		inUp = ", simulated nodes in it"
	}
	var rows []Row
	rows = append(rows,
		Row{Figure: "nodes (simulated, Ready)", Measured: strconv.Itoa(r.nodes), Goal: "5000", Upstream: "5,000 nodes", Verdict: Verdict(r.nodes >= 5000)},
		Row{Figure: "pods Running (Deployments)", Measured: fmt.Sprintf("%d of %d", r.running, r.pods), Goal: "50000",
			Upstream: "150,000 pods; 110 pods/node", Verdict: Verdict(r.running >= 50000 && r.running == r.pods)},
		Row{Figure: "pods per node", Measured: fmt.Sprintf("%.1f", float64(r.pods)/float64(max(r.nodes, 1))), Goal: "",
			Upstream: "min(110, 10 × cores)"},
	)
	for _, c := range r.classes {
		measured := "no calls"
		if c.Groups > 0 {
			measured = fmt.Sprintf("%s (%s, %d calls); %d of %d groups over", FormatDuration(c.Worst.P99), c.Worst.Key, c.Worst.Count, c.Over, c.Groups)
		}
		rows = append(rows, Row{Figure: "API p99 " + c.Class + ", server", Measured: measured,
			Goal: "≤ " + FormatDuration(c.Threshold), Upstream: "SLO ≤ " + FormatDuration(c.Threshold) + " (p99, clusterloader2)", Verdict: Verdict(c.OK())})
	}
	for _, class := range Classes {
		lat := r.client[class]
		measured := fmt.Sprintf("%s (%d calls, %d errors)", FormatDuration(Percentile(lat, 0.99)), len(lat), r.clientErrors[class])
		rows = append(rows, Row{Figure: "API p99 " + class + ", client", Measured: measured, Goal: "≤ " + FormatDuration(SLOThreshold[class]),
			Upstream: "SLO ≤ " + FormatDuration(SLOThreshold[class]), Verdict: Verdict(len(lat) > 0 && Percentile(lat, 0.99) <= SLOThreshold[class] && r.clientErrors[class] == 0)})
	}
	rows = append(rows,
		Row{Figure: "scheduling throughput, average", Measured: fmt.Sprintf("%.0f pods/s", r.throughput.Average), Goal: "≥ 500 pods/s",
			Upstream: "clusterloader2 default threshold 100 pods/s", Verdict: Verdict(r.throughput.Average >= 500)},
		Row{Figure: "scheduling throughput, 5 s samples", Measured: fmt.Sprintf("p50 %.0f, p90 %.0f, max %.0f pods/s", r.throughput.Perc50, r.throughput.Perc90, r.throughput.Max)},
		// The scheduler cannot bind pods faster than the ReplicaSet controller creates them.
		Row{Figure: "pod creation throughput (average; 5 s samples p50, max)", Measured: fmt.Sprintf("%.0f pods/s (p50 %.0f, max %.0f)", r.creation.Average, r.creation.Perc50, r.creation.Max)},
		Row{Figure: "pod startup p99 (create → watch Running)", Measured: FormatDuration(Percentile(r.startup, 0.99)) + fmt.Sprintf(" (p50 %s)", FormatDuration(Percentile(r.startup, 0.5))),
			Upstream: "SLO ≤ 5 s (p99, stateless pods, in a steady cluster)"},
		Row{Figure: "load: first Deployment → all Running", Measured: r.loadDuration.Round(time.Second).String()},
		Row{Figure: "control-plane CPU during the load", Measured: fmt.Sprintf("%.0f s (%.2f cores)", r.cpuSeconds, r.cpuSeconds/max(r.loadDuration.Seconds(), 1))},
		Row{Figure: "memory: control plane (skiff up) peak RSS" + inUp, Measured: FormatBytes(r.peakRSS),
			Goal: "≤ 4 GiB", Upstream: "none published", Verdict: Verdict(r.peakRSS > 0 && r.peakRSS <= 4<<30)},
		Row{Figure: "memory: control plane RSS at rest", Measured: FormatBytes(r.rss)},
		Row{Figure: "memory: control plane Go heap in use at rest", Measured: FormatBytes(int64(r.heapInuse))},
	)
	if !r.nodesInUp {
		rows = append(rows,
			Row{Figure: "simulated nodes (skiff agent --simulated): peak / at rest RSS", Measured: FormatBytes(r.agentPeakRSS) + " / " + FormatBytes(r.agentRSS)},
			Row{Figure: "simulated nodes: CPU during the load", Measured: fmt.Sprintf("%.0f s (%.2f cores)", r.agentCPUSeconds, r.agentCPUSeconds/max(r.loadDuration.Seconds(), 1))},
		)
	}
	rows = append(rows,
		Row{Figure: "etcd database file", Measured: FormatBytes(int64(r.etcdDB)), Upstream: "etcd's recommended quota: 8 GiB"},
		Row{Figure: "nodes Ready after skiff up ready", Measured: r.nodesReadyAfter.Round(time.Second).String()},
	)
	if r.nodesServingAfter > 0 {
		rows = append(rows, Row{Figure: "nodes serving (kubelet-serving certificates issued) after skiff up ready",
			Measured: r.nodesServingAfter.Round(time.Second).String()})
	}
	if r.restart.done {
		rows = append(rows,
			Row{Figure: "restart: stop", Measured: r.restart.stopTook.Round(100 * time.Millisecond).String()},
			Row{Figure: "restart: etcd ready / API server ready (skiff up's steps)", Measured: r.restart.etcdReady.Round(100*time.Millisecond).String() + " / " + r.restart.apiReady.Round(100*time.Millisecond).String()},
			Row{Figure: "restart: 'Skiff is ready.' / readyz", Measured: r.restart.ready.Round(100*time.Millisecond).String() + " / " + r.restart.readyz.Round(100*time.Millisecond).String()},
			Row{Figure: "restart: every node Lease renewed", Measured: r.restart.nodes.Round(100 * time.Millisecond).String()},
			Row{Figure: "restart: every pod listed Running", Measured: r.restart.pods.Round(100 * time.Millisecond).String(), Goal: "< 60 s",
				Upstream: "none published", Verdict: Verdict(r.restart.pods < time.Minute)},
		)
	}
	return rows
}

func printDetails(r result) {
	fmt.Println("\nSlowest API calls (server side, p99 over the load):")
	for i, c := range r.calls {
		if i == 12 {
			break
		}
		fmt.Printf("  %-50s %10s  %7d calls\n", c.Key, FormatDuration(c.P99), c.Count)
	}
	if r.cpuTop != "" {
		fmt.Println("\nCPU profile during the load (30 s), top 10:\n" + trimPprof(r.cpuTop))
	}
	if r.heapTop != "" {
		fmt.Println("Heap profile at rest (inuse_space), top 10:\n" + trimPprof(r.heapTop))
	}
}

// trimPprof drops pprof's header lines that repeat the binary's path and build id.
func trimPprof(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, "File:") || strings.HasPrefix(l, "Build ID:") || strings.HasPrefix(l, "Type:") || strings.HasPrefix(l, "Time:") {
			continue
		}
		out = append(out, "  "+l)
	}
	return strings.Join(out, "\n")
}
