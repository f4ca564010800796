package resourcemetrics

import (
	"bytes"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

func TestEachSample(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       []sample
		err        string
	}{
		{name: "comments, blank lines and other metrics skipped",
			body: "# HELP x\n\n# TYPE node_cpu_usage_seconds_total counter\nresource_scrape_error 0\nnode_cpu_usage_seconds_total 1.5 1700000000000\n",
			want: []sample{{name: "node_cpu_usage_seconds_total", value: 1.5, timestampMs: 1700000000000, hasTimestamp: true}}},
		{name: "labels in any order, others ignored, trailing comma, spaces",
			body: "container_memory_working_set_bytes{ pod=\"p\" , extra=\"x\",container=\"c\",namespace=\"n\", } \t 2e3\n",
			want: []sample{{name: "container_memory_working_set_bytes", namespace: "n", pod: "p", container: "c", value: 2000}}},
		{name: "escapes in values",
			body: `container_start_time_seconds{container="a\"b\\c\nd",namespace="n",pod="p"} 7` + "\n",
			want: []sample{{name: "container_start_time_seconds", namespace: "n", pod: "p", container: "a\"b\\c\nd", value: 7}}},
		{name: "no final newline, special values",
			body: "node_memory_working_set_bytes +Inf\nnode_cpu_usage_seconds_total NaN",
			want: []sample{{name: "node_memory_working_set_bytes", value: math.Inf(1)}, {name: "node_cpu_usage_seconds_total", value: math.NaN()}}},
		{name: "labels not closed", body: "node_cpu_usage_seconds_total{ 1\n", err: "line 1: label without a value"},
		{name: "value not quoted", body: "container_cpu_usage_seconds_total{pod=p} 1\n", err: "value not quoted"},
		{name: "quote not closed", body: "container_cpu_usage_seconds_total{pod=\"p} 1\n", err: "value not closed"},
		{name: "no comma", body: "container_cpu_usage_seconds_total{pod=\"p\" container=\"c\"} 1\n", err: "not separated by commas"},
		{name: "bad value", body: "x 1\nnode_cpu_usage_seconds_total one\n", err: "line 2: value"},
		{name: "bad timestamp", body: "node_cpu_usage_seconds_total 1 soon\n", err: "timestamp"},
		{name: "too many fields", body: "node_cpu_usage_seconds_total 1 2 3\n", err: "want a value"},
		{name: "no value", body: "node_cpu_usage_seconds_total\n", err: "no value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []sample
			err := eachSample([]byte(tc.body), func(s *sample) { got = append(got, *s) })
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(sample{}), cmp.Comparer(func(a, b float64) bool {
				return a == b || math.IsNaN(a) && math.IsNaN(b)
			})); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// nodeScrape is a node's /metrics/resource with pods of two containers each, as the agent
// serves it.
func nodeScrape(pods int) []byte {
	var b bytes.Buffer
	series := func(name, typ string, value func(pod, ctr int) string) {
		fmt.Fprintf(&b, "# HELP %s [STABLE] %s\n# TYPE %s %s\n", name, name, name, typ)
		for p := range pods {
			for c := range 2 {
				fmt.Fprintf(&b, "%s{container=\"c%d\",namespace=\"ns-%d\",pod=\"web-7d4b9c8f5-%05d\"} %s\n", name, c, p%10, p, value(p, c))
			}
		}
	}
	series("container_cpu_usage_seconds_total", "counter", func(p, c int) string { return fmt.Sprintf("%d.25 1700000100000", p+c) })
	series("container_memory_working_set_bytes", "gauge", func(p, c int) string { return fmt.Sprintf("%d 1700000100000", (p+1)<<20) })
	series("container_start_time_seconds", "gauge", func(p, c int) string { return "1.7000000025e+09" })
	b.WriteString("# HELP node_cpu_usage_seconds_total x\n# TYPE node_cpu_usage_seconds_total counter\nnode_cpu_usage_seconds_total 123.5 1700000100000\n")
	b.WriteString("# TYPE node_memory_working_set_bytes gauge\nnode_memory_working_set_bytes 2.147483648e+09 1700000100000\n# TYPE resource_scrape_error gauge\nresource_scrape_error 0\n")
	return b.Bytes()
}

// BenchmarkDecodeScrape reads a node's scrape (10 pods) side by side with expfmt's parser,
// which Decode used before (the peer: building its metric families alone).
func BenchmarkDecodeScrape(b *testing.B) {
	body := nodeScrape(10)
	b.Run("expfmt", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			parser := expfmt.NewTextParser(model.LegacyValidation)
			if _, err := parser.TextToMetricFamilies(bytes.NewReader(body)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Decode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Decode(body, "n1", timeZero); err != nil {
				b.Fatal(err)
			}
		}
	})
}

var timeZero = time.Time{}

// FuzzDecode: any body a node sends decodes or fails with an error, never a panic.
func FuzzDecode(f *testing.F) {
	f.Add(nodeScrape(2))
	f.Add([]byte("container_cpu_usage_seconds_total{container=\"a\\\"\",namespace=\"n\",pod=\"p\"} 1 2\n"))
	f.Add([]byte("node_cpu_usage_seconds_total{pod=\"\\"))
	f.Fuzz(func(t *testing.T, body []byte) {
		if _, err := Decode(body, "n1", timeZero); err != nil && !strings.Contains(err.Error(), "node n1") {
			t.Errorf("error without the node: %v", err)
		}
	})
}
