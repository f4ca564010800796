package netpol

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	networkinglisters "k8s.io/client-go/listers/networking/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
	"sigs.k8s.io/knftables"

	"github.com/skiff-dev/skiff/nodeagent/nftrules"
)

// DefaultTableName is the enforcer's nftables table (family ip) when Config.TableName is empty.
const DefaultTableName = "skiff-netpol"

// Defaults of Config.
const (
	DefaultMinSyncInterval  = 50 * time.Millisecond
	DefaultFullSyncInterval = 5 * time.Minute
)

// TableNameFor is the table of the enforcer of node nodeName (several Skiff nodes can share
// one machine, each with a table of its own).
func TableNameFor(nodeName string) string { return nftrules.TableName(DefaultTableName, nodeName) }

// Config configures an Enforcer.
type Config struct {
	// Client watches NetworkPolicies, Pods and Namespaces.
	Client kubernetes.Interface
	// NodeName is this node: its pods (spec.nodeName) are the ones it isolates.
	NodeName string
	// PodCIDRs, when set, further restrict this node's pods to addresses in them.
	PodCIDRs []string
	// TableName is the nftables table (family ip); default DefaultTableName.
	TableName string
	// NFTables runs the nft commands; nil: the system's nft on TableName.
	NFTables knftables.Interface
	// MinSyncInterval is the shortest time between two syncs (changes within it are
	// coalesced); default DefaultMinSyncInterval.
	MinSyncInterval time.Duration
	// FullSyncInterval is how often everything is rewritten even without changes; default
	// DefaultFullSyncInterval.
	FullSyncInterval time.Duration
	// ConfigureHost makes Start load br_netfilter and set net.bridge.bridge-nf-call-iptables
	// (traffic between the pods of one bridge must pass the forward hook), as the service
	// proxy does.
	ConfigureHost bool
	// CleanupOnExit removes the table when Start returns.
	CleanupOnExit bool
	// Clock paces the syncs; nil is the real clock.
	Clock clock.Clock
}

// Enforcer programs the node's NetworkPolicy rules.
type Enforcer struct {
	cfg        Config
	localCIDRs []netip.Prefix
	nft        knftables.Interface
	runner     *nftrules.Runner

	policies   networkinglisters.NetworkPolicyLister
	pods       corelisters.PodLister
	namespaces corelisters.NamespaceLister

	// applied is what the last successful sync wrote; nil forces a full sync.
	applied *nftrules.Ruleset
	// afterSync, when set (tests), sees each successful sync.
	afterSync func(plan *Ruleset)
}

// New checks cfg and prepares an Enforcer; Start runs it.
func New(cfg Config) (*Enforcer, error) {
	if cfg.Client == nil {
		return nil, errors.New("netpol config: Client is required")
	}
	e := &Enforcer{}
	for _, s := range cfg.PodCIDRs {
		p, err := netip.ParsePrefix(strings.TrimSpace(s))
		if err != nil {
			return nil, fmt.Errorf("netpol config: PodCIDRs: %w", err)
		}
		if p.Addr().Is4() { // IPv4 only, as the service proxy
			e.localCIDRs = append(e.localCIDRs, p.Masked())
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
	e.cfg = cfg
	e.runner = nftrules.NewRunner(cfg.Clock, cfg.MinSyncInterval, cfg.FullSyncInterval)
	var err error
	if e.nft, err = nftrules.Open(cfg.NFTables, cfg.TableName); err != nil {
		return nil, err
	}
	return e, nil
}

// Cleanup removes the enforcer's table, with all its rules.
func (e *Enforcer) Cleanup(ctx context.Context) error { return nftrules.DeleteTable(ctx, e.nft) }

// CleanupTable removes the table of an enforcer (`skiff agent --cleanup`, `skiff killall`)
// with the system's nft.
func CleanupTable(ctx context.Context, table string) error { return nftrules.CleanupTable(ctx, table) }

// Start watches NetworkPolicies, Pods and Namespaces and keeps the table in line with them
// until ctx ends. The first sync waits for all three caches: a restarted enforcer replaces
// the old rules in one transaction and never leaves its pods unprotected in between.
func (e *Enforcer) Start(ctx context.Context) error {
	log := klog.FromContext(ctx).WithValues("table", e.cfg.TableName)
	if e.cfg.ConfigureHost {
		nftrules.ConfigureHost(ctx)
	}
	factory := informers.NewSharedInformerFactory(e.cfg.Client, 0)
	npInf := factory.Networking().V1().NetworkPolicies()
	podInf := factory.Core().V1().Pods()
	nsInf := factory.Core().V1().Namespaces()
	e.policies, e.pods, e.namespaces = npInf.Lister(), podInf.Lister(), nsInf.Lister()
	changed := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { e.runner.Request() },
		UpdateFunc: func(any, any) { e.runner.Request() },
		DeleteFunc: func(any) { e.runner.Request() },
	}
	for _, inf := range []cache.SharedIndexInformer{npInf.Informer(), podInf.Informer(), nsInf.Informer()} {
		if _, err := inf.AddEventHandler(changed); err != nil {
			return fmt.Errorf("netpol informer: %w", err)
		}
	}
	factory.Start(ctx.Done())
	defer factory.Shutdown()
	if !cache.WaitForCacheSync(ctx.Done(), npInf.Informer().HasSynced, podInf.Informer().HasSynced, nsInf.Informer().HasSynced) {
		return nil // ctx ended
	}
	log.Info("NetworkPolicy enforcer starting")
	e.runner.Run(ctx, e.sync, func(err error, retry time.Duration) {
		log.Error(err, "Syncing the NetworkPolicy rules failed", "retryIn", retry)
	})
	if e.cfg.CleanupOnExit {
		if err := nftrules.DeleteTableOnExit(ctx, e.nft); err != nil {
			return err
		}
		log.Info("NetworkPolicy rules removed")
	}
	return nil
}

// sync writes the rules for the current state: the differences from the last sync, or
// everything when full (or when the last sync failed).
func (e *Enforcer) sync(ctx context.Context, full bool) error {
	policies, err := e.policies.List(labels.Everything())
	if err != nil {
		return fmt.Errorf("listing network policies: %w", err)
	}
	pods, err := e.pods.List(labels.Everything())
	if err != nil {
		return fmt.Errorf("listing pods: %w", err)
	}
	namespaces, err := e.namespaces.List(labels.Everything())
	if err != nil {
		return fmt.Errorf("listing namespaces: %w", err)
	}
	plan := Plan(policies, pods, namespaces, e.cfg.NodeName, e.localCIDRs)
	want := render(plan)
	old := e.applied
	if full {
		old = nil
	}
	if err := nftrules.Apply(ctx, e.nft, tableComment, old, want); err != nil {
		e.applied = nil
		return err
	}
	e.applied = want
	if full || old == nil {
		rules, chains, elements := want.Counts()
		klog.FromContext(ctx).V(2).Info("NetworkPolicy rules written", "table", e.cfg.TableName,
			"ingressIsolated", len(plan.Ingress), "egressIsolated", len(plan.Egress), "rules", rules, "chains", chains, "elements", elements)
	}
	if e.afterSync != nil {
		e.afterSync(plan)
	}
	return nil
}
