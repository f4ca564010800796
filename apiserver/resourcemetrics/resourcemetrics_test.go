package resourcemetrics_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	apitypes "k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/skiff-dev/skiff/apiserver/resourcemetrics"
)

const scrape = `# HELP container_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the container in core-seconds
# TYPE container_cpu_usage_seconds_total counter
container_cpu_usage_seconds_total{container="app",namespace="default",pod="web"} 2 1700000100000
container_cpu_usage_seconds_total{container="nomem",namespace="default",pod="web"} 1 1700000100000
# TYPE container_memory_working_set_bytes gauge
container_memory_working_set_bytes{container="app",namespace="default",pod="web"} 2000 1700000100000
# TYPE container_start_time_seconds gauge
container_start_time_seconds{container="app",namespace="default",pod="web"} 1.7000000025e+09
# TYPE node_cpu_usage_seconds_total counter
node_cpu_usage_seconds_total 123.5 1700000100000
# TYPE node_memory_working_set_bytes gauge
node_memory_working_set_bytes 2.147483648e+09
# TYPE resource_scrape_error gauge
resource_scrape_error 0
`

var web = apitypes.NamespacedName{Namespace: "default", Name: "web"}

func TestDecode(t *testing.T) {
	now := time.Unix(1700000200, 0)
	for _, tc := range []struct {
		name, body string
		want       *resourcemetrics.Batch
		err        string
	}{{
		name: "node and containers; a container without memory is left out",
		body: scrape,
		want: &resourcemetrics.Batch{
			Nodes: map[string]resourcemetrics.Point{"n1": {Timestamp: time.Unix(1700000100, 0), CumulativeCPU: 123_500_000_000, Memory: 2 << 30}},
			Pods: map[apitypes.NamespacedName]map[string]resourcemetrics.Point{web: {"app": {StartTime: time.Unix(1700000002, 5e8),
				Timestamp: time.Unix(1700000100, 0), CumulativeCPU: 2e9, Memory: 2000}}},
		},
	}, {
		name: "no timestamp: the scrape's time; a node without memory is left out",
		body: "node_cpu_usage_seconds_total 1\ncontainer_cpu_usage_seconds_total{container=\"c\",namespace=\"n\",pod=\"p\"} 3\ncontainer_memory_working_set_bytes{container=\"c\",namespace=\"n\",pod=\"p\"} 4\n",
		want: &resourcemetrics.Batch{Nodes: map[string]resourcemetrics.Point{},
			Pods: map[apitypes.NamespacedName]map[string]resourcemetrics.Point{{Namespace: "n", Name: "p"}: {"c": {Timestamp: now, CumulativeCPU: 3e9, Memory: 4}}}},
	}, {
		name: "not the text format",
		body: "node_cpu_usage_seconds_total{ 1\n",
		err:  "decoding resource metrics of node n1",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := resourcemetrics.Decode([]byte(tc.body), "n1", now)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestUsage(t *testing.T) {
	t0 := time.Unix(1700000000, 0)
	for _, tc := range []struct {
		name       string
		last, prev resourcemetrics.Point
		cpu, mem   string
		window     time.Duration
		err        string
	}{
		{name: "quarter core over 15s", prev: resourcemetrics.Point{Timestamp: t0, CumulativeCPU: 1e9},
			last: resourcemetrics.Point{Timestamp: t0.Add(15 * time.Second), CumulativeCPU: 1e9 + 3750e6, Memory: 64 << 20},
			cpu:  "250m", mem: "64Mi", window: 15 * time.Second},
		{name: "nanocores", prev: resourcemetrics.Point{Timestamp: t0},
			last: resourcemetrics.Point{Timestamp: t0.Add(10 * time.Second), CumulativeCPU: 12345, Memory: 1000},
			cpu:  "1234n", mem: "1k", window: 10 * time.Second},
		{name: "counter went back", prev: resourcemetrics.Point{Timestamp: t0, CumulativeCPU: 5},
			last: resourcemetrics.Point{Timestamp: t0.Add(time.Second), CumulativeCPU: 4}, err: "decrease in cumulative CPU"},
		{name: "start time went back", prev: resourcemetrics.Point{StartTime: t0, Timestamp: t0},
			last: resourcemetrics.Point{StartTime: t0.Add(-time.Second), Timestamp: t0.Add(time.Second)}, err: "decrease in startTime"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			usage, window, err := resourcemetrics.Usage(tc.last, tc.prev)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cpu, mem := usage[corev1.ResourceCPU], usage[corev1.ResourceMemory]; cpu.String() != tc.cpu || mem.String() != tc.mem || window != tc.window {
				t.Errorf("cpu %s memory %s window %v, want %s %s %v", cpu.String(), mem.String(), window, tc.cpu, tc.mem, tc.window)
			}
		})
	}
}

// TestNextPods follows one container across scrapes: first point (no rate), second (a rate),
// a repeated point (the previous kept), a restart (starts over), and a fresh container whose
// start lies within the resolution (a rate from its start).
func TestNextPods(t *testing.T) {
	t0 := time.Unix(1700000000, 0)
	res := 15 * time.Second
	pt := func(start, at time.Duration, cpu uint64) resourcemetrics.Point {
		return resourcemetrics.Point{StartTime: t0.Add(start), Timestamp: t0.Add(at), CumulativeCPU: cpu, Memory: 1}
	}
	type pods = map[apitypes.NamespacedName]map[string]resourcemetrics.Point
	steps := []struct {
		name     string
		scraped  resourcemetrics.Point
		wantPrev *resourcemetrics.Point
	}{
		{"first point", pt(-time.Hour, 0, 100), nil},
		{"second point", pt(-time.Hour, 15*time.Second, 200), &resourcemetrics.Point{StartTime: t0.Add(-time.Hour), Timestamp: t0, CumulativeCPU: 100, Memory: 1}},
		{"same point again", pt(-time.Hour, 15*time.Second, 200), &resourcemetrics.Point{StartTime: t0.Add(-time.Hour), Timestamp: t0, CumulativeCPU: 100, Memory: 1}},
		{"restarted", pt(20*time.Second, 50*time.Second, 5), nil},
		{"fresh container", pt(60*time.Second, 72*time.Second, 7), &resourcemetrics.Point{StartTime: t0.Add(60 * time.Second), Timestamp: t0.Add(60 * time.Second), Memory: 1}},
		{"restarted, too fresh for a rate from its start", pt(100*time.Second, 105*time.Second, 7), nil},
	}
	var last, prev pods
	for _, st := range steps {
		last, prev = resourcemetrics.NextPods(last, prev, pods{web: {"app": st.scraped}}, res)
		got, ok := prev[web]["app"]
		if (st.wantPrev == nil) == ok || st.wantPrev != nil && !cmp.Equal(*st.wantPrev, got) {
			t.Errorf("%s: previous %+v (%v), want %+v", st.name, got, ok, st.wantPrev)
		}
		if last[web]["app"] != st.scraped {
			t.Errorf("%s: last %+v", st.name, last[web]["app"])
		}
	}
	// A pod that is not scraped is forgotten.
	last, prev = resourcemetrics.NextPods(last, prev, pods{}, res)
	if len(last)+len(prev) != 0 {
		t.Errorf("unscraped pod kept: %v %v", last, prev)
	}
}

func TestNextNodes(t *testing.T) {
	t0 := time.Unix(1700000000, 0)
	p := func(at time.Duration) resourcemetrics.Point { return resourcemetrics.Point{Timestamp: t0.Add(at)} }
	last, prev := resourcemetrics.NextNodes(nil, nil, map[string]resourcemetrics.Point{"a": p(0)})
	last, prev = resourcemetrics.NextNodes(last, prev, map[string]resourcemetrics.Point{"a": p(10 * time.Second), "b": p(0)})
	if prev["a"] != p(0) || len(prev) != 1 || last["a"] != p(10*time.Second) {
		t.Fatalf("after two scrapes: last %v prev %v", last, prev)
	}
	// The same point again keeps the previous one; an older one than the previous drops it.
	last, prev = resourcemetrics.NextNodes(last, prev, map[string]resourcemetrics.Point{"a": p(10 * time.Second)})
	if prev["a"] != p(0) {
		t.Errorf("same point: prev %v", prev)
	}
	_, prev = resourcemetrics.NextNodes(last, prev, map[string]resourcemetrics.Point{"a": p(-time.Second)})
	if _, ok := prev["a"]; ok {
		t.Errorf("older point: prev %v", prev)
	}
}

func readyNode(name string, ready corev1.ConditionStatus) *corev1.Node {
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name},
		Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: ready}}}}
}

