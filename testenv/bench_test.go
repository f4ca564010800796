package testenv_test

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/skiff-dev/skiff/apiserver/etcd"
	"github.com/skiff-dev/skiff/test/procstat"
	"github.com/skiff-dev/skiff/testenv"
)

// BenchmarkStart measures testenv.Start to a ready API with the controllers started (caches
// synced), side by side in one run with its parts: the embedded etcd alone (the floor), the
// API server alone (what envtest starts, from binaries), and with simulated nodes. Each
// variant runs several times; the median is reported. The very first start of a process also
// generates the keys (CA, serving certificate, ServiceAccount key), later ones reuse them.
func BenchmarkStart(b *testing.B) {
	const runs = 5
	type variant struct {
		name  string
		start func(b *testing.B) []testenv.Phase
	}
	cpu := map[string][]time.Duration{}
	variants := []variant{
		{"etcd alone (floor)", func(b *testing.B) []testenv.Phase {
			t0 := time.Now()
			e, err := etcd.Start(context.Background(), etcd.Config{Dir: b.TempDir(), ForTests: true})
			if err != nil {
				b.Fatal(err)
			}
			d := time.Since(t0)
			e.Close()
			return []testenv.Phase{{Name: "etcd", Duration: d}}
		}},
		{"API server alone (envtest's scope)", func(b *testing.B) []testenv.Phase {
			env := testenv.Start(b, testenv.WithoutControllers())
			env.Stop()
			return env.Phases
		}},
		{"API + controllers (testenv.Start)", func(b *testing.B) []testenv.Phase {
			env := testenv.Start(b)
			env.Stop()
			return env.Phases
		}},
		{"API + controllers + 3 simulated nodes", func(b *testing.B) []testenv.Phase {
			env := testenv.Start(b, testenv.WithSimulatedNodes(3))
			env.Stop()
			return env.Phases
		}},
	}
	for i := 0; i < b.N; i++ {
		var first time.Duration
		results := map[string][]time.Duration{}
		phases := map[string][]testenv.Phase{}
		for r := 0; r < runs; r++ {
			for vi, v := range variants {
				c0 := procstat.CPU()
				ph := v.start(b)
				cpu[v.name] = append(cpu[v.name], procstat.CPU()-c0)
				var total time.Duration
				for _, p := range ph {
					total += p.Duration
				}
				if r == 0 && vi == 1 && first == 0 {
					first = total // the process's first testenv start (keys generated)
					continue
				}
				results[v.name] = append(results[v.name], total)
				phases[v.name] = ph
			}
		}
		var sb strings.Builder
		fmt.Fprintf(&sb, "\ntestenv start, median of %d runs (first start of the process, keys generated: %v)\n", runs, first.Round(time.Millisecond))
		for _, v := range variants {
			d := results[v.name]
			slices.Sort(d)
			med := d[len(d)/2]
			var parts []string
			for _, p := range phases[v.name] {
				parts = append(parts, fmt.Sprintf("%s %v", p.Name, p.Duration.Round(time.Millisecond)))
			}
			c := cpu[v.name]
			slices.Sort(c)
			fmt.Fprintf(&sb, "  %-40s %8v wall %8v CPU (start+stop)   (last run: %s)\n", v.name, med.Round(time.Millisecond),
				c[len(c)/2].Round(time.Millisecond), strings.Join(parts, ", "))
			if v.name == "API + controllers (testenv.Start)" {
				b.ReportMetric(float64(med.Milliseconds()), "ms/start")
			}
		}
		fmt.Fprintf(&sb, "  (wall times depend on the machine's load; %d CPUs, load average %s)\n", runtime.NumCPU(), procstat.LoadAverage())
		fmt.Fprintf(&sb, "  goal: under 1s to a ready API with controllers; envtest (kube-apiserver + etcd binaries) is not installed here, so it is not measured\n")
		b.Log(sb.String())
	}
}
