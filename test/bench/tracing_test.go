package bench

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/skiff-dev/skiff/apiserver"
	"github.com/skiff-dev/skiff/apiserver/apiservertest"
	"github.com/skiff-dev/skiff/insight/trace"
)

// tracingCreates is how many pods each round creates; rounds alternate between the server
// without tracing and the one with it, so that both see the same machine load.
const (
	tracingCreates = 1000
	tracingRounds  = 4
)

// BenchmarkTracingOverhead is issue 16's cost of tracing on API pod create throughput: two API
// servers (production etcd settings), one with the insight/trace provider (request and etcd3
// spans, the admission annotator, the ring buffer), one without, 16 clients creating pods in
// alternating rounds. Goal: the traced server within 5% of the other.
func BenchmarkTracingOverhead(b *testing.B) {
	for range b.N {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		apiserver.TuneGC()
		tp, err := trace.New(ctx, trace.Options{})
		if err != nil {
			b.Fatal(err)
		}
		clients := map[bool]kubernetes.Interface{}
		for _, on := range []bool{false, true} {
			s := apiservertest.StartWith(b, func(o *apiserver.Options) {
				o.EtcdForTests = false
				if on {
					o.Tracing = tp
				}
			})
			defer s.Stop()
			cfg := rest.CopyConfig(s.Config)
			cfg.ContentType = "application/vnd.kubernetes.protobuf"
			cfg.QPS, cfg.Burst = -1, 0
			c, err := kubernetes.NewForConfig(cfg)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := c.CoreV1().ServiceAccounts("default").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{}); err != nil {
				b.Fatal(err)
			}
			clients[on] = c
		}
		var durations [2]time.Duration
		for r := range tracingRounds {
			// Each round in the other order: neither server always goes first.
			order := []bool{false, true}
			if r%2 == 1 {
				order = []bool{true, false}
			}
			for _, on := range order {
				i := 0
				if on {
					i = 1
				}
				c := clients[on]
				_, d := parallel(ctx, b, tracingCreates, func(ctx context.Context, j int) error {
					_, err := c.CoreV1().Pods("default").Create(ctx, benchPod(fmt.Sprintf("t-%d-%05d", r, j)), metav1.CreateOptions{})
					return err
				})
				durations[i] += d
			}
		}
		total := float64(tracingCreates * tracingRounds)
		off, on := total/durations[0].Seconds(), total/durations[1].Seconds()
		overhead := 100 * (off - on) / off
		b.ReportMetric(off, "creates/s-untraced")
		b.ReportMetric(on, "creates/s-traced")
		b.ReportMetric(overhead, "%overhead")
		b.ReportMetric(float64(tp.Store.Len()), "spans-kept")
		fmt.Printf("\nTracing overhead on API pod creates (16 clients, %d rounds of %d)\n  untraced  %.0f creates/s\n  traced    %.0f creates/s\n  overhead  %.1f%% (goal < 5%%); %d spans kept, %d dropped\n",
			tracingRounds, tracingCreates, off, on, overhead, tp.Store.Len(), tp.Store.Dropped())
		cancel()
	}
}
