package controllers

import (
	"context"
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	chaosv1alpha1 "github.com/skiff-dev/skiff/apis/chaos/v1alpha1"
	"github.com/skiff-dev/skiff/insight/trace"
	"github.com/skiff-dev/skiff/streaminglists"
)

// Options configure the controller manager.
type Options struct {
	// LeaderElection makes only one of several control planes' controllers act; the lease is
	// kube-system/skiff-controller-manager. controllermanager.Start holds it (its election
	// campaigns again after a loss); NewManager's manager itself runs unelected.
	LeaderElection bool
	// LeaderElectionID names the Lease (default skiff-controller-manager).
	LeaderElectionID string
	// MetricsBindAddress serves Prometheus metrics ("0" disables).
	MetricsBindAddress string
	// HealthProbeBindAddress serves /healthz and /readyz ("" or "0" disables).
	HealthProbeBindAddress string
	// LeaseDuration, RenewDeadline and RetryPeriod tune leader election.
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
	// QPS and Burst limit the controllers' API client when its config sets no limit of its
	// own (QPS 0, which client-go takes as 5 requests/s); 0 leaves the config as it is.
	// kube-controller-manager's --kube-api-qps and --kube-api-burst.
	QPS   float32
	Burst int
	// Cache, when set, is the informer cache the manager shares with the managers of the
	// process's other terms (SharedCache); otherwise the manager builds its own.
	Cache *SharedCache
}

// Skiff's client rate limits of the controllers: upstream's 20 and 30 would have the ReplicaSet
// controller create 20 pods a second (issue 17: 50,000 pods from Deployments); the API server's
// priority and fairness, in the same process, protects it instead, as for the scheduler (1000,
// 2000).
const (
	DefaultQPS   = 500
	DefaultBurst = 1000
)

// DefaultOptions are upstream's kube-controller-manager leader-election timings.
func DefaultOptions() Options {
	return Options{
		LeaderElection:     true,
		LeaderElectionID:   "skiff-controller-manager",
		MetricsBindAddress: "0",
		LeaseDuration:      15 * time.Second,
		RenewDeadline:      10 * time.Second,
		RetryPeriod:        2 * time.Second,
		QPS:                DefaultQPS,
		Burst:              DefaultBurst,
	}
}

// NewScheme returns the scheme controllers use: every client-go built-in type and Skiff's own
// kinds (chaos.skiff.dev).
func NewScheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		return nil, fmt.Errorf("building scheme: %w", err)
	}
	if err := chaosv1alpha1.AddToScheme(s); err != nil {
		return nil, fmt.Errorf("building scheme: %w", err)
	}
	return s, nil
}

// NewManager creates a manager for cfg, without leader election of its own (see
// Options.LeaderElection); controllers are added with each package's SetupWithManager.
func NewManager(cfg *rest.Config, o Options) (manager.Manager, error) {
	scheme, err := NewScheme()
	if err != nil {
		return nil, err
	}
	cfg = rest.CopyConfig(cfg)
	if cfg.QPS == 0 && o.QPS != 0 {
		cfg.QPS, cfg.Burst = o.QPS, o.Burst
	}
	cfg.WarningHandler, cfg.WarningHandlerWithContext = nil, ownAPIWarnings{}
	// Writes carry the reconcile's span to the API server (Traced).
	cfg.Wrap(trace.WrapTransport)
	// A streaming list the lagging watch cache refuses becomes a list.
	cfg.Wrap(streaminglists.WrapTransport)
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 scheme,
		Metrics:                metricsserver.Options{BindAddress: o.MetricsBindAddress},
		HealthProbeBindAddress: o.HealthProbeBindAddress,
		// No controller reads managed fields: dropping them from the cache saves a third of
		// a pod's memory (issue 17: 50,000 pods); an update without them keeps the server's.
		Cache: cache.Options{DefaultTransform: cache.TransformStripManagedFields()},
		NewCache: func(cfg *rest.Config, co cache.Options) (cache.Cache, error) {
			return newStoppableCache(cfg, co, o.Cache)
		},
	})
	if err != nil {
		return nil, fmt.Errorf("creating controller manager: %w", err)
	}
	return mgr, nil
}

// Run runs mgr (from NewManager) until ctx ends, as mgr.Start does, except that it also
// returns when ctx ends before the caches synced (stoppableCache).
func Run(ctx context.Context, mgr manager.Manager) error {
	if c, ok := mgr.GetCache().(*stoppableCache); ok {
		defer context.AfterFunc(ctx, c.stop)()
	}
	return mgr.Start(ctx)
}

// newStoppableCache is controller-runtime's cache (shared's, when set), whose wait for its
// informers' sync Run ends with the manager's context (stoppableCache).
func newStoppableCache(cfg *rest.Config, o cache.Options, shared *SharedCache) (cache.Cache, error) {
	var c cache.Cache
	var err error
	if shared != nil {
		c, err = shared.forTerm(cfg, o)
	} else {
		c, err = cache.New(cfg, o)
	}
	if err != nil {
		return nil, err
	}
	stopped, stop := context.WithCancel(context.Background())
	return &stoppableCache{Cache: c, stopped: stopped, stop: stop}, nil
}

// stoppableCache reports its caches synced once the manager's context ended (Run), as well as
// when they synced. The manager (controller-runtime v0.25) waits for that report, with a
// context of its own, in a loop that does not end with the manager's context: a manager
// stopped before its caches synced spun a core and never returned
// (kubernetes-sigs/controller-runtime#3440). That happened at scale (issue 17): stopping skiff
// up while a new leader-election term's controllers still listed 50,000 pods hung the process,
// and a Lease lost then would have kept the next term from starting. A controller's source
// that reads the report after the end still fails, on its own handler's sync.
type stoppableCache struct {
	cache.Cache
	// stopped ends when Run's context does (stop).
	stopped context.Context
	stop    context.CancelFunc
}

func (c *stoppableCache) WaitForCacheSync(ctx context.Context) bool {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(c.stopped, cancel)()
	return c.Cache.WaitForCacheSync(ctx) || c.stopped.Err() != nil
}

// ownAPIWarnings logs the API's warnings to the controllers' clients, except the deprecation
// warnings of the kinds the controllers keep on purpose (v1 Endpoints, as upstream's endpoints
// controller does): a user should not see "v1 Endpoints is deprecated" every few seconds.
type ownAPIWarnings struct{}

func (ownAPIWarnings) HandleWarningHeaderWithContext(ctx context.Context, code int, agent string, text string) {
	if code != 299 || len(text) == 0 || isOwnDeprecation(text) {
		return
	}
	klog.FromContext(ctx).Info("API warning", "warning", text)
}

// isOwnDeprecation reports whether a warning is the deprecation warning of a kind Skiff's
// controllers use on purpose.
func isOwnDeprecation(text string) bool {
	return strings.HasPrefix(text, "v1 Endpoints is deprecated")
}
