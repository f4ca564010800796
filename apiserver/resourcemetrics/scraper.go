package resourcemetrics

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
)

// DefaultResolution is how often nodes are scraped (metrics-server's --metric-resolution).
const DefaultResolution = 15 * time.Second

// DefaultWorkers is how many nodes are scraped at once. All 5,000 nodes at once (issue 17) had
// most of them time out under load and their connections dropped: every round then paid a TLS
// handshake a node, on both ends.
const DefaultWorkers = 32

// maxBody bounds what one node's /metrics/resource may send.
const maxBody = 16 << 20

// Config configures a Scraper.
type Config struct {
	// Nodes lists the cluster's nodes (the API server's node informer).
	Nodes func() ([]*corev1.Node, error)
	// Connect returns a node agent's base URL and the transport to reach it (the API server's
	// node client, registry/core/node.Connector).
	Connect func(ctx context.Context, nodeName string) (*url.URL, http.RoundTripper, error)
	// Store receives every round's points.
	Store *Store
	// Resolution is the time between rounds (DefaultResolution when 0); Timeout bounds one
	// node's scrape (10 s, or the resolution when shorter, when 0).
	Resolution, Timeout time.Duration
	// Workers is how many nodes are scraped at once (DefaultWorkers when 0).
	Workers int
	// Clock paces the rounds and stamps series without timestamps (the real clock when nil).
	Clock clock.WithTicker
}

// Scraper scrapes every Ready node's /metrics/resource into a Store, every resolution.
type Scraper struct{ cfg Config }

// NewScraper checks cfg and fills in its defaults.
func NewScraper(cfg Config) (*Scraper, error) {
	if cfg.Nodes == nil || cfg.Connect == nil || cfg.Store == nil {
		return nil, fmt.Errorf("resource metrics scraper needs nodes, a node client and a store")
	}
	if cfg.Resolution <= 0 {
		cfg.Resolution = DefaultResolution
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = min(10*time.Second, cfg.Resolution)
	}
	if cfg.Workers <= 0 {
		cfg.Workers = DefaultWorkers
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	registerMetrics()
	return &Scraper{cfg: cfg}, nil
}

// Start scrapes at once, then every resolution, until ctx ends.
func (s *Scraper) Start(ctx context.Context) error {
	ticker := s.cfg.Clock.NewTicker(s.cfg.Resolution)
	defer ticker.Stop()
	for {
		s.ScrapeOnce(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C():
		}
	}
}

// Targets are the nodes to scrape: those whose Ready condition is True, by name.
func Targets(nodes []*corev1.Node) []string {
	var out []string
	for _, n := range nodes {
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
				out = append(out, n.Name)
				break
			}
		}
	}
	slices.Sort(out)
	return out
}

// ScrapeOnce scrapes every Ready node, Workers at a time, and stores the round; a node that
// fails is left out of it (its points are forgotten, as metrics-server's).
func (s *Scraper) ScrapeOnce(ctx context.Context) {
	log := klog.FromContext(ctx)
	nodes, err := s.cfg.Nodes()
	if err != nil {
		log.Error(err, "Listing nodes to scrape")
		return
	}
	targets := Targets(nodes)
	batch := NewBatch()
	var mu sync.Mutex
	var wg sync.WaitGroup
	slots := make(chan struct{}, s.cfg.Workers)
	for _, name := range targets {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			start := s.cfg.Clock.Now()
			b, err := s.scrape(ctx, name)
			requestDuration.WithLabelValues(name).Observe(s.cfg.Clock.Since(start).Seconds())
			requestTotal.WithLabelValues(strconv.FormatBool(err == nil)).Inc()
			if err != nil {
				log.V(2).Info("Scraping a node's resource metrics failed", "node", name, "err", err)
				return
			}
			mu.Lock()
			batch.Merge(b)
			mu.Unlock()
		})
	}
	wg.Wait()
	if ctx.Err() != nil {
		return
	}
	s.cfg.Store.Store(batch)
	log.V(4).Info("Scraped resource metrics", "nodes", len(targets), "nodePoints", len(batch.Nodes), "podPoints", len(batch.Pods))
}

// scrape reads one node's /metrics/resource.
func (s *Scraper) scrape(ctx context.Context, node string) (*Batch, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	base, rt, err := s.cfg.Connect(ctx, node)
	if err != nil {
		return nil, fmt.Errorf("reaching node %s: %w", node, err)
	}
	u := *base
	u.Path = "/metrics/resource"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("scraping node %s: %w", node, err)
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return nil, fmt.Errorf("scraping node %s: %w", node, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, fmt.Errorf("scraping node %s: %w", node, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("scraping node %s: %s: %.200s", node, resp.Status, body)
	}
	return Decode(body, node, s.cfg.Clock.Now())
}
