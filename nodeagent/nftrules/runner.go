package nftrules

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"time"

	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
)

// Runner runs a sync function when asked, at most once per MinInterval (requests meanwhile
// are coalesced into the next sync), fully every FullInterval, and again after failures with
// a backoff (100ms doubling up to 10s).
type Runner struct {
	clock        clock.Clock
	minInterval  time.Duration
	fullInterval time.Duration
	trigger      chan struct{}
}

// NewRunner returns a Runner on clk (nil: the real clock).
func NewRunner(clk clock.Clock, minInterval, fullInterval time.Duration) *Runner {
	if clk == nil {
		clk = clock.RealClock{}
	}
	return &Runner{clock: clk, minInterval: minInterval, fullInterval: fullInterval, trigger: make(chan struct{}, 1)}
}

// Request asks for a sync; it never blocks.
func (r *Runner) Request() {
	select {
	case r.trigger <- struct{}{}:
	default:
	}
}

// Run syncs once at once, then on requests, until ctx ends. sync's full says that everything
// is to be rewritten; failed sees each failure with the delay before the retry.
func (r *Runner) Run(ctx context.Context, sync func(ctx context.Context, full bool) error, failed func(err error, retryIn time.Duration)) {
	var lastSync time.Time
	nextFull := r.clock.Now()
	retry := time.Duration(0)
	r.Request()
	for {
		var retryC <-chan time.Time
		if retry > 0 {
			retryC = r.clock.After(retry)
		}
		select {
		case <-ctx.Done():
			return
		case <-r.trigger:
		case <-retryC:
		case <-r.clock.After(nextFull.Sub(r.clock.Now())):
		}
		// Coalesce: at most one sync per minInterval.
		if wait := lastSync.Add(r.minInterval).Sub(r.clock.Now()); wait > 0 {
			select {
			case <-ctx.Done():
				return
			case <-r.clock.After(wait):
			}
		}
		// Drain a trigger that arrived meanwhile: this sync covers it.
		select {
		case <-r.trigger:
		default:
		}
		full := !r.clock.Now().Before(nextFull)
		lastSync = r.clock.Now()
		if err := sync(ctx, full); err != nil {
			if ctx.Err() != nil {
				return
			}
			retry = min(max(2*retry, 100*time.Millisecond), 10*time.Second)
			failed(err, retry)
			continue
		}
		retry = 0
		if full {
			nextFull = r.clock.Now().Add(r.fullInterval)
		}
	}
}

// ConfigureHost makes bridged pod traffic pass through netfilter (so that the service
// proxy's replies of a pod to a pod on the same bridge are un-DNATed, and NetworkPolicies
// see traffic between the pods of one bridge) and the node forward packets. Failures are
// logged: the caller still does what it can.
func ConfigureHost(ctx context.Context) {
	log := klog.FromContext(ctx)
	const brnf = "/proc/sys/net/bridge/bridge-nf-call-iptables"
	if _, err := os.Stat(brnf); err != nil {
		if out, err := exec.CommandContext(ctx, "modprobe", "br_netfilter").CombinedOutput(); err != nil {
			log.Info("Could not load br_netfilter: traffic between pods of one bridge bypasses nftables", "err", err, "output", strings.TrimSpace(string(out)))
		}
	}
	for _, f := range []string{brnf, "/proc/sys/net/ipv4/ip_forward"} {
		b, err := os.ReadFile(f)
		if err == nil && strings.TrimSpace(string(b)) == "1" {
			continue
		}
		if err := os.WriteFile(f, []byte("1"), 0o644); err != nil {
			log.Info("Could not set a sysctl pod networking needs", "sysctl", f, "err", err)
		}
	}
}
