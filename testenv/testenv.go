package testenv

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	appsv1 "k8s.io/api/apps/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	policyv1 "k8s.io/api/policy/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/skiff-dev/skiff/apiserver"
	"github.com/skiff-dev/skiff/apiserver/apiservertest"
	skiffcrd "github.com/skiff-dev/skiff/config/crd"
	"github.com/skiff-dev/skiff/controllers"
	"github.com/skiff-dev/skiff/controllers/controllermanager"
	"github.com/skiff-dev/skiff/controllers/garbagecollector"
	"github.com/skiff-dev/skiff/insight/scheddiag"
	"github.com/skiff-dev/skiff/insight/trace"
	"github.com/skiff-dev/skiff/nodeagent/faults"
	"github.com/skiff-dev/skiff/nodeagent/simulated"
	"github.com/skiff-dev/skiff/streaminglists"
)

// logOnce sends controller-runtime's logs (the controllers', the manager's) to klog, once per
// process; a test may set its own logger after Start.
var logOnce sync.Once

// Env is a running test cluster. Its fields are read-only.
type Env struct {
	// Config reaches the API server as a system:masters user (no client-side rate limit).
	Config *rest.Config
	// Clientset is a client-go clientset for Config.
	Clientset *kubernetes.Clientset
	// Kubeconfig is the admin kubeconfig's path, for kubectl or programs run by the test.
	Kubeconfig string
	// DataDir holds etcd's data, the PKI and the kubeconfigs; it is removed when the test ends.
	DataDir string
	// CRDs are the installed CustomResourceDefinitions, as the server returned them: Skiff's own
	// kinds (with controllers) first, then those given with WithCRDs and WithCRDObjects.
	CRDs []*apiextensionsv1.CustomResourceDefinition
	// Nodes are the names of the simulated nodes (sim-0, sim-1, ...).
	Nodes []string
	// Phases is how long each start phase took, in order ("api", "crds", "controllers", "nodes").
	Phases []Phase
	// Traces holds the spans the API server, the controllers and the simulated nodes recorded
	// (WithTracing), as /insight/v1/traces answers from them; nil without tracing.
	Traces *trace.Store

	controllers bool
	stop        func()
}

// Phase is one timed part of Start.
type Phase struct {
	Name     string
	Duration time.Duration
}

// Option configures Start.
type Option func(*options)

type options struct {
	crdPaths       []string
	crds           []*apiextensionsv1.CustomResourceDefinition
	nodes          int
	noControllers  bool
	controllers    func(*controllermanager.Config)
	nodeConfig     func(*simulated.Config)
	waitTimeout    time.Duration
	gcResyncPeriod time.Duration
	apiServer      func(*apiserver.Options)
	// diagnoses carries the scheduler's diagnoses to the API server's /insight/v1/why, as in
	// `skiff up`.
	diagnoses *scheddiag.Store
	tracing   bool
}

// WithCRDs installs the CustomResourceDefinitions in the given YAML or JSON files, or in the
// .yaml, .yml and .json files of the given directories (not recursive); documents of other kinds
// are skipped. Start waits until each is Established and its versions are served.
func WithCRDs(paths ...string) Option {
	return func(o *options) { o.crdPaths = append(o.crdPaths, paths...) }
}

// WithCRDObjects installs the given CustomResourceDefinitions, as WithCRDs.
func WithCRDObjects(crds ...*apiextensionsv1.CustomResourceDefinition) Option {
	return func(o *options) { o.crds = append(o.crds, crds...) }
}

// WithSimulatedNodes registers n simulated nodes (sim-0 ... sim-<n-1>): Ready Nodes that renew
// their Leases and mark the Pods bound to them Running, without running containers.
func WithSimulatedNodes(n int) Option {
	return func(o *options) { o.nodes = n }
}

