package scheduler

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/skiff-dev/skiff/apiserver/apiservertest"
	"github.com/skiff-dev/skiff/controllers"
	"github.com/skiff-dev/skiff/test/procstat"
)

// upstreamThreshold is scheduler_perf's SchedulingBasic 5000Nodes_10000Pods threshold.
const upstreamThreshold = 270

// BenchmarkSchedulingBasic follows scheduler_perf's SchedulingBasic: nodes with 4 cpu, 32Gi and
// 110 pods, pods requesting 100m and 500Mi, all created up front; it reports pods/s from the
// scheduler's start (its caches synced) to the last binding. The 5000-node case runs only when
// -bench names it or SKIFF_BENCH_LARGE is set.
func BenchmarkSchedulingBasic(b *testing.B) {
	b.Run("500Nodes_1000Pods", func(b *testing.B) { benchSchedulingBasic(b, 500, 1000) })
	b.Run("5000Nodes_10000Pods", func(b *testing.B) {
		bench := ""
		if f := flag.Lookup("test.bench"); f != nil {
			bench = f.Value.String()
		}
		if !strings.Contains(bench, "5000") && os.Getenv("SKIFF_BENCH_LARGE") == "" {
			b.Skip("set SKIFF_BENCH_LARGE=1 or -bench 'SchedulingBasic/5000' to run")
		}
		benchSchedulingBasic(b, 5000, 10000)
	})
}

func benchSchedulingBasic(b *testing.B, numNodes, numPods int) {
	for range b.N {
		r := runSchedulingBasic(b, numNodes, numPods)
		b.ReportMetric(r.rate, "pods/s")
		b.ReportMetric(r.cpuPerPod.Seconds()*1000, "cpu-ms/pod")
		fmt.Printf("SchedulingBasic %dNodes_%dPods: %.1f pods/s (upstream threshold %d pods/s); process CPU %.2f ms per pod (%.2f cores), load average %s\n",
			numNodes, numPods, r.rate, upstreamThreshold, r.cpuPerPod.Seconds()*1000, r.cores, procstat.LoadAverage())
	}
}

// basicResult is one SchedulingBasic run: pods/s from the caches synced to the last binding,
// and the whole process's CPU (API server, etcd, informers and scheduler) over that window.
type basicResult struct {
	rate      float64
	cpuPerPod time.Duration
	cores     float64
}

// startWindowProfile starts a CPU profile of the scheduling window only when
// SKIFF_BENCH_CPUPROFILE names a file (-test.cpuprofile also covers creating the nodes and
// pods); the returned function stops it.
func startWindowProfile(b *testing.B) func() {
	path := os.Getenv("SKIFF_BENCH_CPUPROFILE")
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		b.Logf("window profile not taken: %v", err)
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
	}
}

