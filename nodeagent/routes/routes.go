package routes

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
)

// Protocol marks Skiff's routes (rtnetlink protocol number, as `ip route ... proto 201`).
const Protocol = "201"

// Runner runs a command and returns its standard output.
type Runner func(ctx context.Context, name string, args ...string) ([]byte, error)

// Config is one node's route keeper.
type Config struct {
	Client   kubernetes.Interface
	NodeName string
	// IPCommand is the ip command and leading arguments (default ["ip"]; tests use a netns).
	IPCommand []string
	// Run runs commands (default: exec).
	Run Runner
	// LocalAddrs lists this machine's addresses (default: the interfaces' addresses).
	LocalAddrs func() ([]net.IP, error)
	// ManageForwarding turns on ip_forward and FORWARD accepts (default off for tests; the
	// agent's wiring sets it).
	ManageForwarding bool
	// ResyncPeriod re-checks the routes (default 30 s).
	ResyncPeriod time.Duration
	Clock        clock.WithTicker
}

// Route is one wanted route.
type Route struct{ CIDR, Via string }

// Routes keeps the routes to the other nodes' pod subnets.
type Routes struct {
	cfg     Config
	factory informers.SharedInformerFactory
	nodes   corelisters.NodeLister
	kick    chan struct{}
}

// New checks cfg and fills defaults.
func New(cfg Config) (*Routes, error) {
	if cfg.Client == nil || cfg.NodeName == "" {
		return nil, errors.New("routes: a client and a node name are required")
	}
	if len(cfg.IPCommand) == 0 {
		cfg.IPCommand = []string{"ip"}
	}
	if cfg.Run == nil {
		cfg.Run = execRun
	}
	if cfg.LocalAddrs == nil {
		cfg.LocalAddrs = interfaceAddrs
	}
	if cfg.ResyncPeriod == 0 {
		cfg.ResyncPeriod = 30 * time.Second
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	r := &Routes{cfg: cfg, kick: make(chan struct{}, 1)}
	r.factory = informers.NewSharedInformerFactory(cfg.Client, 0)
	r.nodes = r.factory.Core().V1().Nodes().Lister()
	return r, nil
}

func execRun(ctx context.Context, name string, args ...string) ([]byte, error) {
	var out, errb bytes.Buffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return out.Bytes(), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return out.Bytes(), nil
}

func interfaceAddrs() ([]net.IP, error) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil, err
	}
	var out []net.IP
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			out = append(out, n.IP)
		}
	}
	return out, nil
}

// Desired computes the routes this node wants from the nodes.
func Desired(self string, nodes []*corev1.Node, local []net.IP) []Route {
	isLocal := func(ip net.IP) bool {
		for _, l := range local {
			if l.Equal(ip) {
				return true
			}
		}
		return false
	}
	var out []Route
	seen := map[string]bool{}
	for _, n := range nodes {
		if n.Name == self || n.DeletionTimestamp != nil {
			continue
		}
		var via net.IP
		for _, a := range n.Status.Addresses {
			if a.Type == corev1.NodeInternalIP {
				if ip := net.ParseIP(a.Address); ip != nil && ip.To4() != nil {
					via = ip
					break
				}
			}
		}
		if via == nil || isLocal(via) {
			continue
		}
		cidrs := n.Spec.PodCIDRs
		if len(cidrs) == 0 && n.Spec.PodCIDR != "" {
			cidrs = []string{n.Spec.PodCIDR}
		}
		for _, c := range cidrs {
			_, ipnet, err := net.ParseCIDR(c)
			if err != nil || ipnet.IP.To4() == nil || seen[ipnet.String()] {
				continue
			}
			seen[ipnet.String()] = true
			out = append(out, Route{CIDR: ipnet.String(), Via: via.String()})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CIDR < out[j].CIDR })
	return out
}

func (r *Routes) ip(ctx context.Context, args ...string) ([]byte, error) {
	full := append(append([]string{}, r.cfg.IPCommand[1:]...), args...)
	return r.cfg.Run(ctx, r.cfg.IPCommand[0], full...)
}

// Current lists Skiff's routes (protocol 201) as CIDR → gateway.
func (r *Routes) Current(ctx context.Context) (map[string]string, error) {
	out, err := r.ip(ctx, "-4", "route", "show", "proto", Protocol)
	if err != nil {
		return nil, err
	}
	cur := map[string]string{}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		dst := f[0]
		if !strings.Contains(dst, "/") {
			dst += "/32"
		}
		via := ""
		for i := 0; i+1 < len(f); i++ {
			if f[i] == "via" {
				via = f[i+1]
			}
		}
		cur[dst] = via
	}
	return cur, nil
}

