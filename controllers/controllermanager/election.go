package controllermanager

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/google/uuid"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2"

	"github.com/skiff-dev/skiff/controllers"
)

// leaseNamespace holds the controllers' leader-election Lease, as kube-controller-manager's.
const leaseNamespace = "kube-system"

// election is the controllers' leader election: the Lease, its timings, and what runs while
// it is held.
type election struct {
	lock                                      resourcelock.Interface
	leaseDuration, renewDeadline, retryPeriod time.Duration
	// term runs the controllers of one term until its context ends; each term is a new manager.
	term func(ctx context.Context, n int) error
	// retryAfterLoss is how long to wait between a term's end and the next campaign.
	retryAfterLoss time.Duration
}

// runElected runs the controllers only while this process holds the Lease: a lost Lease
// (a renewal that failed for RenewDeadline, or another holder) stops them and, once every
// controller of the term has ended, the process campaigns again, as a supervisor restarting
// kube-controller-manager would (upstream's exits). It returns when ctx ends (nil) or a term
// fails (its error).
func runElected(ctx context.Context, cfg *rest.Config, c Config) error {
	o := c.Manager
	id := o.LeaderElectionID
	if id == "" {
		id = controllers.DefaultOptions().LeaderElectionID
	}
	// A client of its own: the renewals wait behind no controller's requests.
	lcfg := rest.CopyConfig(cfg)
	lcfg.QPS, lcfg.Burst = -1, 0
	lcfg.Timeout = o.RenewDeadline
	client, err := kubernetes.NewForConfig(rest.AddUserAgent(lcfg, "leader-election"))
	if err != nil {
		return fmt.Errorf("leader election client: %w", err)
	}
	identity, err := os.Hostname()
	if err != nil {
		return fmt.Errorf("leader election identity: %w", err)
	}
	// One identity for every term: a term lost to a slow renewal that the API server did apply
	// is taken back at once by the next campaign (the Lease is this process's), and another
	// holder's is respected until it expires.
	identity += "_" + uuid.NewString()
	broadcaster := record.NewBroadcaster(record.WithContext(ctx))
	defer broadcaster.Shutdown()
	broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: client.CoreV1().Events("")})
	lock, err := resourcelock.New(resourcelock.LeasesResourceLock, leaseNamespace, id, client.CoreV1(), client.CoordinationV1(),
		resourcelock.ResourceLockConfig{Identity: identity, EventRecorder: broadcaster.NewRecorder(scheme.Scheme, corev1.EventSource{Component: id})})
	if err != nil {
		return fmt.Errorf("leader election lock: %w", err)
	}
	// Every term's manager shares one cache: a new term starts on filled caches.
	shared := controllers.NewSharedCache(ctx)
	e := election{lock: lock, leaseDuration: o.LeaseDuration, renewDeadline: o.RenewDeadline, retryPeriod: o.RetryPeriod,
		retryAfterLoss: o.RetryPeriod,
		term: func(ctx context.Context, n int) error {
			tc := c
			tc.Manager.Cache = shared
			// Controller names are checked once a process: later terms run the same controllers.
			tc.SkipNameValidation = c.SkipNameValidation || n > 0
			return runManager(ctx, cfg, tc)
		}}
	return e.run(ctx)
}

// run campaigns, runs a term while elected, and campaigns again after each lost Lease until
// ctx ends.
func (e election) run(ctx context.Context) error {
	log := klog.FromContext(ctx).WithValues("lease", e.lock.Describe(), "identity", e.lock.Identity())
	for n := 0; ; n++ {
		elected, err := e.campaign(ctx, n)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return err
		}
		if elected {
			log.Info("Leader election lost: the controllers stopped, campaigning again", "term", n)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(e.retryAfterLoss):
		}
	}
}

// campaign waits to hold the Lease and runs term n while it does. It returns once the term
// has ended, every controller of it stopped (elected: a term ran), so that two terms never
// overlap. The Lease is released (when still held) only after the term ended, at ctx's end.
func (e election) campaign(ctx context.Context, n int) (elected bool, err error) {
	// The elector's context ends after the term (releasing the Lease then), or when ctx ends
	// before the election is won.
	lctx, stopElector := context.WithCancel(context.WithoutCancel(ctx))
	defer stopElector()
	var (
		mu      sync.Mutex
		running bool // a term started
		closed  bool // the elector returned: no term starts any more
	)
	done := make(chan error, 1)
	stopCampaign := context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		if !running {
			stopElector()
		}
	})
	defer stopCampaign()
	le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock: e.lock, LeaseDuration: e.leaseDuration, RenewDeadline: e.renewDeadline, RetryPeriod: e.retryPeriod,
		ReleaseOnCancel: true, Name: e.lock.Describe(),
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(held context.Context) {
				mu.Lock()
				if closed || lctx.Err() != nil {
					mu.Unlock()
					return
				}
				running = true
				mu.Unlock()
				// The term ends when the Lease is lost (held ends) or ctx ends.
				tctx, cancel := context.WithCancel(held)
				stop := context.AfterFunc(ctx, cancel)
				err := e.term(tctx, n)
				stop()
				cancel()
				done <- err
				// Every controller stopped: the elector may now release the Lease and return.
				stopElector()
			},
			OnStoppedLeading: func() {},
		},
	})
	if err != nil {
		return false, fmt.Errorf("leader election: %w", err)
	}
	le.Run(lctx)
	mu.Lock()
	closed = true
	ran := running
	mu.Unlock()
	if !ran {
		return false, nil
	}
	return true, <-done
}
