package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"runtime/metrics"
	"slices"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"

	"github.com/skiff-dev/skiff/apiserver"
	"github.com/skiff-dev/skiff/apiserver/apiservertest"
	"github.com/skiff-dev/skiff/controllers"
	"github.com/skiff-dev/skiff/controllers/controllermanager"
	"github.com/skiff-dev/skiff/controllers/replicaset"
	"github.com/skiff-dev/skiff/insight/trace"
	"github.com/skiff-dev/skiff/test/procstat"
)

// The tracing benchmark alternates many short rounds with tracing off and on (off, on, on, off,
// off, on, ...: neither side always goes first), and compares each round with its pair's other
// half, so that the machine's load (other builds and tests share it) weighs on both alike; the
// figures are the median of the pairs' overheads, with their spread. Each side is a process of
// its own, whose CPU time and heap allocations per round are measured besides the wall time: on
// a loaded machine the wall time mostly measures the other processes; the bytes allocated do
// not move with the load at all.
const (
	tracingCreatePairs = 32  // pairs of rounds of API creates
	tracingCreates     = 300 // pod creates per round (16 clients)
	tracingStartPairs  = 24  // pairs of rounds of pod startups
	tracingStartPods   = 20  // pods per startup round (one ReplicaSet)
	tracingStartNodes  = 6   // simulated nodes (110 pods each)
	tracingStackEnv    = "SKIFF_BENCH_TRACING_STACK"
	// tracingMemProfileEnv, when set to a path prefix, has each side write its heap profile to
	// PREFIX-on.pprof and PREFIX-off.pprof.
	tracingMemProfileEnv = "SKIFF_BENCH_TRACING_MEMPROFILE"
	tracingStackAnswers  = 3 // the child's fd for its answers
)

// BenchmarkTracingOverhead is issue 16's cost of tracing, on and off in the same run (goal:
// under 5%). Two processes (tracing is process-wide: OpenTelemetry's global provider, which the
// controllers and the scheduler use, and the API server's) run TestTracingStack: an API server
// (production etcd settings), the controllers and the scheduler, and simulated nodes that report
// bound pods Ready at once (the control plane's path, no containers), one traced as `skiff up`
// runs (request and etcd3 spans, the admission annotator, reconcile and scheduling spans, the
// ring buffer), one as with --disable-tracing. On each:
//   - API pod creates: 16 clients of this process create tracingCreates pods per round (pods no
//     scheduler takes); cost: the server process's CPU time, its heap bytes allocated, and the
//     wall time, per create;
//   - pod startup: a ReplicaSet of tracingStartPods per round, creation → Ready per pod through
//     a watch; cost: the process's CPU time and heap bytes allocated per pod, and the round's
//     median startup.
func BenchmarkTracingOverhead(b *testing.B) {
	for range b.N {
		stacks := map[bool]*stackProcess{}
		for _, on := range []bool{false, true} {
			stacks[on] = startStack(b, on)
		}
		createCPU, createAlloc, createWall := tracingCreateRounds(b, stacks)
		startCPU, startAlloc, startWall := tracingStartRounds(b, stacks)
		for _, s := range stacks {
			s.stop(b)
		}
		for _, m := range []struct {
			name string
			o    overhead
		}{{"creates-cpu", createCPU}, {"creates-alloc", createAlloc}, {"creates-wall", createWall},
			{"podstart-cpu", startCPU}, {"podstart-alloc", startAlloc}, {"podstart-wall", startWall}} {
			b.ReportMetric(m.o.median, "%overhead-"+m.name)
			b.ReportMetric(m.o.ciLow, "%ci-low-"+m.name)
			b.ReportMetric(m.o.ciHigh, "%ci-high-"+m.name)
		}
		fmt.Printf("\nTracing overhead, off and on in alternating rounds, median of the pairs (goal < 5%%)\n")
		fmt.Printf("  API pod creates (16 clients, %d pairs of rounds of %d creates)\n", tracingCreatePairs, tracingCreates)
		fmt.Printf("    server CPU per create  untraced %.2f ms, traced %.2f ms; overhead %s\n", createCPU.offMedian*1e3, createCPU.onMedian*1e3, createCPU)
		fmt.Printf("    allocated per create   untraced %.1f KiB, traced %.1f KiB; overhead %s\n", createAlloc.offMedian/1024, createAlloc.onMedian/1024, createAlloc)
		fmt.Printf("    wall time (creates/s)  untraced %.0f, traced %.0f; overhead %s\n", 1/createWall.offMedian, 1/createWall.onMedian, createWall)
		fmt.Printf("  pod startup to Ready, simulated nodes (%d pairs of rounds of %d pods through a ReplicaSet)\n", tracingStartPairs, tracingStartPods)
		fmt.Printf("    CPU per pod            untraced %.1f ms, traced %.1f ms; overhead %s\n", startCPU.offMedian*1e3, startCPU.onMedian*1e3, startCPU)
		fmt.Printf("    allocated per pod      untraced %.0f KiB, traced %.0f KiB; overhead %s\n", startAlloc.offMedian/1024, startAlloc.onMedian/1024, startAlloc)
		fmt.Printf("    startup p50            untraced %.0f ms, traced %.0f ms; overhead %s\n", startWall.offMedian, startWall.onMedian, startWall)
	}
}

