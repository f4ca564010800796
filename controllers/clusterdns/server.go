package clusterdns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
)

// Config is one cluster DNS server.
type Config struct {
	// Client reads Services and EndpointSlices and keeps kube-system/kube-dns.
	Client kubernetes.Interface
	// Address is the IP the server listens on (the control plane's advertise address); Port is
	// its port for UDP and TCP (0: any free port, the same for both).
	Address string
	Port    int
	// Domain is the cluster domain (default cluster.local).
	Domain string
	// Upstreams are the nameservers (host:port) other names are forwarded to; when nil they are
	// read from ResolvConf (default /etc/resolv.conf). With none, such queries get SERVFAIL.
	Upstreams  []string
	ResolvConf string
	// ForwardTimeout bounds one forwarded query (default 2 s).
	ForwardTimeout time.Duration
	// ServiceIP is the kube-dns Service's ClusterIP (the 10th address of the service range);
	// empty: no kube-dns Service or EndpointSlice is kept.
	ServiceIP string
	// MemberName names this control-plane member's EndpointSlice (kube-dns-<name>).
	MemberName string
	// ResyncPeriod is how often the kube-dns Service and slice are checked (default 30 s).
	ResyncPeriod time.Duration
	// Clock is injected for tests.
	Clock clock.WithTicker
}

// Server is a running cluster DNS server.
type Server struct {
	cfg      Config
	resolver *resolver
	services corelisters.ServiceLister
	slices   discoverylisters.EndpointSliceLister
	factory  informers.SharedInformerFactory
	// svcIndex and sliceIndex find services and slices by address (reverse lookups).
	svcIndex, sliceIndex cache.Indexer

	mu   sync.Mutex
	addr *net.UDPAddr // set once listening
	up   chan struct{}
}

