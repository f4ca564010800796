package proxy

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	oteltrace "go.opentelemetry.io/otel/trace"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
	"sigs.k8s.io/knftables"

	"github.com/skiff-dev/skiff/apis/helper"
	"github.com/skiff-dev/skiff/insight/trace"
	"github.com/skiff-dev/skiff/insight/watchtrace"
	"github.com/skiff-dev/skiff/nodeagent/nftrules"
)

// tableComment is the comment of the proxy's table.
const tableComment = "rules for Skiff's service proxy"

// DefaultTableName is the proxy's nftables table (family ip) when Config.TableName is empty.
const DefaultTableName = "skiff-proxy"

// Defaults of Config.
const (
	DefaultMinSyncInterval  = 50 * time.Millisecond
	DefaultFullSyncInterval = 5 * time.Minute
)

// Labels and annotations the proxy reads, as upstream's.
const (
	labelServiceName      = discoveryv1.LabelServiceName
	labelServiceProxyName = "service.kubernetes.io/service-proxy-name"
	// LastChangeTriggerTimeAnnotation on an EndpointSlice is when the change it carries
	// happened; the network programming latency is measured from it.
	LastChangeTriggerTimeAnnotation = corev1.EndpointsLastChangeTriggerTime
)

// TableNameFor is the table of the proxy of node nodeName: several Skiff nodes can share one
// machine (and its network namespace), and each programs a table of its own.
func TableNameFor(nodeName string) string { return nftrules.TableName(DefaultTableName, nodeName) }

// Config configures a Proxier.
type Config struct {
	// NodeName is this node: endpoints on it are local (traffic policies Local).
	NodeName string
	// Client watches Services and EndpointSlices.
	Client kubernetes.Interface
	// PodCIDRs are the sources counted as in-cluster traffic (upstream's detect-local-mode
	// NodeCIDR): traffic from elsewhere to a ClusterIP is masqueraded. Empty: none is.
	PodCIDRs []string
	// ServiceCIDRs, when set, make traffic to their unallocated addresses drop.
	ServiceCIDRs []string
	// NodePortAddresses restricts NodePorts to local addresses in these CIDRs; empty: all
	// local addresses but 127.0.0.0/8.
	NodePortAddresses []string
	// NodeIPs are this node's addresses (upstream's --node-ip): a Service's
	// loadBalancerSourceRanges entry holding one of them also admits its load balancer IPs as
	// sources, for a node that has the LB IP as a local address. Optional.
	NodeIPs []string
	// Conntrack clears stale UDP conntrack entries after the syncs that change a UDP service's
	// serving endpoints or remove it (a client would otherwise keep sending to the endpoint
	// that is gone until its entry times out). Nil: the kernel's through netlink when
	// NFTables is nil too; none when NFTables is given (it may act in another network
	// namespace), unless set.
	Conntrack Conntrack
	// TableName is the nftables table (family ip); default DefaultTableName.
	TableName string
	// NFTables runs the nft commands; nil: the system's nft on TableName.
	NFTables knftables.Interface
	// MinSyncInterval is the shortest time between two syncs: changes within it are
	// coalesced into one transaction. Default DefaultMinSyncInterval.
	MinSyncInterval time.Duration
	// FullSyncInterval is how often everything is rewritten even without changes (repairing
	// anything changed behind the proxy's back). Default DefaultFullSyncInterval.
	FullSyncInterval time.Duration
	// ConfigureHost makes Start load br_netfilter and set the sysctls service traffic needs
	// (net.bridge.bridge-nf-call-iptables, net.ipv4.ip_forward).
	ConfigureHost bool
	// CleanupOnExit removes the table when Start returns. Off, the rules outlive the proxy so
	// that a restart has no gap (as kube-proxy); on, nothing is left behind by a cluster that
	// stops for good (`skiff up`, whose API server stops with it).
	CleanupOnExit bool
	// Registerer gets the proxy's metrics; nil: a registry of its own (Proxier.Registry).
	Registerer prometheus.Registerer
	// Clock paces the syncs; nil is the real clock.
	Clock clock.Clock
	// TracerProvider records the syncs that program rules for pods whose endpoints changed
	// (insight/trace); nil is OpenTelemetry's global provider.
	TracerProvider oteltrace.TracerProvider
}

