package proxy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/knftables"

	"github.com/skiff-dev/skiff/apiserver/apiservertest"
	"github.com/skiff-dev/skiff/nodeagent/nftrules"
	"github.com/skiff-dev/skiff/test/poll"
)

// TestChangesCoalesce: a burst of EndpointSlice updates is written in a few transactions (at
// most one per MinSyncInterval), not one per update, and the last state is what the table
// holds.
func TestChangesCoalesce(t *testing.T) {
	srv := apiservertest.Start(t)
	c := srv.Client
	fake := knftables.NewFake(knftables.IPv4Family, DefaultTableName)
	createService(t, c, "web", "10.96.200.10")
	slice := createSlice(t, c, "web", []int32{8080})

	var syncs atomic.Int32
	p, err := New(Config{NodeName: "node-a", Client: c, NFTables: fake, MinSyncInterval: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	p.afterSync = func(bool, time.Duration, *nftrules.Ruleset, []time.Time) { syncs.Add(1) }
	_, stop := startProxierP(t, p)
	defer stop()
	hasChain := func(chain string) bool {
		chains, _ := fake.List(context.Background(), "chains")
		return slices.Contains(chains, chain)
	}
	epChain := func(port int32) string {
		return chainName("endpoint", "default/web/tcp/http__"+podIP+"/"+fmt.Sprint(port))
	}
	hasEndpoint := func(port int32) func() error {
		return func() error {
			if !hasChain(epChain(port)) {
				return errors.New("no chain " + epChain(port))
			}
			return nil
		}
	}
	poll.Until(t, 10*time.Second, "first sync", hasEndpoint(8080))
	before := syncs.Load()

	const updates = 10
	for i := 1; i <= updates; i++ {
		setEndpoints(slice, []int32{int32(8080 + i)})
		var err error
		if slice, err = c.DiscoveryV1().EndpointSlices("default").Update(context.Background(), slice, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	poll.Until(t, 10*time.Second, "last update programmed", hasEndpoint(8080+updates))
	if n := syncs.Load() - before; n > updates/2 {
		t.Errorf("%d updates took %d syncs; want them coalesced", updates, n)
	}
	if hasChain(epChain(8080)) {
		t.Errorf("the first endpoint's chain is still there")
	}
}

// startProxierP runs an already made Proxier until stop.
func startProxierP(t *testing.T, p *Proxier) (*Proxier, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Start(ctx) }()
	var stopped atomic.Bool
	stop := func() {
		if stopped.Swap(true) {
			return
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("proxier: %v", err)
		}
	}
	t.Cleanup(stop)
	return p, stop
}