// WithSimulatedNodeConfig adjusts every simulated node's configuration (labels, taints,
// allocatable, lease timings) before it starts.
func WithSimulatedNodeConfig(f func(*simulated.Config)) Option {
	return func(o *options) { o.nodeConfig = f }
}

// WithoutControllers serves the API alone, as envtest does: nothing reconciles.
func WithoutControllers() Option {
	return func(o *options) { o.noControllers = true }
}

// WithControllerConfig adjusts the controllers' configuration (node monitor timings, garbage
// collector settings) before they start.
func WithControllerConfig(f func(*controllermanager.Config)) Option {
	return func(o *options) { o.controllers = f }
}

// WithAPIServerOptions adjusts the API server's options (admission, service ranges) before
// it starts; the data dir and ports are already set.
func WithAPIServerOptions(f func(*apiserver.Options)) Option {
	return func(o *options) { o.apiServer = f }
}

// WithTracing records spans as `skiff up` does (insight/trace): the API server's, the
// controllers' and the simulated nodes' work, kept in Env.Traces and served at
// /insight/v1/traces. It sets OpenTelemetry's global TracerProvider and propagator for the
// test (restored when it ends): tests using it must not run in parallel.
func WithTracing() Option {
	return func(o *options) { o.tracing = true }
}

// WithTimeout bounds each wait of Start (default 60 s).
func WithTimeout(d time.Duration) Option {
	return func(o *options) { o.waitTimeout = d }
}

// Start brings a cluster up for the test and stops it when the test ends; it fails the test
// (t.Fatal) when any part cannot start. It returns once the API is ready (every post-start
// hook done), the CRDs are Established and served, the controllers' shared caches have synced
// and the controllers have started, and the simulated nodes are Ready. The garbage collector
// builds its own graph in the background; it acts on what exists when it is done, so nothing
// is missed.
func Start(t testing.TB, opts ...Option) *Env {
	t.Helper()
	streaminglists.Enable() // as skiff's main: informers list by streaming
	o := options{waitTimeout: 60 * time.Second, gcResyncPeriod: time.Second}
	for _, opt := range opts {
		opt(&o)
	}
	if o.nodes < 0 {
		t.Fatalf("testenv: %d simulated nodes: need zero or more", o.nodes)
	}
	crds, err := loadCRDs(o.crdPaths)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	crds = append(crds, o.crds...)
	if !o.noControllers {
		// Skiff's own kinds (chaos.skiff.dev Faults, ...), as skiff up installs them: their
		// controllers start only when the kinds are served.
		own, err := skiffcrd.CRDs()
		if err != nil {
			t.Fatalf("testenv: %v", err)
		}
		crds = append(own, crds...)
	}

	logOnce.Do(func() { ctrllog.SetLogger(klog.Background()) })
	began := time.Now()
	dataDir := t.TempDir()
	if err := seedPKI(dataDir); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	o.diagnoses = scheddiag.NewStore(0)
	var tp *trace.Provider
	if o.tracing {
		if tp, err = trace.New(context.Background(), trace.Options{}); err != nil {
			t.Fatalf("testenv: %v", err)
		}
		prevProvider, prevPropagator := otel.GetTracerProvider(), otel.GetTextMapPropagator()
		otel.SetTracerProvider(tp)
		otel.SetTextMapPropagator(propagation.TraceContext{})
		t.Cleanup(func() {
			otel.SetTracerProvider(prevProvider)
			otel.SetTextMapPropagator(prevPropagator)
		})
	}
	srv := apiservertest.StartOnWith(t, dataDir, func(ao *apiserver.Options) {
		ao.SchedulerDiagnoses = o.diagnoses
		ao.Tracing = tp
		// As a real cluster: pods get their namespace's default ServiceAccount (the
		// serviceaccount controller creates it), unless the API runs alone.
		ao.DisableServiceAccountAdmission = o.noControllers
		if o.apiServer != nil {
			o.apiServer(ao)
		}
	})
	keepPKI(dataDir)
	env := &Env{Config: srv.Config, Clientset: srv.Client, Kubeconfig: srv.Kubeconfig, DataDir: srv.DataDir, controllers: !o.noControllers}
	if tp != nil {
		env.Traces = tp.Store
	}
	env.phase("api", &began)

	ctx, cancel := context.WithCancel(context.Background())
	ctx = klog.NewContext(ctx, klog.Background().WithName("testenv"))
	var wg sync.WaitGroup
	var runErrMu sync.Mutex
	var runErrs []error
	// failed receives the first error of a component that stopped early.
	failed := make(chan error, 1)
	run := func(name string, f func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(ctx); err != nil && ctx.Err() == nil {
				err = fmt.Errorf("%s: %w", name, err)
				runErrMu.Lock()
				runErrs = append(runErrs, err)
				runErrMu.Unlock()
				select {
				case failed <- err:
				default:
				}
			}
		}()
	}
	var stopped bool
	env.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Errorf("testenv: controllers or nodes did not stop within 30s")
		}
		runErrMu.Lock()
		defer runErrMu.Unlock()
		for _, err := range runErrs {
			t.Errorf("testenv: %v", err)
		}
		srv.Stop()
	}
	// Registered after the API server's cleanup, so it runs first: nodes and controllers stop
	// before the API server does.
	t.Cleanup(env.stop)
	fail := func(format string, args ...any) {
		t.Helper()
		env.stop()
		t.Fatalf("testenv: "+format, args...)
	}

	waitCtx, waitCancel := context.WithTimeout(ctx, o.waitTimeout)
	defer waitCancel()
	if len(crds) > 0 {
		installed, err := installCRDs(waitCtx, env.Config, crds)
		if err != nil {
			fail("%v", err)
		}
		env.CRDs = installed
	}
	env.phase("crds", &began)

	if !o.noControllers {
		elected, err := startControllers(ctx, env.Config, o, run)
		if err != nil {
			fail("%v", err)
		}
		select {
		case <-elected:
		case err := <-failed:
			fail("%v", err)
		case <-waitCtx.Done():
			fail("controllers not started within %v", o.waitTimeout)
		}
	}
	env.phase("controllers", &began)

	if o.nodes > 0 {
		if err := startNodes(ctx, waitCtx, env, o, run); err != nil {
			fail("%v", err)
		}
	}
	env.phase("nodes", &began)
	return env
}

