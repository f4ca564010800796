package bench

import (
	"bufio"
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/skiff-dev/skiff/apiserver"
	"github.com/skiff-dev/skiff/apiserver/apiservertest"
	"github.com/skiff-dev/skiff/test/poll"
)

// The burst of issue 17: 5,000 pods created and bound (10,000 pod events) by 16 workers while 20
// cluster-wide pod watchers, half JSON and half protobuf, read every event.
const (
	burstPods     = 5000
	burstWatchers = 20
)

// BenchmarkWatchBurst counts the watches the API server closes during a burst of pod writes
// (forced closes: the server gave up on a watcher whose buffer was full) and the relists they
// cost (a re-watch from the last seen resourceVersion refused with 410 Gone). Goal: 0 forced
// closes for watchers that keep up.
func BenchmarkWatchBurst(b *testing.B) {
	for range b.N {
		runWatchBurst(b)
	}
}

// burstWatcher reads every pod event from a cluster-wide watch, re-watching from the last
// resourceVersion when the server closes the watch.
type burstWatcher struct {
	name            string
	rewatch         func(rv string) (watch.Interface, error)
	relist          func() (string, error)
	events          atomic.Int64
	closes, relists atomic.Int64
	maxLag          atomic.Int64 // nanoseconds between a pod's write and its event here
}

func (w *burstWatcher) run(ctx context.Context, first watch.Interface, written *sync.Map) {
	cur := first
	var rv string
	for {
		for ev := range cur.ResultChan() {
			if ev.Type == watch.Error {
				break
			}
			pod, ok := ev.Object.(*corev1.Pod)
			if !ok {
				continue
			}
			rv = pod.ResourceVersion
			if ev.Type == watch.Bookmark {
				continue
			}
			w.events.Add(1)
			if t, ok := written.Load(pod.Name + "/" + pod.Spec.NodeName); ok {
				if lag := time.Since(t.(time.Time)).Nanoseconds(); lag > w.maxLag.Load() {
					w.maxLag.Store(lag)
				}
			}
		}
		cur.Stop()
		if ctx.Err() != nil {
			return
		}
		w.closes.Add(1)
		next, err := w.rewatch(rv)
		for err != nil && ctx.Err() == nil {
			if apierrors.IsResourceExpired(err) || apierrors.IsGone(err) {
				w.relists.Add(1)
				if rv, err = w.relist(); err == nil {
					next, err = w.rewatch(rv)
				}
				continue
			}
			time.Sleep(10 * time.Millisecond) // a transient error: retry the watch
			next, err = w.rewatch(rv)
		}
		if next == nil {
			return
		}
		cur = next
	}
}

