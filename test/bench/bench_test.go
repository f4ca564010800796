package bench

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/klog/v2"

	"github.com/skiff-dev/skiff/apiserver"
	"github.com/skiff-dev/skiff/apiserver/apiservertest"
	"github.com/skiff-dev/skiff/apiserver/etcd"
)

// Bounded work, so that the whole benchmark stays well under two minutes on two cores.
const (
	concurrency  = 16
	createCount  = 2000 // pods created through the API, half of them in the list namespace
	etcdPutCount = 2000
	getCount     = 4000
	listPods     = createCount / 2
	listRounds   = 20
	watchCount   = 1000
	pacedRate    = 20 // writes per second
	pacedSeconds = 10
)

func TestMain(m *testing.M) {
	// The server's own logs would drown the table.
	fs := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(fs)
	_ = fs.Set("logtostderr", "false")
	_ = fs.Set("alsologtostderr", "false")
	_ = fs.Set("stderrthreshold", "FATAL")
	klog.SetOutput(io.Discard)
	flag.Parse()
	os.Exit(m.Run())
}

// row is one line of the summary.
type row struct{ metric, value, goal string }

func BenchmarkAPIServer(b *testing.B) {
	for range b.N {
		runOnce(b)
	}
}

func runOnce(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// The control plane's collector setting, as `skiff up` and `skiff server` run it.
	apiserver.TuneGC(ctx)
	// Production etcd settings (fsync on, default ticks), the same as the raw etcd compared below.
	s := apiservertest.StartWith(b, func(o *apiserver.Options) { o.EtcdForTests = false })
	defer s.Stop()
	// Controllers and agents use protobuf, as kube components do.
	c := client(b, s.Config, true)
	for _, ns := range []string{"bench-list", "bench-create", "bench-watch", "bench-paced"} {
		if _, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			b.Fatal(err)
		}
		// ServiceAccount admission is on, as in a cluster: the namespace's default account
		// (the controllers' job, not running here).
		if _, err := c.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	var rows []row
	report := func(metric, unit string, v float64, format, goal string) {
		b.ReportMetric(v, unit)
		rows = append(rows, row{metric, fmt.Sprintf(format, v) + " " + strings.TrimPrefix(unit, "api-"), goal})
	}

	// 1. Pod creates: 16 clients, half the pods in the namespace listed later.
	b.ResetTimer()
	createLat, createDur := parallel(ctx, b, createCount, func(ctx context.Context, i int) error {
		ns := "bench-create"
		if i%2 == 0 {
			ns = "bench-list"
		}
		_, err := c.CoreV1().Pods(ns).Create(ctx, benchPod(fmt.Sprintf("pod-%05d", i)), metav1.CreateOptions{})
		return err
	})
	apiCreate := float64(createCount) / createDur.Seconds()
	report("API pod create throughput", "api-creates/s", apiCreate, "%.0f", "")
	report("API pod create p50", "create-p50-ms", ms(pct(createLat, 50)), "%.1f", "")
	report("API pod create p99", "create-p99-ms", ms(pct(createLat, 99)), "%.1f", "")

	// The size of a stored pod: protobuf, as the API server writes it to etcd.
	stored, err := c.CoreV1().Pods("bench-create").Get(ctx, "pod-00001", metav1.GetOptions{})
	if err != nil {
		b.Fatal(err)
	}
	value := encodedSize(b, stored)

	// 2. Raw etcd puts of the same size with the same concurrency, on the same disk; and, on the
	// same etcd, the least any HTTP API can do per create: an HTTP/2 + TLS handler that only runs
	// the create transaction (no authentication, admission, managedFields or watch cache).
	b.StopTimer()
	raw := rawEtcd(ctx, b)
	putLat, putDur := raw.puts(ctx, b, value)
	floorLat, floorDur := raw.httpCreates(ctx, b, value)
	raw.close()
	b.StartTimer()
	etcdPut := float64(etcdPutCount) / putDur.Seconds()
	floor := float64(etcdPutCount) / floorDur.Seconds()
	report(fmt.Sprintf("raw etcd put throughput (%d-byte values)", len(value)), "etcd-puts/s", etcdPut, "%.0f", "")
	report("raw etcd put p50", "etcd-put-p50-ms", ms(pct(putLat, 50)), "%.1f", "")
	report("raw etcd put p99", "etcd-put-p99-ms", ms(pct(putLat, 99)), "%.1f", "")
	report("HTTP/2+TLS handler doing only the etcd create", "floor-creates/s", floor, "%.0f", "")
	report("  its p99", "floor-p99-ms", ms(pct(floorLat, 99)), "%.1f", "")
	report("API create throughput / raw etcd put throughput", "create/put-ratio", apiCreate/etcdPut, "%.2f", ">= 0.5")
	report("  bare HTTP handler / raw etcd put (the most any API gets)", "floor/put-ratio", floor/etcdPut, "%.2f", "")
	report("  API create / bare HTTP handler", "create/floor-ratio", apiCreate/floor, "%.2f", "")

	// 3. Gets of random pods.
	getLat, getDur := parallel(ctx, b, getCount, func(ctx context.Context, i int) error {
		_, err := c.CoreV1().Pods("bench-create").Get(ctx, fmt.Sprintf("pod-%05d", 2*rand.IntN(createCount/2)+1), metav1.GetOptions{})
		return err
	})
	report("API pod get throughput", "gets/s", float64(getCount)/getDur.Seconds(), "%.0f", "")
	report("API pod get p99", "get-p99-ms", ms(pct(getLat, 99)), "%.1f", "")

	// 4. Lists of 1000 pods, one after another.
	var listLat []time.Duration
	for range listRounds {
		start := time.Now()
		l, err := c.CoreV1().Pods("bench-list").List(ctx, metav1.ListOptions{})
		if err != nil {
			b.Fatal(err)
		}
		listLat = append(listLat, time.Since(start))
		if len(l.Items) != listPods {
			b.Fatalf("list returned %d pods, want %d", len(l.Items), listPods)
		}
	}
	slices.Sort(listLat)
	report(fmt.Sprintf("API list of %d pods p50", listPods), "list-p50-ms", ms(pct(listLat, 50)), "%.1f", "")
	report(fmt.Sprintf("API list of %d pods p99", listPods), "list-p99-ms", ms(pct(listLat, 99)), "%.1f", "")

	// 5. Watch events: one watcher, 16 writers; latency from the create call to the event.
	watchEvents, watchLat, watchDur := watchThroughput(ctx, b, c)
	report("watch event throughput", "watch-events/s", float64(watchEvents)/watchDur.Seconds(), "%.0f", "")
	report("create-to-watch-event p50", "watch-p50-ms", ms(pct(watchLat, 50)), "%.1f", "")
	report("create-to-watch-event p99", "watch-p99-ms", ms(pct(watchLat, 99)), "%.1f", "")

	// 6. A paced run of 20 mutating requests a second (create, patch, delete of pods).
	pacedLat := paced(ctx, b, c)
	report(fmt.Sprintf("paced %d writes/s: mutating p50", pacedRate), "paced-p50-ms", ms(pct(pacedLat, 50)), "%.1f", "")
	report(fmt.Sprintf("paced %d writes/s: mutating p99", pacedRate), "paced-p99-ms", ms(pct(pacedLat, 99)), "%.1f", "well under 1000 ms")
	b.StopTimer()

	fmt.Printf("\nSkiff API server benchmark (%d concurrent clients, protobuf; pods of %d bytes in etcd)\n", concurrency, len(value))
	fmt.Printf("%-52s %22s  %s\n", "metric", "value", "goal")
	for _, r := range rows {
		fmt.Printf("%-52s %22s  %s\n", r.metric, r.value, r.goal)
	}
	fmt.Printf("API create throughput / raw etcd put throughput = %.2f (goal >= 0.5)\n", apiCreate/etcdPut)
	fmt.Printf("paced %d writes/s mutating p99 = %.1f ms (goal well under 1s)\n\n", pacedRate, ms(pct(pacedLat, 99)))
}