func (e *Env) phase(name string, began *time.Time) {
	now := time.Now()
	e.Phases = append(e.Phases, Phase{Name: name, Duration: now.Sub(*began)})
	*began = now
}

// Stop stops everything now instead of at the end of the test (the data dir stays until then).
func (e *Env) Stop() { e.stop() }

// Client returns a controller-runtime client for the cluster with the given scheme options
// (default: client-go's built-in kinds).
func (e *Env) Client(opts client.Options) (client.Client, error) {
	c, err := client.New(e.Config, opts)
	if err != nil {
		return nil, fmt.Errorf("testenv: client: %w", err)
	}
	return c, nil
}

// Namespace creates a namespace with a generated name for the test and returns its name; with
// controllers, once its default ServiceAccount exists (pods are admitted from then on).
func (e *Env) Namespace(t testing.TB) string {
	t.Helper()
	ns, err := e.Clientset.CoreV1().Namespaces().Create(context.Background(),
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "test-"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("testenv: creating a namespace: %v", err)
	}
	if e.controllers {
		// Pods are admitted once the namespace's default ServiceAccount exists.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		err := poll(ctx, func() (bool, error) {
			_, err := e.Clientset.CoreV1().ServiceAccounts(ns.Name).Get(ctx, "default", metav1.GetOptions{})
			return err == nil, nil
		})
		if err != nil {
			t.Fatalf("testenv: no default ServiceAccount in namespace %s: %v", ns.Name, err)
		}
	}
	return ns.Name
}

