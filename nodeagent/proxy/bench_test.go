package proxy

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/skiff-dev/skiff/apiserver/apiservertest"
	"github.com/skiff-dev/skiff/nodeagent/nftrules"
)

const (
	benchServices  = 100
	benchEndpoints = 10
	benchChanges   = 200
	benchFullSyncs = 10
)

type syncReport struct {
	full     bool
	took     time.Duration
	at       time.Time
	triggers []time.Time
	rules    [3]int
}

// BenchmarkNetworkProgramming measures, with real nft (in a network namespace) and the real
// API server: the network programming latency (an EndpointSlice update's
// last-change-trigger-time to its rules in place) for 100 services of 10 endpoints, one
// endpoint change at a time, and side by side the cost of a partial sync (what each change
// writes) and of a full resync of the whole table, with its size.
func BenchmarkNetworkProgramming(b *testing.B) {
	requireNetns(b)
	for i := 0; i < b.N; i++ {
		runNetworkProgramming(b)
	}
}

func runNetworkProgramming(b *testing.B) {
	ctx := context.Background()
	node := newNetns(b, "skp-bench")
	srv := apiservertest.Start(b)
	c := srv.Client
	const table = "skiff-proxy-bench"
	nft := nftIn(b, node, table)
	b.Cleanup(func() { _ = nftrules.DeleteTable(context.Background(), nft) })

	sliceObjs := make([]*discoveryv1.EndpointSlice, benchServices)
	for i := range benchServices {
		name := fmt.Sprintf("svc-%03d", i)
		if _, err := c.CoreV1().Services("default").Create(ctx, testService(name, ""), metav1.CreateOptions{}); err != nil {
			b.Fatal(err)
		}
		s := &discoveryv1.EndpointSlice{
			ObjectMeta:  metav1.ObjectMeta{Namespace: "default", Name: name + "-1", Labels: map[string]string{labelServiceName: name}},
			AddressType: discoveryv1.AddressTypeIPv4,
			Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http"), Protocol: ptr.To(corev1.ProtocolTCP), Port: ptr.To[int32](8080)}},
		}
		for j := range benchEndpoints {
			s.Endpoints = append(s.Endpoints, discoveryv1.Endpoint{Addresses: []string{fmt.Sprintf("10.244.%d.%d", i, j+1)},
				NodeName: ptr.To("node-b"), Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}})
		}
		created, err := c.DiscoveryV1().EndpointSlices("default").Create(ctx, s, metav1.CreateOptions{})
		if err != nil {
			b.Fatal(err)
		}
		sliceObjs[i] = created
	}

	reports := make(chan syncReport, 1000)
	run := func(fullEvery time.Duration) (*Proxier, func()) {
		p, err := New(Config{NodeName: "node-a", Client: c, PodCIDRs: []string{"10.244.0.0/16"}, TableName: table,
			NFTables: nft, FullSyncInterval: fullEvery})
		if err != nil {
			b.Fatal(err)
		}
		p.afterSync = func(full bool, took time.Duration, want *nftrules.Ruleset, triggers []time.Time) {
			r, ch, el := want.Counts()
			reports <- syncReport{full: full, took: took, at: time.Now(), triggers: triggers, rules: [3]int{r, ch, el}}
		}
		pctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- p.Start(pctx) }()
		return p, func() {
			cancel()
			if err := <-done; err != nil {
				b.Error(err)
			}
		}
	}
	_, stop := run(time.Hour)
	// The first (full) sync with every service in place.
	var size [3]int
	deadline := time.After(2 * time.Minute)
	for size[0] == 0 {
		select {
		case r := <-reports:
			if r.rules[1] > benchServices*benchEndpoints {
				size = r.rules
			}
		case <-deadline:
			b.Fatal("the proxier never synced all services")
		}
	}

	// Latency: one endpoint change at a time, each waited for.
	var latencies, partial []time.Duration
	for k := range benchChanges {
		i := k % benchServices
		s := sliceObjs[i]
		s.Endpoints[0].Addresses = []string{fmt.Sprintf("10.244.%d.%d", i, 100+k/benchServices)}
		trigger := time.Now().UTC()
		s.Annotations = map[string]string{LastChangeTriggerTimeAnnotation: trigger.Format(time.RFC3339Nano)}
		updated, err := c.DiscoveryV1().EndpointSlices("default").Update(ctx, s, metav1.UpdateOptions{})
		if err != nil {
			b.Fatal(err)
		}
		sliceObjs[i] = updated
		for done := false; !done; {
			select {
			case r := <-reports:
				if !r.full {
					partial = append(partial, r.took)
				}
				for _, t := range r.triggers {
					if t.Equal(trigger) {
						latencies = append(latencies, r.at.Sub(t))
						done = true
					}
				}
			case <-time.After(30 * time.Second):
				b.Fatalf("change %d never programmed", k)
			}
		}
	}
	stop()

	// Full resyncs over the existing table: a proxier that resyncs everything each time.
	_, stop = run(time.Nanosecond)
	var full []time.Duration
	for len(full) < benchFullSyncs {
		select {
		case r := <-reports:
			if r.full {
				full = append(full, r.took)
			}
		case <-time.After(time.Minute):
			b.Fatal("no full resync")
		}
	}
	stop()

	p50, p99 := pctl(latencies, 50), pctl(latencies, 99)
	part50, full50 := pctl(partial, 50), pctl(full, 50)
	b.ReportMetric(ms(p50), "prog-p50-ms")
	b.ReportMetric(ms(p99), "prog-p99-ms")
	b.ReportMetric(ms(part50), "partial-sync-p50-ms")
	b.ReportMetric(ms(full50), "full-resync-p50-ms")
	b.ReportMetric(float64(size[0]), "rules")
	fmt.Printf("\nService proxy, real nft, %d services x %d endpoints (%d rules, %d chains, %d map/set elements)\n",
		benchServices, benchEndpoints, size[0], size[1], size[2])
	fmt.Printf("  network programming latency (slice update -> rules in place, %d changes one at a time): p50 %.1f ms  p99 %.1f ms  (goal: p99 < 1000 ms)\n",
		len(latencies), ms(p50), ms(p99))
	fmt.Printf("  partial sync (one service changed): p50 %.1f ms   full resync of the table: p50 %.1f ms  p99 %.1f ms  (full/partial = %.1f)\n\n",
		ms(part50), ms(full50), ms(pctl(full, 99)), float64(full50)/float64(max(part50, 1)))
}

func pctl(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := (len(s)*p + 99) / 100
	return s[min(max(i-1, 0), len(s)-1)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
