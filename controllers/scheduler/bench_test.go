package scheduler

import (
	"context"
	"flag"
	"fmt"
	"os"
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
)

// upstreamThreshold is scheduler_perf's SchedulingBasic 5000Nodes_10000Pods threshold.
const upstreamThreshold = 270

// BenchmarkSchedulingBasic follows scheduler_perf's SchedulingBasic: nodes with 4 cpu, 32Gi and
// 110 pods, pods requesting 100m and 500Mi, all created up front; it reports pods/s from the
// first binding to the last. The 5000-node case runs only when -bench names it or
// SKIFF_BENCH_LARGE is set.
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
		rate := runSchedulingBasic(b, numNodes, numPods)
		b.ReportMetric(rate, "pods/s")
		fmt.Printf("SchedulingBasic %dNodes_%dPods: %.1f pods/s (upstream threshold %d pods/s)\n", numNodes, numPods, rate, upstreamThreshold)
	}
}

func runSchedulingBasic(b *testing.B, numNodes, numPods int) float64 {
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
	sched := New(Config{})
	var bound atomic.Int64
	var mu sync.Mutex
	var first, last time.Time
	sched.onBound = func(*corev1.Pod, string) {
		now := time.Now()
		mu.Lock()
		if first.IsZero() {
			first = now
		}
		last = now
		mu.Unlock()
		bound.Add(1)
	}
	if err := sched.SetupWithManager(mgr); err != nil {
		b.Fatal(err)
	}
	mctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	b.StartTimer()
	go func() { done <- mgr.Start(mctx) }()
	err = wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 10*time.Minute, true, func(context.Context) (bool, error) {
		return bound.Load() == int64(numPods), nil
	})
	b.StopTimer()
	cancel()
	<-done
	if err != nil {
		b.Fatalf("%d/%d pods bound: %v", bound.Load(), numPods, err)
	}
	mu.Lock()
	defer mu.Unlock()
	elapsed := last.Sub(first).Seconds()
	if elapsed <= 0 {
		return 0
	}
	return float64(numPods-1) / elapsed
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
