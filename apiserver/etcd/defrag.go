package etcd

import (
	"context"
	"time"

	"k8s.io/component-base/metrics"
	"k8s.io/component-base/metrics/legacyregistry"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
)

// DefragPolicy decides when the member's database file is defragmented: etcd never gives the
// pages of compacted revisions back to the file system on its own, so after a burst the file
// keeps its peak size (and etcd's quota counts it).
type DefragPolicy struct {
	// Interval is how often the sizes are checked (default 10 minutes).
	Interval time.Duration
	// MinFree and FreeRatio: defragment when at least MinFree bytes and more than FreeRatio of
	// the file are free (defaults 64 MiB and 0.5, the rule of etcd-defrag's --compaction and
	// upstream's operations guide).
	MinFree   int64
	FreeRatio float64
}

func (p DefragPolicy) withDefaults() DefragPolicy {
	if p.Interval <= 0 {
		p.Interval = 10 * time.Minute
	}
	if p.MinFree <= 0 {
		p.MinFree = 64 << 20
	}
	if p.FreeRatio <= 0 {
		p.FreeRatio = 0.5
	}
	return p
}

// ShouldDefrag applies the policy to a file of total bytes of which inUse hold live pages.
func (p DefragPolicy) ShouldDefrag(total, inUse int64) bool {
	p = p.withDefaults()
	free := total - inUse
	return free >= p.MinFree && float64(free) > p.FreeRatio*float64(total)
}

var (
	dbSize = metrics.NewGauge(&metrics.GaugeOpts{Name: "skiff_etcd_db_total_size_in_bytes",
		Help: "Size of the embedded etcd member's database file (etcd's etcd_mvcc_db_total_size_in_bytes).", StabilityLevel: metrics.ALPHA})
	dbInUse = metrics.NewGauge(&metrics.GaugeOpts{Name: "skiff_etcd_db_total_size_in_use_in_bytes",
		Help: "Bytes of the embedded etcd member's database file in use (the rest is free after compaction until a defragmentation).", StabilityLevel: metrics.ALPHA})
	defrags = metrics.NewCounterVec(&metrics.CounterOpts{Name: "skiff_etcd_defragmentations_total",
		Help: "Defragmentations of the embedded etcd member's database, by result.", StabilityLevel: metrics.ALPHA}, []string{"result"})
)

func init() {
	legacyregistry.MustRegister(dbSize, dbInUse, defrags)
}

// Sizes returns the member's database file size and the bytes of it in use.
func (s *Server) Sizes() (total, inUse int64) {
	be := s.etcd.Server.Backend()
	return be.Size(), be.SizeInUse()
}

// RunDefrag reports the database sizes and defragments the member by the policy until ctx ends.
// A defragmentation blocks the member's reads and writes while it copies the live pages (about a
// second per few hundred MiB), so it runs only when at least half the file is free.
func (s *Server) RunDefrag(ctx context.Context, p DefragPolicy, clk clock.WithTicker) {
	p = p.withDefaults()
	t := clk.NewTicker(p.Interval)
	defer t.Stop()
	for {
		total, inUse := s.Sizes()
		dbSize.Set(float64(total))
		dbInUse.Set(float64(inUse))
		if p.ShouldDefrag(total, inUse) {
			start := clk.Now()
			if err := s.etcd.Server.Backend().Defrag(); err != nil {
				defrags.WithLabelValues("error").Inc()
				klog.ErrorS(err, "Defragmenting the etcd database")
			} else {
				defrags.WithLabelValues("success").Inc()
				after, afterInUse := s.Sizes()
				klog.InfoS("Defragmented the etcd database", "before", total, "after", after, "inUse", afterInUse, "took", clk.Since(start))
				dbSize.Set(float64(after))
				dbInUse.Set(float64(afterInUse))
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		}
	}
}