func benchPod(name string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": "bench", "tier": "backend"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "main", Image: "registry.example.com/bench/app:1.0", Command: []string{"/app", "--serve"},
			Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
			Env:   []corev1.EnvVar{{Name: "MODE", Value: "bench"}},
		}}},
	}
}

// encodedSize returns the pod as the API server stores it: protobuf with the k8s envelope.
func encodedSize(b *testing.B, pod *corev1.Pod) []byte {
	pod = pod.DeepCopy()
	pod.APIVersion, pod.Kind = "v1", "Pod"
	pod.ResourceVersion = ""
	var sb strings.Builder
	if err := protobuf.NewSerializer(clientgoscheme.Scheme, clientgoscheme.Scheme).Encode(pod, &sb); err != nil {
		b.Fatal(err)
	}
	return []byte(sb.String())
}

// parallel runs n calls of f on `concurrency` workers and returns the sorted latencies and the
// wall time.
func parallel(ctx context.Context, b *testing.B, n int, f func(ctx context.Context, i int) error) ([]time.Duration, time.Duration) {
	b.Helper()
	lat := make([]time.Duration, n)
	var next atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				t := time.Now()
				if err := f(ctx, i); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				lat[i] = time.Since(t)
			}
		}()
	}
	wg.Wait()
	total := time.Since(start)
	if err, ok := firstErr.Load().(error); ok {
		b.Fatal(err)
	}
	slices.Sort(lat)
	return lat, total
}

