package bench

import (
	"context"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/skiff-dev/skiff/apiserver"
	"github.com/skiff-dev/skiff/apiserver/apiservertest"
	"github.com/skiff-dev/skiff/insight/trace"
	"github.com/skiff-dev/skiff/test/procstat"
)

// BenchmarkTracedCreates is the quick, in-process half of BenchmarkTracingOverhead: API pod
// creates (16 clients) on an untraced and on a traced API server (the API server's provider
// only), as sub-benchmarks "off" and "on" side by side; B/op and CPU are the process's, per
// create. Profile the traced side alone with
//
//	go test ./test/bench/ -run '^$' -bench 'TracedCreates/on' -benchtime 2000x -memprofile mem.out
func BenchmarkTracedCreates(b *testing.B) {
	for _, on := range []bool{false, true} {
		name := "off"
		if on {
			name = "on"
		}
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			var tp *trace.Provider
			if on {
				var err error
				if tp, err = trace.New(ctx, trace.Options{}); err != nil {
					b.Fatal(err)
				}
			}
			s := apiservertest.StartWith(b, func(o *apiserver.Options) { o.Tracing = tp })
			cfg := *s.Config
			cfg.ContentType = "application/vnd.kubernetes.protobuf"
			cfg.QPS, cfg.Burst = -1, 0
			c, err := kubernetes.NewForConfig(&cfg)
			if err != nil {
				b.Fatal(err)
			}
			_, err = c.CoreV1().ServiceAccounts("default").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{})
			if err != nil && !apierrors.IsAlreadyExists(err) {
				b.Fatal(err)
			}
			create := func(prefix string, n int) {
				_, _ = parallel(ctx, b, n, func(ctx context.Context, j int) error {
					pod := benchPod(fmt.Sprintf("%s-%06d", prefix, j))
					pod.Spec.SchedulerName = "no-scheduler"
					_, err := c.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{})
					return err
				})
			}
			create("warm", 200)
			cpu0 := procstat.CPU()
			b.ReportAllocs()
			b.ResetTimer()
			create("p", b.N)
			b.StopTimer()
			b.ReportMetric(float64(procstat.CPU()-cpu0)/1e6/float64(b.N), "cpu-ms/op")
		})
	}
}