func runSchedulingBasic(b *testing.B, numNodes, numPods int) basicResult {
	b.StopTimer()
	s := apiservertest.Start(b)
	ctx := context.Background()
	parallel(b, numNodes, func(i int) error {
		_, err := s.Client.CoreV1().Nodes().Create(ctx, makeNode(fmt.Sprintf("node-%d", i), "4", "32Gi", 110), metav1.CreateOptions{})
		return err
	})
	parallel(b, numPods, func(i int) error {
		p := makePod(fmt.Sprintf("pod-%d", i), "100m", "500Mi")
		p.UID = ""
		_, err := s.Client.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{})
		return err
	})

	mgr, err := controllers.NewManager(s.Config, controllers.Options{LeaderElection: false, MetricsBindAddress: "0"})
	if err != nil {
		b.Fatal(err)
	}
	cfg := Config{}
	// SKIFF_BENCH_BIND_WORKERS sets Config.BindWorkers, to see whether binding concurrency
	// bounds the rate.
	if n, err := strconv.Atoi(os.Getenv("SKIFF_BENCH_BIND_WORKERS")); err == nil {
		cfg.BindWorkers = n
	}
	sched := New(cfg)
	var bound atomic.Int64
	var mu sync.Mutex
	var first, last time.Time
	var firstCPU, lastCPU time.Duration
	sched.onBound = func(*corev1.Pod, string) {
		now, cpu := time.Now(), procstat.CPU()
		mu.Lock()
		last, lastCPU = now, cpu
		mu.Unlock()
		bound.Add(1)
	}
	if err := sched.SetupWithManager(mgr); err != nil {
		b.Fatal(err)
	}
	mctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	stopProfile := startWindowProfile(b)
	b.StartTimer()
	go func() { done <- controllers.Run(mctx, mgr) }()
	// The window starts when the caches have synced, that is when the scheduler can start:
	// with each binding in a goroutine of its own, many are in flight before the first one
	// completes, so a window from the first binding to the last left their work out.
	if !mgr.GetCache().WaitForCacheSync(mctx) {
		b.Fatal("caches not synced")
	}
	first, firstCPU = time.Now(), procstat.CPU()
	err = wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 10*time.Minute, true, func(context.Context) (bool, error) {
		return bound.Load() == int64(numPods), nil
	})
	b.StopTimer()
	stopProfile()
	cancel()
	<-done
	if err != nil {
		b.Fatalf("%d/%d pods bound: %v", bound.Load(), numPods, err)
	}
	mu.Lock()
	defer mu.Unlock()
	elapsed := last.Sub(first).Seconds()
	if elapsed <= 0 {
		return basicResult{}
	}
	cpu := lastCPU - firstCPU
	return basicResult{rate: float64(numPods) / elapsed, cpuPerPod: cpu / time.Duration(numPods), cores: cpu.Seconds() / elapsed}
}

// parallel runs f(0..n-1) on 64 goroutines.
func parallel(b *testing.B, n int, f func(i int) error) {
	var next atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Value
	for range 64 {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := f(i); err != nil {
					failed.Store(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err, ok := failed.Load().(error); ok {
		b.Fatal(err)
	}
}

// BenchmarkSchedulingCycle is the scheduling cycle alone, without the API server: a pending
// pod's info, findNode (filter a sample of nodes, score the feasible ones) and assuming the pod
// on the winner, as scheduleOne does under the cache lock, on SchedulingBasic's nodes and pods
// (with a controller, so that owner spreading is scored, as for a Deployment's pods). It
// reports ns per pod: the cycle's CPU cost, next to the whole process's in
// BenchmarkSchedulingBasic.
func BenchmarkSchedulingCycle(b *testing.B) {
	for _, numNodes := range []int{500, 5000} {
		b.Run(fmt.Sprintf("%dNodes", numNodes), func(b *testing.B) {
			owner := metav1.OwnerReference{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "rs", UID: "rs-uid", Controller: ptr(true)}
			// Pods fill the nodes (40 per node by cpu); the cache starts over before they are full.
			perFill := numNodes * 20
			var s *Scheduler
			reset := func() {
				s = New(Config{})
				for i := range numNodes {
					s.cache.setNode(makeNode(fmt.Sprintf("node-%d", i), "4", "32Gi", 110))
				}
			}
			pods := make([]*corev1.Pod, min(b.N, perFill))
			for i := range pods {
				pods[i] = makePod(fmt.Sprintf("pod-%d", i), "100m", "500Mi", func(p *corev1.Pod) {
					p.OwnerReferences = []metav1.OwnerReference{owner}
				})
			}
			reset()
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				if i > 0 && i%perFill == 0 {
					b.StopTimer()
					reset()
					b.StartTimer()
				}
				pi := newPendingPodInfo(pods[i%len(pods)])
				s.cache.mu.Lock()
				best, _, _, _ := s.findNode(pi)
				if best == nil {
					b.Fatalf("pod %d found no node", i)
				}
				s.cache.assume(pi, best.name)
				s.cache.mu.Unlock()
			}
		})
	}
}