// rawEtcdServer is an embedded etcd (same package, same settings as the API server's) on the
// same disk, for the raw put and bare-handler peers.
type rawEtcdServer struct {
	etcd *etcd.Server
	cli  *clientv3.Client
}

func rawEtcd(ctx context.Context, b *testing.B) *rawEtcdServer {
	dir := b.TempDir()
	e, err := etcd.Start(ctx, etcd.Config{Dir: dir + "/etcd", ClientPort: 0, PeerPort: 0, LogFile: dir + "/etcd.log"})
	if err != nil {
		b.Fatal(err)
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: e.Endpoints, DialTimeout: 10 * time.Second, Logger: nopLogger()})
	if err != nil {
		e.Close()
		b.Fatal(err)
	}
	// Warm the connection, as the API server's client is warm.
	if _, err := cli.Put(ctx, "/registry/warmup", "x"); err != nil {
		b.Fatal(err)
	}
	return &rawEtcdServer{etcd: e, cli: cli}
}

func (r *rawEtcdServer) close() {
	_ = r.cli.Close()
	r.etcd.Close()
}

// puts writes etcdPutCount values with the same concurrency as the API clients.
func (r *rawEtcdServer) puts(ctx context.Context, b *testing.B, value []byte) ([]time.Duration, time.Duration) {
	return parallel(ctx, b, etcdPutCount, func(ctx context.Context, i int) error {
		_, err := r.cli.Put(ctx, fmt.Sprintf("/registry/pods/bench/pod-%05d", i), string(value))
		return err
	})
}

// httpCreates posts etcdPutCount bodies to an HTTP/2 + TLS server (Go's, as the API server's)
// whose handler only runs the transaction an API create runs (put if absent) and echoes the body.
func (r *rawEtcdServer) httpCreates(ctx context.Context, b *testing.B, value []byte) ([]time.Duration, time.Duration) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, err := io.ReadAll(req.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		key := "/registry/pods/floor" + req.URL.Path
		resp, err := r.cli.Txn(req.Context()).If(clientv3.Compare(clientv3.ModRevision(key), "=", 0)).
			Then(clientv3.OpPut(key, string(body))).Commit()
		switch {
		case err != nil:
			http.Error(w, err.Error(), http.StatusInternalServerError)
		case !resp.Succeeded:
			http.Error(w, "exists", http.StatusConflict)
		default:
			w.Header().Set("Content-Type", "application/vnd.kubernetes.protobuf")
			w.WriteHeader(http.StatusCreated)
			_, _ = w.Write(body)
		}
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	client := srv.Client()
	return parallel(ctx, b, etcdPutCount, func(ctx context.Context, i int) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, fmt.Sprintf("%s/pod-%05d", srv.URL, i), bytes.NewReader(value))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/vnd.kubernetes.protobuf")
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			return err
		}
		if resp.StatusCode != http.StatusCreated || resp.ProtoMajor != 2 {
			return fmt.Errorf("bare handler: %s over %s", resp.Status, resp.Proto)
		}
		return nil
	})
}