func TestTargets(t *testing.T) {
	got := resourcemetrics.Targets([]*corev1.Node{readyNode("b", corev1.ConditionTrue), readyNode("c", corev1.ConditionFalse),
		readyNode("a", corev1.ConditionTrue), readyNode("d", corev1.ConditionUnknown), {ObjectMeta: metav1.ObjectMeta{Name: "e"}}})
	if !cmp.Equal(got, []string{"a", "b"}) {
		t.Errorf("targets %v", got)
	}
}

// TestScraper scrapes a fake node twice on a fake clock: after the second round the store has
// its usage, the rate of the counter between the rounds; a NotReady node is not scraped.
func TestScraper(t *testing.T) {
	var round, notReadyHits atomic.Int64
	node := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/metrics/resource" {
			http.NotFound(w, r)
			return
		}
		n := round.Add(1)
		ts := 1700000000000 + (n-1)*15000
		// 0.5 core on the node, 0.1 on the container; 1Mi and 4Ki of memory.
		fmt.Fprintf(w, "node_cpu_usage_seconds_total %s %d\n", []string{"", "10", "17.5"}[n], ts)
		fmt.Fprintf(w, "node_memory_working_set_bytes 1048576 %d\n", ts)
		fmt.Fprintf(w, "container_cpu_usage_seconds_total{container=\"app\",namespace=\"default\",pod=\"web\"} %s %d\n", []string{"", "1", "2.5"}[n], ts)
		fmt.Fprintf(w, "container_memory_working_set_bytes{container=\"app\",namespace=\"default\",pod=\"web\"} 4096 %d\n", ts)
		fmt.Fprintf(w, "container_start_time_seconds{container=\"app\",namespace=\"default\",pod=\"web\"} 1.6e+09\n")
	}))
	defer node.Close()
	base, _ := url.Parse(node.URL)
	store := resourcemetrics.NewStore(15 * time.Second)
	clk := clocktesting.NewFakeClock(time.Unix(1700000000, 0))
	s, err := resourcemetrics.NewScraper(resourcemetrics.Config{
		Nodes: func() ([]*corev1.Node, error) {
			return []*corev1.Node{readyNode("n1", corev1.ConditionTrue), readyNode("down", corev1.ConditionFalse)}, nil
		},
		Connect: func(_ context.Context, name string) (*url.URL, http.RoundTripper, error) {
			if name != "n1" {
				notReadyHits.Add(1)
			}
			return base, http.DefaultTransport, nil
		},
		Store: store, Clock: clk,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	s.ScrapeOnce(ctx)
	if _, ok := store.Node("n1"); ok {
		t.Fatal("usage after one scrape")
	}
	s.ScrapeOnce(ctx)
	nu, ok := store.Node("n1")
	if !ok {
		t.Fatal("no node usage after two scrapes")
	}
	cpu, mem := nu.Usage[corev1.ResourceCPU], nu.Usage[corev1.ResourceMemory]
	if cpu.String() != "500m" || mem.String() != "1Mi" || nu.Window != 15*time.Second || !nu.Timestamp.Equal(time.UnixMilli(1700000015000)) {
		t.Errorf("node usage %s %s %v %v", cpu.String(), mem.String(), nu.Window, nu.Timestamp)
	}
	pu, ok := store.Pod(web)
	if !ok || len(pu.Containers) != 1 {
		t.Fatalf("pod usage %+v %v", pu, ok)
	}
	if c := pu.Containers[0]; c.Name != "app" || c.Usage.Cpu().String() != "100m" || c.Usage.Memory().String() != "4Ki" {
		t.Errorf("container usage %s %s %s", c.Name, c.Usage.Cpu().String(), c.Usage.Memory().String())
	}
	if notReadyHits.Load() != 0 {
		t.Error("a NotReady node was scraped")
	}
}

// BenchmarkDecodeAndStore: one scrape of a full node (110 pods of two containers) decoded and
// stored.
func BenchmarkDecodeAndStore(b *testing.B) {
	var body strings.Builder
	fmt.Fprintf(&body, "node_cpu_usage_seconds_total 100 1700000100000\nnode_memory_working_set_bytes 1e9 1700000100000\n")
	for i := range 110 {
		for _, c := range []string{"app", "sidecar"} {
			l := fmt.Sprintf(`{container="%s",namespace="default",pod="pod-%d"}`, c, i)
			fmt.Fprintf(&body, "container_cpu_usage_seconds_total%s %d 1700000100000\n", l, i)
			fmt.Fprintf(&body, "container_memory_working_set_bytes%s 1.048576e+06 1700000100000\n", l)
			fmt.Fprintf(&body, "container_start_time_seconds%s 1.7e+09\n", l)
		}
	}
	data := []byte(body.String())
	store := resourcemetrics.NewStore(0)
	now := time.Unix(1700000100, 0)
	for b.Loop() {
		batch, err := resourcemetrics.Decode(data, "n1", now)
		if err != nil {
			b.Fatal(err)
		}
		store.Store(batch)
	}
	b.ReportMetric(float64(len(data)), "bytes/scrape")
}