// order is the side of round i: off, on, on, off, off, on, on, off...
func order(i int) bool { return (i+1)/2%2 == 1 }

// overhead is the spread of the pairs' overheads, in percent (positive: tracing costs).
type overhead struct {
	median, p25, p75, min, max float64
	// ciLow and ciHigh bound the median with 95% confidence (distribution-free: the order
	// statistics of ranks n/2 ± 0.98√n).
	ciLow, ciHigh       float64
	offMedian, onMedian float64
}

func (o overhead) String() string {
	return fmt.Sprintf("median %+.1f%% (95%% confidence %+.1f%% to %+.1f%%; middle half %+.1f%% to %+.1f%%, all pairs %+.1f%% to %+.1f%%)",
		o.median, o.ciLow, o.ciHigh, o.p25, o.p75, o.min, o.max)
}

// medianCI is the distribution-free 95% confidence interval of the median of values: the
// values of ranks ⌊n/2 − 0.98√n⌋ and ⌈1 + n/2 + 0.98√n⌉ (1-based, within 1..n) once sorted.
func medianCI(values []float64) (lo, hi float64) {
	if len(values) == 0 {
		return 0, 0
	}
	s := slices.Clone(values)
	slices.Sort(s)
	n := float64(len(s))
	l := max(int(math.Floor(n/2-0.98*math.Sqrt(n))), 1)
	h := min(int(math.Ceil(1+n/2+0.98*math.Sqrt(n))), len(s))
	return s[l-1], s[h-1]
}

// pairOverheads compares each pair's two rounds: cost is a cost per round (lower is better:
// seconds per create, startup latency), off and on in pair order. A pair's overhead is
// 100 * (on - off) / off.
func pairOverheads(off, on []float64) overhead {
	n := min(len(off), len(on))
	pct := make([]float64, 0, n)
	for i := range n {
		pct = append(pct, 100*(on[i]-off[i])/off[i])
	}
	o := overhead{median: quantile(pct, 0.5), p25: quantile(pct, 0.25), p75: quantile(pct, 0.75),
		min: quantile(pct, 0), max: quantile(pct, 1), offMedian: quantile(off[:n], 0.5), onMedian: quantile(on[:n], 0.5)}
	o.ciLow, o.ciHigh = medianCI(pct)
	return o
}

// quantile is the q-quantile of values by linear interpolation between the closest ranks.
func quantile(values []float64, q float64) float64 {
	if len(values) == 0 {
		return 0
	}
	s := slices.Clone(values)
	slices.Sort(s)
	pos := q * float64(len(s)-1)
	lo := int(pos)
	if lo+1 >= len(s) {
		return s[len(s)-1]
	}
	return s[lo] + (pos-float64(lo))*(s[lo+1]-s[lo])
}