func watchThroughput(ctx context.Context, b *testing.B, c kubernetes.Interface) (int, []time.Duration, time.Duration) {
	pods := c.CoreV1().Pods("bench-watch")
	l, err := pods.List(ctx, metav1.ListOptions{})
	if err != nil {
		b.Fatal(err)
	}
	w, err := pods.Watch(ctx, metav1.ListOptions{ResourceVersion: l.ResourceVersion})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Stop()
	sent := make([]atomic.Int64, watchCount) // unix nanos of each create call's start
	var received []time.Duration
	done := make(chan struct{})
	var last time.Time
	go func() {
		defer close(done)
		for ev := range w.ResultChan() {
			if ev.Type != watch.Added {
				continue
			}
			var i int
			if _, err := fmt.Sscanf(ev.Object.(*corev1.Pod).Name, "w-%d", &i); err != nil {
				continue
			}
			now := time.Now()
			received = append(received, now.Sub(time.Unix(0, sent[i].Load())))
			last = now
			if len(received) == watchCount {
				return
			}
		}
	}()
	start := time.Now()
	parallel(ctx, b, watchCount, func(ctx context.Context, i int) error {
		sent[i].Store(time.Now().UnixNano())
		_, err := pods.Create(ctx, benchPod(fmt.Sprintf("w-%05d", i)), metav1.CreateOptions{})
		return err
	})
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		b.Fatalf("watch delivered %d of %d events", len(received), watchCount)
	}
	slices.Sort(received)
	return len(received), received, last.Sub(start)
}

// paced issues pacedRate mutating requests a second for pacedSeconds, each on its own
// goroutine so that a slow request does not slow the pace.
func paced(ctx context.Context, b *testing.B, c kubernetes.Interface) []time.Duration {
	pods := c.CoreV1().Pods("bench-paced")
	n := pacedRate * pacedSeconds
	lat := make([]time.Duration, n)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	tick := time.NewTicker(time.Second / pacedRate)
	defer tick.Stop()
	for i := range n {
		<-tick.C
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Pod k is created at tick 3k, patched at tick 3k+4 and deleted at tick 3k+8,
			// so that each write comes well after the one it depends on.
			k, op := i/3, i%3
			k -= op
			start := time.Now()
			var err error
			switch {
			case op == 0 || k < 0:
				_, err = pods.Create(ctx, benchPod(fmt.Sprintf("p-%05d-%d", i/3, op)), metav1.CreateOptions{})
			case op == 1:
				_, err = pods.Patch(ctx, fmt.Sprintf("p-%05d-0", k), types.MergePatchType, []byte(`{"metadata":{"labels":{"patched":"yes"}}}`), metav1.PatchOptions{})
			case op == 2:
				err = pods.Delete(ctx, fmt.Sprintf("p-%05d-0", k), metav1.DeleteOptions{})
			}
			lat[i] = time.Since(start)
			if err != nil {
				errs <- fmt.Errorf("paced request %d: %w", i, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		// Only an overloaded machine makes a write overtake the one it depends on.
		b.Logf("%v", err)
	}
	slices.Sort(lat)
	return lat
}

// pct is the p-th percentile of sorted durations.
func pct(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := (len(sorted)*p + 99) / 100
	if i > 0 {
		i--
	}
	return sorted[min(i, len(sorted)-1)]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func nopLogger() *zap.Logger { return zap.NewNop() }