func runWatchBurst(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	apiserver.TuneGC(ctx)
	s := apiservertest.StartWith(b, func(o *apiserver.Options) { o.EtcdForTests = false })
	defer s.Stop()
	writer := client(b, s.Config, true)
	ns := "burst"
	if _, err := writer.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		b.Fatal(err)
	}
	if _, err := writer.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{}); err != nil {
		b.Fatal(err)
	}
	before := terminatedWatchers(ctx, b, writer)

	wctx, stopWatchers := context.WithCancel(ctx)
	var written sync.Map // "name/node" → time the write returned
	var watchers []*burstWatcher
	var wg sync.WaitGroup
	for i := range burstWatchers {
		proto := i%2 == 1
		c := client(b, s.Config, proto)
		format := "json"
		if proto {
			format = "protobuf"
		}
		w := &burstWatcher{name: fmt.Sprintf("%s-%d", format, i)}
		w.rewatch = func(rv string) (watch.Interface, error) {
			return c.CoreV1().Pods("").Watch(wctx, metav1.ListOptions{ResourceVersion: rv, AllowWatchBookmarks: true})
		}
		w.relist = func() (string, error) {
			l, err := c.CoreV1().Pods("").List(wctx, metav1.ListOptions{ResourceVersion: "0"})
			if err != nil {
				return "", err
			}
			return l.ResourceVersion, nil
		}
		l, err := c.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
		if err != nil {
			b.Fatal(err)
		}
		first, err := w.rewatch(l.ResourceVersion)
		if err != nil {
			b.Fatal(err)
		}
		watchers = append(watchers, w)
		wg.Add(1)
		go func() { defer wg.Done(); w.run(wctx, first, &written) }()
	}

	b.ResetTimer()
	start := time.Now()
	pods := writer.CoreV1().Pods(ns)
	_, createDur := parallel(ctx, b, burstPods, func(ctx context.Context, i int) error {
		name := fmt.Sprintf("burst-%05d", i)
		_, err := pods.Create(ctx, benchPod(name), metav1.CreateOptions{})
		written.Store(name+"/", time.Now())
		return err
	})
	_, bindDur := parallel(ctx, b, burstPods, func(ctx context.Context, i int) error {
		name := fmt.Sprintf("burst-%05d", i)
		node := fmt.Sprintf("node-%d", i%50)
		err := pods.Bind(ctx, &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: name}, Target: corev1.ObjectReference{Kind: "Node", Name: node}}, metav1.CreateOptions{})
		written.Store(name+"/"+node, time.Now())
		return err
	})
	writes := time.Since(start)
	// Every watcher should see all 10,000 events: wait for them (bounded).
	want := int64(2 * burstPods)
	_ = poll.Wait(ctx, 2*time.Minute, func() error {
		for _, w := range watchers {
			if n := w.events.Load(); n < want {
				return fmt.Errorf("%s has %d of %d events", w.name, n, want)
			}
		}
		return nil
	})
	drained := time.Since(start)
	b.StopTimer()
	stopWatchers()
	wg.Wait()
	forced := terminatedWatchers(ctx, b, writer) - before

	var closes, relists, short int64
	var maxLag time.Duration
	fmt.Printf("\nwatch burst: %d pods created (%.0f/s) and bound (%.0f/s), %d events, %d watchers\n",
		burstPods, float64(burstPods)/createDur.Seconds(), float64(burstPods)/bindDur.Seconds(), want, len(watchers))
	for _, w := range watchers {
		closes += w.closes.Load()
		relists += w.relists.Load()
		if w.events.Load() < want {
			short++
		}
		if lag := time.Duration(w.maxLag.Load()); lag > maxLag {
			maxLag = lag
		}
	}
	fmt.Printf("%-52s %22d  %s\n", "forced watcher closes (apiserver_terminated_watchers_total)", forced, "goal 0")
	fmt.Printf("%-52s %22d  %s\n", "watches closed under the clients", closes, "goal 0")
	fmt.Printf("%-52s %22d  %s\n", "relists (410 Gone on re-watch)", relists, "goal 0")
	fmt.Printf("%-52s %22d  %s\n", "watchers missing events after 2 min", short, "goal 0")
	fmt.Printf("%-52s %19.0f ms\n", "largest write-to-event lag", ms(maxLag))
	fmt.Printf("%-52s %19.1f s  (all events delivered: %.1f s)\n\n", "writes", writes.Seconds(), drained.Seconds())
	b.ReportMetric(float64(forced), "forced-closes")
	b.ReportMetric(float64(closes), "watch-closes")
	b.ReportMetric(float64(relists), "relists")
	b.ReportMetric(ms(maxLag), "max-lag-ms")
}

// client is a client of the server without rate limits, protobuf or JSON.
func client(b *testing.B, base *rest.Config, proto bool) kubernetes.Interface {
	cfg := rest.CopyConfig(base)
	if proto {
		cfg.ContentType = "application/vnd.kubernetes.protobuf"
		cfg.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	}
	cfg.QPS, cfg.Burst = -1, 0
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// terminatedWatchers sums apiserver_terminated_watchers_total for pods from /metrics.
func terminatedWatchers(ctx context.Context, b *testing.B, c kubernetes.Interface) int64 {
	raw, err := c.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		b.Fatal(err)
	}
	var n int64
	sc := bufio.NewScanner(strings.NewReader(string(raw)))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "apiserver_terminated_watchers_total{") || !strings.Contains(line, `resource="pods"`) {
			continue
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err == nil {
			n += int64(v)
		}
	}
	return n
}