// tracingCreateRounds creates pods in both stacks in alternating rounds; costs per create in
// seconds.
func tracingCreateRounds(b *testing.B, stacks map[bool]*stackProcess) (cpu, alloc, wall overhead) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	clients := map[bool]kubernetes.Interface{}
	for on, s := range stacks {
		cfg, err := clientcmd.BuildConfigFromFlags("", s.kubeconfig)
		if err != nil {
			b.Fatal(err)
		}
		cfg.ContentType = "application/vnd.kubernetes.protobuf"
		cfg.QPS, cfg.Burst = -1, 0
		if clients[on], err = kubernetes.NewForConfig(cfg); err != nil {
			b.Fatal(err)
		}
		_, err = clients[on].CoreV1().ServiceAccounts("default").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			b.Fatal(err)
		}
	}
	round := func(on bool, prefix string) (cpu, alloc, wall float64) {
		c := clients[on]
		cpu0, alloc0 := stacks[on].usage(b)
		_, d := parallel(ctx, b, tracingCreates, func(ctx context.Context, j int) error {
			pod := benchPod(fmt.Sprintf("%s-%05d", prefix, j))
			pod.Spec.SchedulerName = "no-scheduler" // the API's work alone
			_, err := c.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{})
			return err
		})
		cpu1, alloc1 := stacks[on].usage(b)
		return (cpu1 - cpu0).Seconds() / tracingCreates, (alloc1 - alloc0) / tracingCreates, d.Seconds() / tracingCreates
	}
	// A warm-up round each, not counted.
	round(false, "warm")
	round(true, "warm")
	cpus, allocs, walls := map[bool][]float64{}, map[bool][]float64{}, map[bool][]float64{}
	for r := range 2 * tracingCreatePairs {
		on := order(r)
		c, a, w := round(on, fmt.Sprintf("t-%03d", r))
		cpus[on], allocs[on], walls[on] = append(cpus[on], c), append(allocs[on], a), append(walls[on], w)
	}
	return pairOverheads(cpus[false], cpus[true]), pairOverheads(allocs[false], allocs[true]), pairOverheads(walls[false], walls[true])
}

// tracingStartRounds starts ReplicaSets in both stacks in alternating rounds; costs: CPU
// seconds per pod, and the round's median startup in ms.
func tracingStartRounds(b *testing.B, stacks map[bool]*stackProcess) (cpu, alloc, wall overhead) {
	cpus, allocs, walls := map[bool][]float64{}, map[bool][]float64{}, map[bool][]float64{}
	for r := range 2 * tracingStartPairs {
		on := order(r)
		s := stacks[on]
		cpu0, alloc0 := s.usage(b)
		p50 := s.round(b)
		cpu1, alloc1 := s.usage(b)
		cpus[on] = append(cpus[on], (cpu1-cpu0).Seconds()/tracingStartPods)
		allocs[on] = append(allocs[on], (alloc1-alloc0)/tracingStartPods)
		walls[on] = append(walls[on], p50)
	}
	return pairOverheads(cpus[false], cpus[true]), pairOverheads(allocs[false], allocs[true]), pairOverheads(walls[false], walls[true])
}

// stackProcess is a TestTracingStack child: it answers "cpu" with its CPU time (ns) and heap
// bytes allocated so far, and "round" with a startup round's median in ms, on its fd 3.
type stackProcess struct {
	cmd        *exec.Cmd
	in         io.WriteCloser
	answers    *bufio.Scanner
	log        *strings.Builder
	kubeconfig string
}

func startStack(b *testing.B, on bool) *stackProcess {
	b.Helper()
	mode := "off"
	if on {
		mode = "on"
	}
	args := []string{"-test.run=^TestTracingStack$", "-test.bench=^$", "-test.count=1", "-test.timeout=30m"}
	if prefix := os.Getenv(tracingMemProfileEnv); prefix != "" {
		// Each side's heap profile (go tool pprof -sample_index=alloc_space), written when it ends.
		args = append(args, "-test.memprofile="+prefix+"-"+mode+".pprof")
	}
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), tracingStackEnv+"="+mode)
	in, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.ExtraFiles = []*os.File{w}
	log := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	w.Close()
	s := &stackProcess{cmd: cmd, in: in, answers: bufio.NewScanner(r), log: log}
	b.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	ready, kubeconfig, _ := strings.Cut(s.answer(b), " ")
	if ready != "ready" {
		b.Fatalf("the %s stack answered %q", mode, ready)
	}
	s.kubeconfig = kubeconfig
	return s
}

func (s *stackProcess) answer(b *testing.B) string {
	b.Helper()
	if !s.answers.Scan() {
		_ = s.cmd.Wait()
		b.Fatalf("the stack ended: %v\n%s", s.answers.Err(), tail(s.log.String(), 4000))
	}
	return s.answers.Text()
}

