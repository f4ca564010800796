package scale

import (
	"bytes"
	"context"
	"math"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestQuantile(t *testing.T) {
	inf := math.Inf(1)
	for _, tc := range []struct {
		name string
		h    Histogram
		q    float64
		want float64
	}{
		{"empty", Histogram{Bounds: []float64{0.1, inf}, Counts: []float64{0, 0}}, 0.99, math.NaN()},
		{"first bucket interpolates from 0", Histogram{Bounds: []float64{0.1, 1, inf}, Counts: []float64{100, 100, 100}}, 0.5, 0.05},
		{"middle bucket", Histogram{Bounds: []float64{0.1, 1, inf}, Counts: []float64{50, 100, 100}}, 0.99, 0.1 + 0.9*(99-50)/50},
		{"+Inf bucket is the highest finite bound", Histogram{Bounds: []float64{0.1, 1, inf}, Counts: []float64{0, 0, 10}}, 0.99, 1},
		{"no +Inf bucket", Histogram{Bounds: []float64{0.1, 1}, Counts: []float64{1, 2}}, 0.5, math.NaN()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.h.Quantile(tc.q)
			if math.IsNaN(tc.want) != math.IsNaN(got) || (!math.IsNaN(got) && math.Abs(got-tc.want) > 1e-9) {
				t.Errorf("Quantile(%v) = %v, want %v", tc.q, got, tc.want)
			}
		})
	}
}

func TestCallKeyClass(t *testing.T) {
	for _, tc := range []struct {
		key  CallKey
		want string
	}{
		{CallKey{Resource: "pods", Verb: "POST", Scope: "namespace"}, ClassMutating},
		{CallKey{Resource: "pods", Subresource: "binding", Verb: "POST", Scope: "resource"}, ClassMutating},
		{CallKey{Resource: "nodes", Subresource: "status", Verb: "PATCH", Scope: "resource"}, ClassMutating},
		{CallKey{Resource: "pods", Verb: "GET", Scope: "resource"}, ClassGet},
		{CallKey{Resource: "pods", Verb: "LIST", Scope: "namespace"}, ClassNamespace},
		{CallKey{Resource: "pods", Verb: "LIST", Scope: "cluster"}, ClassCluster},
		{CallKey{Resource: "pods", Verb: "WATCH", Scope: "cluster"}, ""},
		{CallKey{Resource: "events", Verb: "POST", Scope: "namespace"}, ""},
		{CallKey{Subresource: "/readyz", Verb: "GET"}, ""},
		{CallKey{Resource: "pods", Subresource: "proxy", Verb: "CONNECT", Scope: "resource"}, ""},
	} {
		if got := tc.key.Class(); got != tc.want {
			t.Errorf("%v: class %q, want %q", tc.key, got, tc.want)
		}
	}
}

const metricsBefore = `# TYPE apiserver_request_sli_duration_seconds histogram
apiserver_request_sli_duration_seconds_bucket{component="apiserver",group="",resource="pods",scope="namespace",subresource="",verb="POST",version="v1",le="0.1"} 10
apiserver_request_sli_duration_seconds_bucket{component="apiserver",group="",resource="pods",scope="namespace",subresource="",verb="POST",version="v1",le="1"} 10
apiserver_request_sli_duration_seconds_bucket{component="apiserver",group="",resource="pods",scope="namespace",subresource="",verb="POST",version="v1",le="+Inf"} 10
apiserver_request_sli_duration_seconds_sum{component="apiserver",group="",resource="pods",scope="namespace",subresource="",verb="POST",version="v1"} 0.5
apiserver_request_sli_duration_seconds_count{component="apiserver",group="",resource="pods",scope="namespace",subresource="",verb="POST",version="v1"} 10
# TYPE skiff_etcd_db_total_size_in_bytes gauge
skiff_etcd_db_total_size_in_bytes 1.048576e+06
`