// New checks cfg and fills defaults.
func New(cfg Config) (*Server, error) {
	if cfg.Client == nil {
		return nil, errors.New("clusterdns: a client is required")
	}
	if cfg.Address == "" {
		cfg.Address = "127.0.0.1"
	}
	if net.ParseIP(cfg.Address) == nil {
		return nil, fmt.Errorf("clusterdns: address %q is not an IP address", cfg.Address)
	}
	if cfg.Port < 0 || cfg.Port > 65535 {
		return nil, fmt.Errorf("clusterdns: port %d is out of range", cfg.Port)
	}
	if cfg.Domain == "" {
		cfg.Domain = "cluster.local"
	}
	if cfg.ResolvConf == "" {
		cfg.ResolvConf = "/etc/resolv.conf"
	}
	if cfg.ForwardTimeout == 0 {
		cfg.ForwardTimeout = 2 * time.Second
	}
	if cfg.ResyncPeriod == 0 {
		cfg.ResyncPeriod = 30 * time.Second
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	if cfg.ServiceIP != "" && net.ParseIP(cfg.ServiceIP) == nil {
		return nil, fmt.Errorf("clusterdns: service IP %q is not an IP address", cfg.ServiceIP)
	}
	s := &Server{cfg: cfg, up: make(chan struct{})}
	s.factory = informers.NewSharedInformerFactory(cfg.Client, 0)
	svcInformer := s.factory.Core().V1().Services().Informer()
	sliceInformer := s.factory.Discovery().V1().EndpointSlices().Informer()
	if err := svcInformer.AddIndexers(cache.Indexers{byIP: serviceIPs}); err != nil {
		return nil, err
	}
	if err := sliceInformer.AddIndexers(cache.Indexers{byIP: sliceAddresses}); err != nil {
		return nil, err
	}
	s.svcIndex, s.sliceIndex = svcInformer.GetIndexer(), sliceInformer.GetIndexer()
	s.services = s.factory.Core().V1().Services().Lister()
	s.slices = s.factory.Discovery().V1().EndpointSlices().Lister()
	s.resolver = newResolver(cfg.Domain, s)
	return s, nil
}

// Service implements Source from the informer cache.
func (s *Server) Service(ns, name string) *corev1.Service {
	svc, err := s.services.Services(ns).Get(name)
	if err != nil {
		return nil
	}
	return svc
}

// Slices implements Source from the informer cache.
func (s *Server) Slices(ns, name string) []*discoveryv1.EndpointSlice {
	out, err := s.slices.EndpointSlices(ns).List(labels.SelectorFromSet(labels.Set{discoveryv1.LabelServiceName: name}))
	if err != nil {
		return nil
	}
	return out
}

const byIP = "ip"

func serviceIPs(obj any) ([]string, error) {
	svc, ok := obj.(*corev1.Service)
	if !ok {
		return nil, nil
	}
	var out []string
	for _, ip := range svc.Spec.ClusterIPs {
		if ip != corev1.ClusterIPNone && ip != "" {
			out = append(out, ip)
		}
	}
	return out, nil
}

func sliceAddresses(obj any) ([]string, error) {
	sl, ok := obj.(*discoveryv1.EndpointSlice)
	if !ok {
		return nil, nil
	}
	var out []string
	for _, ep := range sl.Endpoints {
		out = append(out, ep.Addresses...)
	}
	return out, nil
}

// ServicesByIP implements Source from the informer cache.
func (s *Server) ServicesByIP(ip string) []*corev1.Service {
	return byIndex[*corev1.Service](s.svcIndex, ip)
}

// SlicesByAddress implements Source from the informer cache.
func (s *Server) SlicesByAddress(ip string) []*discoveryv1.EndpointSlice {
	return byIndex[*discoveryv1.EndpointSlice](s.sliceIndex, ip)
}

// byIndex returns the objects of idx with ip in the byIP index.
func byIndex[T any](idx cache.Indexer, ip string) []T {
	objs, err := idx.ByIndex(byIP, ip)
	if err != nil {
		return nil
	}
	out := make([]T, 0, len(objs))
	for _, o := range objs {
		out = append(out, o.(T))
	}
	return out
}

// Ready is closed once the server answers.
func (s *Server) Ready() <-chan struct{} { return s.up }

// Addr is the UDP (and TCP) address the server listens on, once Ready.
func (s *Server) Addr() *net.UDPAddr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// listen binds UDP and TCP on the same port (any free one when Port is 0).
func (s *Server) listen() (net.PacketConn, net.Listener, error) {
	var lastErr error
	for attempt := 0; attempt < 10; attempt++ {
		pc, err := net.ListenPacket("udp", net.JoinHostPort(s.cfg.Address, strconv.Itoa(s.cfg.Port)))
		if err != nil {
			return nil, nil, fmt.Errorf("cluster DNS on UDP %s:%d: %w", s.cfg.Address, s.cfg.Port, err)
		}
		port := pc.LocalAddr().(*net.UDPAddr).Port
		l, err := net.Listen("tcp", net.JoinHostPort(s.cfg.Address, strconv.Itoa(port)))
		if err == nil {
			return pc, l, nil
		}
		pc.Close()
		lastErr = err
		if s.cfg.Port != 0 {
			break
		}
	}
	return nil, nil, fmt.Errorf("cluster DNS on TCP %s:%d: %w", s.cfg.Address, s.cfg.Port, lastErr)
}

// Start serves DNS and keeps kube-dns until ctx ends.
func (s *Server) Start(ctx context.Context) error {
	log := klog.FromContext(ctx).WithName("clusterdns")
	ctx = klog.NewContext(ctx, log)
	upstreams := s.cfg.Upstreams
	if upstreams == nil {
		upstreams = upstreamsFrom(s.cfg.ResolvConf)
	}
	pc, l, err := s.listen()
	if err != nil {
		return err
	}
	self := pc.LocalAddr().(*net.UDPAddr)
	upstreams = withoutSelf(upstreams, self)
	s.factory.Start(ctx.Done())
	for typ, ok := range s.factory.WaitForCacheSync(ctx.Done()) {
		if !ok {
			pc.Close()
			l.Close()
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("clusterdns: %v informer did not sync", typ)
		}
	}
	fwd := &forwarder{upstreams: upstreams, timeout: s.cfg.ForwardTimeout}
	handler := dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) { s.serve(ctx, w, req, fwd) })
	udp := &dns.Server{PacketConn: pc, Handler: handler}
	tcp := &dns.Server{Listener: l, Handler: handler, ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second}
	errs := make(chan error, 2)
	started := make(chan struct{}, 2)
	udp.NotifyStartedFunc = func() { started <- struct{}{} }
	tcp.NotifyStartedFunc = func() { started <- struct{}{} }
	go func() { errs <- udp.ActivateAndServe() }()
	go func() { errs <- tcp.ActivateAndServe() }()
	for i := 0; i < 2; i++ {
		select {
		case <-started:
		case err := <-errs:
			udp.Shutdown()
			tcp.Shutdown()
			return fmt.Errorf("clusterdns: %w", err)
		}
	}
	s.mu.Lock()
	s.addr = self
	s.mu.Unlock()
	close(s.up)
	log.Info("Cluster DNS serving", "address", self.String(), "domain", s.cfg.Domain, "upstreams", upstreams)

	var wg sync.WaitGroup
	if s.cfg.ServiceIP != "" && self.IP.IsLoopback() {
		log.Info("Cluster DNS listens on loopback: no kube-dns endpoints published (EndpointSlices refuse loopback addresses)")
	} else if s.cfg.ServiceIP != "" {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.keepKubeDNS(ctx, self.Port)
		}()
	}
	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errs:
		runErr = fmt.Errorf("clusterdns: %w", runErr)
	}
	udp.Shutdown()
	tcp.Shutdown()
	wg.Wait()
	return runErr
}