// round runs a startup round and returns its median startup in ms.
func (s *stackProcess) round(b *testing.B) float64 {
	b.Helper()
	if _, err := fmt.Fprintln(s.in, "round"); err != nil {
		b.Fatal(err)
	}
	var v float64
	if _, err := fmt.Sscan(s.answer(b), &v); err != nil {
		b.Fatal(err)
	}
	return v
}

// usage is the stack's CPU time and heap bytes allocated so far.
func (s *stackProcess) usage(b *testing.B) (time.Duration, float64) {
	b.Helper()
	if _, err := fmt.Fprintln(s.in, "cpu"); err != nil {
		b.Fatal(err)
	}
	var cpu, alloc float64
	if _, err := fmt.Sscan(s.answer(b), &cpu, &alloc); err != nil {
		b.Fatal(err)
	}
	return time.Duration(cpu), alloc
}

func (s *stackProcess) stop(b *testing.B) {
	_ = s.in.Close()
	if err := s.cmd.Wait(); err != nil {
		b.Errorf("the stack: %v\n%s", err, tail(s.log.String(), 4000))
	}
}

// allocated is how many bytes this process has allocated on the heap so far: the part of a
// Go server's work that the machine's load does not move.
func allocated() uint64 {
	sample := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(sample)
	return sample[0].Value.Uint64()
}

// TestTracingStack is BenchmarkTracingOverhead's child (skipped otherwise): an API server, the
// controllers and the scheduler, tracing on (as `skiff up`: the process's global provider and
// the API server's) or off (as --disable-tracing), and simulated nodes whose pods become Ready
// as soon as they are bound. It answers, on fd 3, "ready KUBECONFIG" once started, then each
// "cpu" line on stdin with its CPU time (ns) and heap bytes allocated so far, each "round" line with the median startup
// of a new ReplicaSet's pods, creation → Ready as a watch sees them, in ms.
func TestTracingStack(t *testing.T) {
	mode := os.Getenv(tracingStackEnv)
	if mode == "" {
		t.Skip("BenchmarkTracingOverhead runs this in a process of its own")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	apiserver.TuneGC(ctx)
	var tp *trace.Provider
	if mode == "on" {
		var err error
		if tp, err = trace.New(ctx, trace.Options{}); err != nil {
			t.Fatal(err)
		}
		otel.SetTracerProvider(tp)
		otel.SetTextMapPropagator(propagation.TraceContext{})
	}
	s := apiservertest.StartWith(t, func(o *apiserver.Options) {
		o.EtcdForTests = false
		o.Tracing = tp
	})
	c := s.Client
	for i := range tracingStartNodes {
		if err := createReadyNode(ctx, c, fmt.Sprintf("sim-%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	cfg := controllermanager.Config{Manager: controllers.Options{MetricsBindAddress: "0"}, SkipNameValidation: true,
		NodeMonitorGracePeriod: time.Hour, NodeMonitorPeriod: time.Minute}
	done := make(chan error, 1)
	go func() { done <- controllermanager.Start(ctx, s.Config, cfg) }()
	go simulatedKubelet(ctx, c)

	out := os.NewFile(tracingStackAnswers, "answers")
	fmt.Fprintln(out, "ready", s.Kubeconfig)
	in := bufio.NewScanner(os.Stdin)
	for r := 0; in.Scan(); {
		switch in.Text() {
		case "cpu":
			fmt.Fprintln(out, int64(procstat.CPU()), allocated())
		case "round":
			lat := startupRound(ctx, t, c, fmt.Sprintf("r%03d", r))
			fmt.Fprintf(out, "%f\n", ms(pct(lat, 50)))
			r++
		default:
			t.Fatalf("unknown command %q", in.Text())
		}
	}
	cancel()
	<-done
}

// startupRound creates a ReplicaSet of tracingStartPods and returns its pods' startups,
// sorted.
func startupRound(ctx context.Context, t *testing.T, c kubernetes.Interface, name string) []time.Duration {
	w, err := c.CoreV1().Pods("default").Watch(ctx, metav1.ListOptions{LabelSelector: "round=" + name})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	labels := map[string]string{"round": name}
	rs := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: appsv1.ReplicaSetSpec{
			Replicas: ptr.To[int32](tracingStartPods),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}},
		},
	}
	if _, err := c.AppsV1().ReplicaSets("default").Create(ctx, rs, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	added, ready := map[string]time.Time{}, map[string]time.Duration{}
	timeout := time.After(2 * time.Minute)
	for len(ready) < tracingStartPods {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				t.Fatal("the watch ended")
			}
			pod, ok := ev.Object.(*corev1.Pod)
			if !ok {
				continue
			}
			now := time.Now()
			if _, seen := added[pod.Name]; !seen && ev.Type == watch.Added {
				added[pod.Name] = now
			}
			if _, seen := ready[pod.Name]; !seen && replicaset.IsPodReady(pod) {
				ready[pod.Name] = now.Sub(added[pod.Name])
			}
		case <-timeout:
			t.Fatalf("round %s: %d of %d pods Ready after 2m", name, len(ready), tracingStartPods)
		}
	}
	lat := make([]time.Duration, 0, len(ready))
	for _, d := range ready {
		lat = append(lat, d)
	}
	slices.Sort(lat)
	return lat
}