// metricsAfter adds 100 POSTs to pods, 99 under 0.1 s and one between 1 s and +Inf (the
// window's p99 is 0.1 s), and LISTs of pods in two API versions summed into one group.
const metricsAfter = `# TYPE apiserver_request_sli_duration_seconds histogram
apiserver_request_sli_duration_seconds_bucket{component="apiserver",group="",resource="pods",scope="namespace",subresource="",verb="POST",version="v1",le="0.1"} 109
apiserver_request_sli_duration_seconds_bucket{component="apiserver",group="",resource="pods",scope="namespace",subresource="",verb="POST",version="v1",le="1"} 109
apiserver_request_sli_duration_seconds_bucket{component="apiserver",group="",resource="pods",scope="namespace",subresource="",verb="POST",version="v1",le="+Inf"} 110
apiserver_request_sli_duration_seconds_sum{component="apiserver",group="",resource="pods",scope="namespace",subresource="",verb="POST",version="v1"} 9
apiserver_request_sli_duration_seconds_count{component="apiserver",group="",resource="pods",scope="namespace",subresource="",verb="POST",version="v1"} 110
apiserver_request_sli_duration_seconds_bucket{component="apiserver",group="",resource="pods",scope="cluster",subresource="",verb="LIST",version="v1",le="0.1"} 0
apiserver_request_sli_duration_seconds_bucket{component="apiserver",group="",resource="pods",scope="cluster",subresource="",verb="LIST",version="v1",le="1"} 1
apiserver_request_sli_duration_seconds_bucket{component="apiserver",group="",resource="pods",scope="cluster",subresource="",verb="LIST",version="v1",le="+Inf"} 1
apiserver_request_sli_duration_seconds_sum{component="apiserver",group="",resource="pods",scope="cluster",subresource="",verb="LIST",version="v1"} 0.5
apiserver_request_sli_duration_seconds_count{component="apiserver",group="",resource="pods",scope="cluster",subresource="",verb="LIST",version="v1"} 1
apiserver_request_sli_duration_seconds_bucket{component="apiserver",group="",resource="pods",scope="cluster",subresource="",verb="LIST",version="v2",le="0.1"} 0
apiserver_request_sli_duration_seconds_bucket{component="apiserver",group="",resource="pods",scope="cluster",subresource="",verb="LIST",version="v2",le="1"} 0
apiserver_request_sli_duration_seconds_bucket{component="apiserver",group="",resource="pods",scope="cluster",subresource="",verb="LIST",version="v2",le="+Inf"} 1
apiserver_request_sli_duration_seconds_sum{component="apiserver",group="",resource="pods",scope="cluster",subresource="",verb="LIST",version="v2"} 40
apiserver_request_sli_duration_seconds_count{component="apiserver",group="",resource="pods",scope="cluster",subresource="",verb="LIST",version="v2"} 1
apiserver_request_sli_duration_seconds_bucket{component="apiserver",group="",resource="pods",scope="cluster",subresource="",verb="WATCH",version="v1",le="+Inf"} 5
apiserver_request_sli_duration_seconds_sum{component="apiserver",group="",resource="pods",scope="cluster",subresource="",verb="WATCH",version="v1"} 500
apiserver_request_sli_duration_seconds_count{component="apiserver",group="",resource="pods",scope="cluster",subresource="",verb="WATCH",version="v1"} 5
`

func TestAPIResponsiveness(t *testing.T) {
	before, err := ParseCallHistograms(strings.NewReader(metricsBefore))
	if err != nil {
		t.Fatal(err)
	}
	after, err := ParseCallHistograms(strings.NewReader(metricsAfter))
	if err != nil {
		t.Fatal(err)
	}
	calls, classes := APIResponsiveness(before, after)
	if len(calls) != 2 {
		t.Fatalf("calls %v, want the POST and the LIST (WATCH is not in the SLO)", calls)
	}
	byClass := map[string]ClassLatency{}
	for _, c := range classes {
		byClass[c.Class] = c
	}
	post := byClass[ClassMutating]
	if post.Worst.Count != 100 || post.Worst.P99 != 100*time.Millisecond || !post.OK() {
		t.Errorf("mutating: %+v, want 100 calls with p99 100ms within the SLO", post)
	}
	list := byClass[ClassCluster]
	// Two calls: one in (0.1, 1], one in +Inf; the p99 is in the +Inf bucket: 1 s.
	if list.Worst.Count != 2 || list.Worst.P99 != time.Second || !list.OK() {
		t.Errorf("cluster list: %+v, want 2 calls with p99 1s", list)
	}
	if g := byClass[ClassGet]; g.Groups != 0 || !g.OK() {
		t.Errorf("get: %+v, want no groups", g)
	}
	if v, ok := Gauge([]byte(metricsBefore), "skiff_etcd_db_total_size_in_bytes"); !ok || v != 1<<20 {
		t.Errorf("Gauge = %v, %v; want 1 MiB", v, ok)
	}
}