// Proxier programs the node's service rules.
type Proxier struct {
	cfg     Config
	gen     genConfig
	nft     knftables.Interface
	clock   clock.Clock
	metrics *Metrics
	// Registry holds the metrics when Config.Registerer was nil.
	Registry *prometheus.Registry

	runner *nftrules.Runner

	mu       sync.Mutex
	triggers []time.Time // last-change-trigger-times of changes not yet synced
	started  time.Time

	svcLister    corelisters.ServiceLister
	sliceIndexer cache.Indexer

	// applied is what the last successful sync wrote; nil forces a full sync.
	applied   *nftrules.Ruleset
	conntrack Conntrack
	// udpCleaned is the UDP state conntrack was last cleaned for; nil before the first time.
	udpCleaned *udpState
	tracer     oteltrace.Tracer
	// tracedPods are the pods' endpoints as of the last successful sync with tracing on: the
	// next sync's span names the pods whose endpoints differ.
	tracedPods map[types.UID]helper.PodEndpoint
	// afterSync, when set (tests, benchmarks), sees each successful sync.
	afterSync func(full bool, took time.Duration, want *nftrules.Ruleset, triggers []time.Time)
}

func parseCIDRs(field string, in []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range in {
		p, err := netip.ParsePrefix(strings.TrimSpace(s))
		if err != nil {
			return nil, fmt.Errorf("proxy config: %s: %w", field, err)
		}
		if !p.Addr().Is4() {
			continue // the proxy programs IPv4 only
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// New checks cfg and prepares a Proxier; Start runs it.
func New(cfg Config) (*Proxier, error) {
	if cfg.Client == nil {
		return nil, errors.New("proxy config: Client is required")
	}
	var gen genConfig
	var err error
	if gen.localCIDRs, err = parseCIDRs("PodCIDRs", cfg.PodCIDRs); err != nil {
		return nil, err
	}
	if gen.serviceCIDRs, err = parseCIDRs("ServiceCIDRs", cfg.ServiceCIDRs); err != nil {
		return nil, err
	}
	if gen.nodePortAddresses, err = parseCIDRs("NodePortAddresses", cfg.NodePortAddresses); err != nil {
		return nil, err
	}
	for _, s := range cfg.NodeIPs {
		a, err := netip.ParseAddr(strings.TrimSpace(s))
		if err != nil {
			return nil, fmt.Errorf("proxy config: NodeIPs: %w", err)
		}
		if a.Is4() {
			gen.nodeIPs = append(gen.nodeIPs, a)
		}
	}
	if cfg.TableName == "" {
		cfg.TableName = DefaultTableName
	}
	if cfg.MinSyncInterval <= 0 {
		cfg.MinSyncInterval = DefaultMinSyncInterval
	}
	if cfg.FullSyncInterval <= 0 {
		cfg.FullSyncInterval = DefaultFullSyncInterval
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	tp := cfg.TracerProvider
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	p := &Proxier{cfg: cfg, gen: gen, clock: cfg.Clock, metrics: newMetrics(), tracer: tp.Tracer(trace.ScopeName),
		runner: nftrules.NewRunner(cfg.Clock, cfg.MinSyncInterval, cfg.FullSyncInterval)}
	reg := cfg.Registerer
	if reg == nil {
		p.Registry = prometheus.NewRegistry()
		reg = p.Registry
	}
	if err := p.metrics.register(reg); err != nil {
		return nil, fmt.Errorf("proxy metrics: %w", err)
	}
	p.conntrack = cfg.Conntrack
	if p.conntrack == nil && cfg.NFTables == nil {
		p.conntrack = NewNetlinkConntrack("")
	}
	if p.nft, err = nftrules.Open(cfg.NFTables, cfg.TableName); err != nil {
		return nil, err
	}
	return p, nil
}

// Metrics returns the proxy's metrics.
func (p *Proxier) Metrics() *Metrics { return p.metrics }

// Cleanup removes the proxy's table, with all its rules.
func (p *Proxier) Cleanup(ctx context.Context) error { return nftrules.DeleteTable(ctx, p.nft) }

// CleanupTable removes the table of a proxy (`skiff agent --cleanup`) with the system's nft.
func CleanupTable(ctx context.Context, table string) error { return nftrules.CleanupTable(ctx, table) }

// Start watches Services and EndpointSlices and keeps the table in line with them until ctx
// ends. The first sync waits for both caches, so a restarted proxy never writes a table
// without the services it had: the old rules stay until the new ones replace them.
func (p *Proxier) Start(ctx context.Context) error {
	log := klog.FromContext(ctx).WithValues("table", p.cfg.TableName)
	if p.cfg.ConfigureHost {
		nftrules.ConfigureHost(ctx)
	}
	p.mu.Lock()
	p.started = p.clock.Now()
	p.mu.Unlock()

	factory := informers.NewSharedInformerFactory(p.cfg.Client, 0)
	svcInf := factory.Core().V1().Services()
	sliceInf := factory.Discovery().V1().EndpointSlices().Informer()
	if err := sliceInf.AddIndexers(cache.Indexers{"service": sliceServiceIndex}); err != nil {
		return fmt.Errorf("endpointslice index: %w", err)
	}
	p.svcLister = svcInf.Lister()
	p.sliceIndexer = sliceInf.GetIndexer()
	// Each Service and EndpointSlice event is a delivery span of the proxy (insight/watchtrace);
	// an EndpointSlice's names its pods, whose stories it belongs to.
	if _, err := svcInf.Informer().AddEventHandler(watchtrace.Handler(p.watch("Service", nil), cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { p.requestSync() },
		UpdateFunc: func(any, any) { p.requestSync() },
		DeleteFunc: func(any) { p.requestSync() },
	})); err != nil {
		return err
	}
	if _, err := sliceInf.AddEventHandler(watchtrace.Handler(p.watch("EndpointSlice", slicePods), cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { p.sliceChanged(obj) },
		UpdateFunc: func(_, obj any) { p.sliceChanged(obj) },
		DeleteFunc: func(any) { p.requestSync() },
	})); err != nil {
		return err
	}
	factory.Start(ctx.Done())
	defer factory.Shutdown()
	if !cache.WaitForCacheSync(ctx.Done(), svcInf.Informer().HasSynced, sliceInf.HasSynced) {
		return nil // ctx ended
	}
	log.Info("Service proxy starting")
	p.loop(ctx)
	if p.cfg.CleanupOnExit {
		if err := nftrules.DeleteTableOnExit(ctx, p.nft); err != nil {
			return err
		}
		log.Info("Service proxy rules removed")
	}
	return nil
}

// loop syncs on changes (coalesced over MinSyncInterval), fully every FullSyncInterval, and
// again after failures with a backoff, until ctx ends.
func (p *Proxier) loop(ctx context.Context) {
	log := klog.FromContext(ctx).WithValues("table", p.cfg.TableName)
	p.runner.Run(ctx, p.sync, func(err error, retry time.Duration) {
		log.Error(err, "Syncing the service rules failed", "retryIn", retry)
	})
}

func sliceServiceIndex(obj any) ([]string, error) {
	s, ok := obj.(*discoveryv1.EndpointSlice)
	if !ok {
		return nil, nil
	}
	name := s.Labels[labelServiceName]
	if name == "" {
		return nil, nil
	}
	return []string{s.Namespace + "/" + name}, nil
}

func (p *Proxier) requestSync() { p.runner.Request() }

// sliceChanged records the change's trigger time for the network programming latency (only
// changes made after the proxy started: older ones were programmed by an earlier run).
func (p *Proxier) sliceChanged(obj any) {
	if s, ok := obj.(*discoveryv1.EndpointSlice); ok && s.AddressType == discoveryv1.AddressTypeIPv4 {
		if v := s.Annotations[LastChangeTriggerTimeAnnotation]; v != "" {
			if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
				p.mu.Lock()
				if t.After(p.started) {
					p.triggers = append(p.triggers, t)
				}
				p.mu.Unlock()
			}
		}
	}
	p.requestSync()
}

// snapshot reads the informers' caches into the service ports and their endpoints, and
// returns the IPv4 slices of the services programmed.
func (p *Proxier) snapshot() ([]svcEndpoints, []*discoveryv1.EndpointSlice) {
	svcs, _ := p.svcLister.List(labels.Everything())
	sort.Slice(svcs, func(i, j int) bool {
		if svcs[i].Namespace != svcs[j].Namespace {
			return svcs[i].Namespace < svcs[j].Namespace
		}
		return svcs[i].Name < svcs[j].Name
	})
	var out []svcEndpoints
	var programmed []*discoveryv1.EndpointSlice
	for _, svc := range svcs {
		if _, other := svc.Labels[labelServiceProxyName]; other {
			continue // served by another proxy, as upstream
		}
		ports := servicePorts(svc)
		if len(ports) == 0 {
			continue
		}
		objs, _ := p.sliceIndexer.ByIndex("service", svc.Namespace+"/"+svc.Name)
		slices := make([]*discoveryv1.EndpointSlice, 0, len(objs))
		for _, o := range objs {
			if s, ok := o.(*discoveryv1.EndpointSlice); ok {
				slices = append(slices, s)
				if s.AddressType == discoveryv1.AddressTypeIPv4 {
					programmed = append(programmed, s)
				}
			}
		}
		eps := sliceEndpoints(slices, p.cfg.NodeName)
		for _, sp := range ports {
			out = append(out, svcEndpoints{sp: sp, eps: eps[portKey(sp.portName, sp.protocol)]})
		}
	}
	return out, programmed
}

// sync writes the rules for the current state in one transaction: the differences from the
// last sync, or everything when full (or when the last sync failed).
func (p *Proxier) sync(ctx context.Context, full bool) error {
	start := p.clock.Now()
	p.mu.Lock()
	triggers := p.triggers
	p.triggers = nil
	p.mu.Unlock()

	services, slices := p.snapshot()
	want := buildRuleset(p.gen, services)
	_, span := p.tracer.Start(ctx, "program rules", oteltrace.WithTimestamp(start))
	err := p.apply(ctx, want, full)
	if err != nil {
		span.SetAttributes(trace.Discard) // the next sync that succeeds names the changes
		span.End()
		p.metrics.SyncFailures.Inc()
		p.mu.Lock()
		p.triggers = append(triggers, p.triggers...)
		p.mu.Unlock()
		return err
	}
	took := p.clock.Since(start)
	wasFull := full || p.applied == nil
	p.endSyncSpan(span, slices, wasFull, start.Add(took))
	p.applied = want
	p.metrics.SyncDuration.Observe(took.Seconds())
	if wasFull {
		p.metrics.FullSyncDuration.Observe(took.Seconds())
	} else {
		p.metrics.PartialSync.Observe(took.Seconds())
	}
	now := p.clock.Now()
	p.metrics.LastSync.Set(float64(now.UnixNano()) / 1e9)
	for _, t := range triggers {
		p.metrics.NetworkProgramming.Observe(now.Sub(t).Seconds())
	}
	rules, chains, elements := want.Counts()
	p.metrics.Rules.WithLabelValues("rules").Set(float64(rules))
	p.metrics.Rules.WithLabelValues("chains").Set(float64(chains))
	p.metrics.Rules.WithLabelValues("elements").Set(float64(elements))
	p.cleanConntrack(ctx, udpStateOf(services), wasFull)
	if p.afterSync != nil {
		p.afterSync(wasFull, took, want, triggers)
	}
	return nil
}

// endSyncSpan ends the span of a sync that programmed rules: named after the pods whose
// endpoints appeared, went or changed their readiness since the last sync (skiff.related_uids,
// at most trace.MaxRelated of them), so that a pod's trace shows when this node's proxy
// made it reachable. A sync that changed no pod's endpoint (a Service change, a periodic full
// sync) is discarded. With tracing off nothing is computed.
func (p *Proxier) endSyncSpan(span oteltrace.Span, slices []*discoveryv1.EndpointSlice, full bool, end time.Time) {
	if !span.IsRecording() {
		span.End()
		return
	}
	pods := helper.PodEndpoints(slices...)
	changes := helper.EndpointChanges(p.tracedPods, pods)
	p.tracedPods = pods
	if len(changes) == 0 {
		span.SetAttributes(trace.Discard)
	} else {
		span.SetName("program rules: " + helper.SummarizeEndpointChanges(changes))
		span.SetAttributes(trace.Component(trace.ComponentProxy), attribute.String(trace.AttrNode, p.cfg.NodeName),
			trace.Related(helper.ChangedUIDs(changes)), attribute.Int("skiff.endpoint_changes", len(changes)),
			attribute.Bool("skiff.full_sync", full))
	}
	span.End(oteltrace.WithTimestamp(end))
}

// cleanConntrack deletes the UDP conntrack entries the rules just written made stale: on the
// first sync, on full syncs, and whenever the UDP services or their serving endpoints
// changed. Failures are logged and retried at the next sync.
func (p *Proxier) cleanConntrack(ctx context.Context, st udpState, full bool) {
	if p.conntrack == nil {
		return
	}
	prev := p.udpCleaned
	if prev != nil && !full && st.equal(*prev) {
		return
	}
	check := st
	if prev != nil {
		check = st.withGone(*prev)
	}
	if check.empty() {
		p.udpCleaned = &st
		return
	}
	n, err := p.conntrack.DeleteUDP(ctx, check.stale)
	log := klog.FromContext(ctx).WithValues("table", p.cfg.TableName)
	if err != nil {
		log.Error(err, "Clearing stale UDP conntrack entries failed")
		return
	}
	if n > 0 {
		log.V(2).Info("Stale UDP conntrack entries cleared", "entries", n)
	}
	p.udpCleaned = &st
}

// apply writes want into the table.
func (p *Proxier) apply(ctx context.Context, want *nftrules.Ruleset, full bool) error {
	old := p.applied
	if full {
		old = nil
	}
	if err := nftrules.Apply(ctx, p.nft, tableComment, old, want); err != nil {
		p.applied = nil
		return err
	}
	return nil
}