// simulatedKubelet marks every bound pod Running and Ready at once (the node agent's status
// write, without containers).
func simulatedKubelet(ctx context.Context, c kubernetes.Interface) {
	w, err := c.CoreV1().Pods("").Watch(ctx, metav1.ListOptions{})
	if err != nil {
		return
	}
	defer w.Stop()
	for ev := range w.ResultChan() {
		pod, ok := ev.Object.(*corev1.Pod)
		if !ok || pod.Spec.NodeName == "" || replicaset.IsPodReady(pod) || pod.DeletionTimestamp != nil {
			continue
		}
		now := metav1.Now()
		pod.Status.Phase = corev1.PodRunning
		pod.Status.StartTime = &now
		pod.Status.Conditions = []corev1.PodCondition{
			{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: now},
			{Type: corev1.PodInitialized, Status: corev1.ConditionTrue, LastTransitionTime: now},
			{Type: corev1.ContainersReady, Status: corev1.ConditionTrue, LastTransitionTime: now},
			{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: now},
		}
		pod.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "c", Image: "busybox", Ready: true, Started: ptr.To(true),
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}}}}
		_, _ = c.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, pod, metav1.UpdateOptions{})
	}
}

func TestPairOverheads(t *testing.T) {
	for _, tt := range []struct {
		name    string
		off, on []float64
		want    overhead
	}{
		{"no cost", []float64{1, 2, 3}, []float64{1, 2, 3}, overhead{offMedian: 2, onMedian: 2}},
		{"pairs, not the sums: a slow pair weighs as one", []float64{10, 10, 10, 100}, []float64{11, 10.5, 10, 90},
			overhead{median: 2.5, p25: -2.5, p75: 6.25, min: -10, max: 10, ciLow: -10, ciHigh: 10, offMedian: 10, onMedian: 10.75}},
		{"a round without its pair is left out", []float64{1, 1}, []float64{2},
			overhead{median: 100, p25: 100, p75: 100, min: 100, max: 100, ciLow: 100, ciHigh: 100, offMedian: 1, onMedian: 2}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := pairOverheads(tt.off, tt.on); got != tt.want {
				t.Errorf("pairOverheads = %+v, want %+v", got, tt.want)
			}
		})
	}
	var sides []bool
	for i := range 8 {
		sides = append(sides, order(i))
	}
	if fmt.Sprint(sides) != "[false true true false false true true false]" {
		t.Errorf("order: %v", sides)
	}
}

func TestMedianCI(t *testing.T) {
	values := make([]float64, 32)
	for i := range values {
		values[i] = float64(len(values) - i) // 32 .. 1, given unsorted
	}
	// n = 32: ranks ⌊16 − 5.54⌋ = 10 and ⌈17 + 5.54⌉ = 23.
	if lo, hi := medianCI(values); lo != 10 || hi != 23 {
		t.Errorf("medianCI of 1..32 = %v, %v; want 10, 23", lo, hi)
	}
	if lo, hi := medianCI([]float64{5}); lo != 5 || hi != 5 {
		t.Errorf("medianCI of one value = %v, %v", lo, hi)
	}
}