// warmInformers are the kinds the controllers read through the manager's cache: registered
// before the manager starts, so that it waits for their initial lists before starting the
// controllers, and Start returns with synced caches.
func warmInformers() []client.Object {
	return []client.Object{
		&corev1.Pod{}, &corev1.Node{}, &corev1.Namespace{}, &corev1.Service{}, &corev1.Endpoints{},
		&appsv1.ReplicaSet{}, &appsv1.Deployment{}, &discoveryv1.EndpointSlice{},
		&coordinationv1.Lease{}, &certificatesv1.CertificateSigningRequest{}, &policyv1.PodDisruptionBudget{},
	}
}

// startControllers runs every Skiff controller in one manager without leader election; the
// returned channel closes once the manager's caches have synced and the controllers started.
func startControllers(ctx context.Context, cfg *rest.Config, o options, run func(string, func(context.Context) error)) (<-chan struct{}, error) {
	c := controllermanager.DefaultConfig()
	c.Manager.LeaderElection = false
	c.Manager.MetricsBindAddress = "0"
	c.SkipNameValidation = true
	c.GarbageCollector = garbagecollector.Config{ResyncPeriod: o.gcResyncPeriod}
	c.SchedulerDiagnoses = o.diagnoses
	if o.controllers != nil {
		o.controllers(&c)
	}
	mgr, err := controllers.NewManager(cfg, c.Manager)
	if err != nil {
		return nil, err
	}
	if err := controllermanager.Setup(mgr, c); err != nil {
		return nil, err
	}
	for _, obj := range warmInformers() {
		if _, err := mgr.GetCache().GetInformer(ctx, obj, cache.BlockUntilSynced(false)); err != nil {
			return nil, fmt.Errorf("informer for %T: %w", obj, err)
		}
	}
	run("controller manager", func(ctx context.Context) error { return controllers.Run(ctx, mgr) })
	return mgr.Elected(), nil
}

// startNodes runs the simulated nodes and waits until each Node is registered and Ready.
func startNodes(ctx, waitCtx context.Context, env *Env, o options, run func(string, func(context.Context) error)) error {
	cfg := rest.CopyConfig(env.Config)
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("node client: %w", err)
	}
	// With the controllers (and so the chaos.skiff.dev Fault kind), the nodes honour
	// NodeHeartbeat Faults, as skiff up's simulated nodes do; one watcher serves them all.
	var fw *faults.Watcher
	if env.controllers {
		if fw, err = faults.NewWatcherForConfig(cfg); err != nil {
			return err
		}
	}
	for i := 0; i < o.nodes; i++ {
		nc := simulated.Config{Name: fmt.Sprintf("sim-%d", i), Client: cs, PodCIDR: fmt.Sprintf("10.244.%d.0/24", i%256), Faults: fw}
		if o.nodeConfig != nil {
			o.nodeConfig(&nc)
		}
		node, err := simulated.New(nc)
		if err != nil {
			return fmt.Errorf("simulated node %s: %w", nc.Name, err)
		}
		env.Nodes = append(env.Nodes, nc.Name)
		run("simulated node "+nc.Name, node.Start)
	}
	for _, name := range env.Nodes {
		err := poll(waitCtx, func() (bool, error) {
			n, err := env.Clientset.CoreV1().Nodes().Get(waitCtx, name, metav1.GetOptions{})
			if err != nil {
				return false, nil
			}
			for _, c := range n.Status.Conditions {
				if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
					return true, nil
				}
			}
			return false, nil
		})
		if err != nil {
			return fmt.Errorf("simulated node %s not Ready: %w", name, err)
		}
	}
	return nil
}

// poll calls cond every 10 ms until it is true, fails, or ctx ends.
func poll(ctx context.Context, cond func() (bool, error)) error {
	for {
		ok, err := cond()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return errors.New("timed out")
		case <-time.After(10 * time.Millisecond):
		}
	}
}