// serve answers one query: from the cluster state inside the cluster domain, else forwarded.
func (s *Server) serve(ctx context.Context, w dns.ResponseWriter, req *dns.Msg, fwd *forwarder) {
	resp := new(dns.Msg)
	if len(req.Question) != 1 || req.Opcode != dns.OpcodeQuery {
		resp.SetRcode(req, dns.RcodeFormatError)
		w.WriteMsg(resp)
		return
	}
	q := req.Question[0]
	var a answer
	if s.resolver.inZone(q.Name) {
		a = s.resolver.resolve(q)
	} else if ra, ok := s.resolver.reverse(q); ok {
		a = ra
	} else {
		fwd.forward(ctx, w, req)
		return
	}
	resp.SetReply(req)
	resp.Authoritative = true
	resp.RecursionAvailable = true
	resp.Rcode = a.rcode
	resp.Answer, resp.Extra = a.answer, a.extra
	if len(a.answer) == 0 {
		resp.Ns = []dns.RR{s.resolver.soa()}
	}
	if _, isUDP := w.RemoteAddr().(*net.UDPAddr); isUDP {
		size := uint16(dns.MinMsgSize)
		if opt := req.IsEdns0(); opt != nil {
			size = opt.UDPSize()
		}
		resp.Truncate(int(size))
	}
	if err := w.WriteMsg(resp); err != nil {
		klog.FromContext(ctx).V(4).Info("Writing a DNS answer failed", "err", err)
	}
}

// forwarder sends names outside the cluster domain to the host's nameservers.
type forwarder struct {
	upstreams []string
	timeout   time.Duration
}

func (f *forwarder) forward(ctx context.Context, w dns.ResponseWriter, req *dns.Msg) {
	network := "udp"
	if _, ok := w.RemoteAddr().(*net.TCPAddr); ok {
		network = "tcp"
	}
	c := &dns.Client{Net: network, Timeout: f.timeout}
	for _, up := range f.upstreams {
		qctx, cancel := context.WithTimeout(ctx, f.timeout)
		resp, _, err := c.ExchangeContext(qctx, req, up)
		cancel()
		if err != nil {
			klog.FromContext(ctx).V(4).Info("Forwarding a DNS query failed", "upstream", up, "err", err)
			continue
		}
		resp.Id = req.Id
		w.WriteMsg(resp)
		return
	}
	fail := new(dns.Msg)
	fail.SetRcode(req, dns.RcodeServerFailure)
	fail.RecursionAvailable = true
	w.WriteMsg(fail)
}

// upstreamsFrom reads the nameservers of a resolv.conf as host:port.
func upstreamsFrom(path string) []string {
	cc, err := dns.ClientConfigFromFile(path)
	if err != nil {
		return []string{}
	}
	out := []string{}
	for _, s := range cc.Servers {
		out = append(out, net.JoinHostPort(s, cc.Port))
	}
	return out
}

// withoutSelf drops upstreams that are this server (a resolv.conf naming us would loop).
func withoutSelf(upstreams []string, self *net.UDPAddr) []string {
	out := []string{}
	for _, u := range upstreams {
		host, port, err := net.SplitHostPort(u)
		if err != nil {
			continue
		}
		ip := net.ParseIP(host)
		if ip == nil || (port == strconv.Itoa(self.Port) && (ip.Equal(self.IP) || (self.IP.IsUnspecified()))) {
			continue
		}
		out = append(out, u)
	}
	return out
}