func TestSchedulingThroughput(t *testing.T) {
	// Samples every 5 s: idle, then 500, 2500, 2500 (rates 100, 400, 0 pods/s), then idle.
	got := SchedulingThroughput([]int{0, 0, 500, 2500, 2500, 3000, 3000}, 5*time.Second)
	want := Throughput{Perc50: 100, Perc90: 400, Perc99: 400, Max: 400, Average: 3000.0 / 20}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if got := SchedulingThroughput([]int{0, 0}, time.Second); got != (Throughput{}) {
		t.Errorf("no pods: %+v", got)
	}
}

func TestLayout(t *testing.T) {
	plan := layout(2150, 100)
	if len(plan) != 3 || len(plan[0]) != deploymentsPerNamespace || len(plan[2]) != 2 || plan[2][1] != 50 {
		t.Errorf("layout(2150, 100) = %v", plan)
	}
	total := 0
	for _, ns := range plan {
		for _, r := range ns {
			total += r
		}
	}
	if total != 2150 {
		t.Errorf("total %d", total)
	}
}

func TestWriteTable(t *testing.T) {
	var b bytes.Buffer
	WriteTable(&b, []Row{{Figure: "nodes", Measured: "5000", Goal: "5000", Upstream: "5,000", Verdict: "ok"}})
	lines := strings.Split(b.String(), "\n")
	if len(lines) != 4 || strings.Join(strings.Fields(lines[2]), " ") != "nodes 5000 5000 ok 5,000" ||
		strings.Index(lines[0], "measured") != strings.Index(lines[2], "5000") {
		t.Errorf("table:\n%s", b.String())
	}
}

// TestCountPaged: every page is read, its continue token passed on, matches counted.
func TestCountPaged(t *testing.T) {
	pages := map[string][]int{"": {1, 2, 3}, "b": {4, 5}, "c": {6}}
	nextOf := map[string]string{"": "b", "b": "c", "c": ""}
	var tokens []string
	even, total, err := countPaged(context.Background(), metav1.ListOptions{Limit: 3}, func(_ context.Context, opts metav1.ListOptions) ([]int, string, error) {
		tokens = append(tokens, opts.Continue)
		return pages[opts.Continue], nextOf[opts.Continue], nil
	}, func(v *int) bool { return *v%2 == 0 })
	if err != nil || even != 3 || total != 6 || len(tokens) != 3 || tokens[1] != "b" || tokens[2] != "c" {
		t.Errorf("countPaged = %d, %d, %v (continue tokens %q); want 3, 6", even, total, err, tokens)
	}
}

func TestProgressAt(t *testing.T) {
	log := "  0.0s  Starting etcd (data in /d)\n  3.3s  etcd is ready; starting the API server\n" +
		"some log line about the API server is ready\n 62.8s  API server is ready on https://127.0.0.1:1\n"
	for _, tc := range []struct {
		text string
		want time.Duration
	}{
		{"etcd is ready", 3300 * time.Millisecond},
		{"API server is ready", 62800 * time.Millisecond},
		{"Cluster DNS is serving", 0},
	} {
		if got := progressAt(log, tc.text); got != tc.want {
			t.Errorf("progressAt(%q) = %v, want %v", tc.text, got, tc.want)
		}
	}
}