// Sync makes the routes match the nodes once.
func (r *Routes) Sync(ctx context.Context) error {
	nodes, err := r.nodes.List(labels.Everything())
	if err != nil {
		return err
	}
	local, err := r.cfg.LocalAddrs()
	if err != nil {
		return fmt.Errorf("local addresses: %w", err)
	}
	want := Desired(r.cfg.NodeName, nodes, local)
	cur, err := r.Current(ctx)
	if err != nil {
		return fmt.Errorf("listing routes: %w", err)
	}
	log := klog.FromContext(ctx)
	var errs []error
	wanted := map[string]bool{}
	for _, rt := range want {
		wanted[rt.CIDR] = true
		if cur[rt.CIDR] == rt.Via {
			continue
		}
		if _, err := r.ip(ctx, "route", "replace", rt.CIDR, "via", rt.Via, "proto", Protocol); err != nil {
			errs = append(errs, err)
			continue
		}
		log.Info("Route to a node's pod subnet added", "podCIDR", rt.CIDR, "via", rt.Via)
	}
	for cidr := range cur {
		if wanted[cidr] {
			continue
		}
		if _, err := r.ip(ctx, "route", "del", cidr, "proto", Protocol); err != nil {
			errs = append(errs, err)
			continue
		}
		log.Info("Route to a node's pod subnet removed", "podCIDR", cidr)
	}
	if r.cfg.ManageForwarding {
		if err := r.ensureForwarding(ctx, nodes); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// ensureForwarding turns IPv4 forwarding on and, when the iptables FORWARD policy drops,
// accepts traffic from and to the pod subnets (as flannel does).
func (r *Routes) ensureForwarding(ctx context.Context, nodes []*corev1.Node) error {
	const sysctl = "/proc/sys/net/ipv4/ip_forward"
	if b, err := os.ReadFile(sysctl); err == nil && strings.TrimSpace(string(b)) != "1" {
		if err := os.WriteFile(sysctl, []byte("1"), 0o644); err != nil {
			return fmt.Errorf("enabling IPv4 forwarding: %w", err)
		}
	}
	if _, err := exec.LookPath("iptables"); err != nil {
		return nil
	}
	policy, err := r.cfg.Run(ctx, "iptables", "-S", "FORWARD")
	if err != nil || !strings.Contains(string(policy), "-P FORWARD DROP") {
		return nil
	}
	var errs []error
	for _, n := range nodes {
		cidrs := n.Spec.PodCIDRs
		if len(cidrs) == 0 && n.Spec.PodCIDR != "" {
			cidrs = []string{n.Spec.PodCIDR}
		}
		for _, c := range cidrs {
			for _, dir := range []string{"-s", "-d"} {
				rule := forwardRule(dir, c)
				if _, err := r.cfg.Run(ctx, "iptables", append([]string{"-C"}, rule...)...); err == nil {
					continue
				}
				if _, err := r.cfg.Run(ctx, "iptables", append([]string{"-I"}, rule...)...); err != nil {
					errs = append(errs, err)
				}
			}
		}
	}
	return errors.Join(errs...)
}

// Start keeps the routes until ctx ends. Routes stay when it stops (pods keep their network
// across agent restarts); Cleanup removes them.
func (r *Routes) Start(ctx context.Context) error {
	log := klog.FromContext(ctx).WithName("routes")
	ctx = klog.NewContext(ctx, log)
	kick := func() {
		select {
		case r.kick <- struct{}{}:
		default:
		}
	}
	if _, err := r.factory.Core().V1().Nodes().Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { kick() },
		UpdateFunc: func(old, cur any) { kick() },
		DeleteFunc: func(any) { kick() },
	}); err != nil {
		return err
	}
	r.factory.Start(ctx.Done())
	defer r.factory.Shutdown()
	if !cache.WaitForCacheSync(ctx.Done(), r.factory.Core().V1().Nodes().Informer().HasSynced) {
		return nil
	}
	t := r.cfg.Clock.NewTicker(r.cfg.ResyncPeriod)
	defer t.Stop()
	kick()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-r.kick:
		case <-t.C():
		}
		if err := r.Sync(ctx); err != nil && ctx.Err() == nil {
			log.Error(err, "Syncing routes to other nodes failed")
		}
	}
}

// Cleanup removes every Skiff route and, with ManageForwarding, the FORWARD accept rules
// (skiff agent --cleanup).
func (r *Routes) Cleanup(ctx context.Context) error { return Cleanup(ctx, r.cfg) }

// Cleanup removes, without a cluster, every route Skiff added on this machine (protocol
// Protocol: those of all its nodes here, which share the machine's routing table) and, when
// cfg.ManageForwarding is set, the iptables FORWARD accept rules for pod subnets that the
// route keeper inserted. Only cfg.IPCommand, cfg.Run and cfg.ManageForwarding are used.
func Cleanup(ctx context.Context, cfg Config) error {
	if len(cfg.IPCommand) == 0 {
		cfg.IPCommand = []string{"ip"}
	}
	if cfg.Run == nil {
		cfg.Run = execRun
	}
	r := &Routes{cfg: cfg}
	cur, err := r.Current(ctx)
	if err != nil {
		return fmt.Errorf("listing routes: %w", err)
	}
	var errs []error
	for _, cidr := range slices.Sorted(maps.Keys(cur)) {
		if _, err := r.ip(ctx, "route", "del", cidr, "proto", Protocol); err != nil {
			errs = append(errs, err)
		}
	}
	if cfg.ManageForwarding {
		errs = append(errs, removeForwardRules(ctx, cfg.Run))
	}
	return errors.Join(errs...)
}

// forwardComment marks the FORWARD accept rules of ensureForwarding.
const forwardComment = "skiff pod network"

// forwardRule is the FORWARD accept rule for traffic from (dir -s) or to (-d) cidr, without
// the iptables command (-C, -I, -D).
func forwardRule(dir, cidr string) []string {
	return []string{"FORWARD", dir, cidr, "-m", "comment", "--comment", forwardComment, "-j", "ACCEPT"}
}

// removeForwardRules deletes the FORWARD rules carrying forwardComment. Without iptables
// there are none.
func removeForwardRules(ctx context.Context, run Runner) error {
	out, err := run(ctx, "iptables", "-S", "FORWARD")
	if err != nil {
		if _, lerr := exec.LookPath("iptables"); lerr != nil {
			return nil
		}
		return fmt.Errorf("listing the FORWARD rules: %w", err)
	}
	var errs []error
	for _, line := range strings.Split(string(out), "\n") {
		if !strings.Contains(line, `--comment "`+forwardComment+`"`) {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 4 || f[0] != "-A" || f[1] != "FORWARD" || (f[2] != "-s" && f[2] != "-d") {
			continue
		}
		if _, err := run(ctx, "iptables", append([]string{"-D"}, forwardRule(f[2], f[3])...)...); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
