package ingress

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	stdlog "log"
	"net"
	"net/http"
	"net/http/httputil"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	networkinglisters "k8s.io/client-go/listers/networking/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	certutil "k8s.io/client-go/util/cert"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"

	"github.com/skiff-dev/skiff/apis/helper"
)

// ControllerName is the events' source component.
const ControllerName = "skiff-ingress-controller"

// Config configures a node's ingress controller.
type Config struct {
	// Client is the node's credential.
	Client kubernetes.Interface
	// NodeName is the node this controller runs on: it records its ports on this Node.
	NodeName string
	// HTTPListener and HTTPSListener, when set, are used as they are; otherwise HTTPAddr and
	// HTTPSAddr are listened on (":80", ":0" for any free port, "" for none).
	HTTPListener, HTTPSListener net.Listener
	HTTPAddr, HTTPSAddr         string
	// ClassController is the spec.controller of the IngressClasses served (default
	// helper.IngressController).
	ClassController string
	// Recorder records the Warning events on Ingresses; nil: to the API as ControllerName.
	Recorder record.EventRecorder
	// Transport reaches the pods (default: a clone of http.DefaultTransport without proxies).
	Transport http.RoundTripper
	// Clock times the retries of the Node annotation (default: the real clock).
	Clock clock.Clock
	// RetryInterval is the time between two attempts at the Node annotation (default 1 s).
	RetryInterval time.Duration
}

// Controller serves the Ingresses of its class on the node's HTTP and HTTPS ports.
type Controller struct {
	cfg        Config
	httpLn     net.Listener
	httpsLn    net.Listener
	table      atomic.Pointer[Table]
	fallback   *tls.Certificate
	proxy      *httputil.ReverseProxy
	dirty      chan struct{}
	reported   map[Problem]bool
	secretsMu  sync.Mutex
	secrets    map[types.NamespacedName]*secretWatch
	secretSync chan struct{}
}

// secretWatch is the informer of one TLS Secret, listed and watched by name as the kubelet does
// (the node authorizer lets a node read only the Secrets an Ingress names).
type secretWatch struct {
	stop   chan struct{}
	lister corelisters.SecretLister
	synced cache.InformerSynced
}

type targetKey struct{}

// New checks cfg, listens on the ports and prepares the fallback certificate; Start serves.
func New(cfg Config) (*Controller, error) {
	if cfg.Client == nil || cfg.NodeName == "" {
		return nil, errors.New("ingress: Client and NodeName are required")
	}
	if cfg.ClassController == "" {
		cfg.ClassController = helper.IngressController
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	if cfg.RetryInterval <= 0 {
		cfg.RetryInterval = time.Second
	}
	if cfg.Transport == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.Proxy = nil
		t.MaxIdleConnsPerHost = 32
		cfg.Transport = t
	}
	c := &Controller{cfg: cfg, httpLn: cfg.HTTPListener, httpsLn: cfg.HTTPSListener, dirty: make(chan struct{}, 1),
		reported: map[Problem]bool{}, secrets: map[types.NamespacedName]*secretWatch{}}
	var err error
	if c.httpLn == nil && cfg.HTTPAddr != "" {
		if c.httpLn, err = net.Listen("tcp", cfg.HTTPAddr); err != nil {
			return nil, fmt.Errorf("ingress HTTP port: %w", err)
		}
	}
	if c.httpsLn == nil && cfg.HTTPSAddr != "" {
		if c.httpsLn, err = net.Listen("tcp", cfg.HTTPSAddr); err != nil {
			c.closeListeners()
			return nil, fmt.Errorf("ingress HTTPS port: %w", err)
		}
	}
	// The certificate of names no Ingress has one for, as ingress-nginx's fake certificate.
	certPEM, keyPEM, err := certutil.GenerateSelfSignedCertKey("skiff-ingress-default-certificate", nil, nil)
	if err == nil {
		var cert tls.Certificate
		if cert, err = tls.X509KeyPair(certPEM, keyPEM); err == nil {
			c.fallback = &cert
		}
	}
	if err != nil {
		c.closeListeners()
		return nil, fmt.Errorf("ingress default certificate: %w", err)
	}
	c.table.Store(BuildTable(Input{}))
	c.proxy = &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			target, _ := r.In.Context().Value(targetKey{}).(string)
			r.Out.URL.Scheme, r.Out.URL.Host = "http", target
			r.Out.Host = r.In.Host // the pod sees the Host the client asked for, as ingress-nginx
			r.SetXForwarded()
		},
		Transport: cfg.Transport,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			klog.FromContext(r.Context()).V(2).Info("Ingress backend unreachable", "host", r.Host, "path", r.URL.Path, "err", err)
			http.Error(w, "502 bad gateway: the backend did not answer", http.StatusBadGateway)
		},
	}
	return c, nil
}

func (c *Controller) closeListeners() {
	for _, ln := range []net.Listener{c.httpLn, c.httpsLn} {
		if ln != nil {
			ln.Close()
		}
	}
}

// Ports are the ports the controller serves on by scheme ("http", "https").
func (c *Controller) Ports() map[string]int {
	out := map[string]int{}
	if c.httpLn != nil {
		out["http"] = c.httpLn.Addr().(*net.TCPAddr).Port
	}
	if c.httpsLn != nil {
		out["https"] = c.httpsLn.Addr().(*net.TCPAddr).Port
	}
	return out
}

// Table is the routing table in use.
func (c *Controller) Table() *Table { return c.table.Load() }

// ServeHTTP routes one request through the current table: 404 without a route, 503 when the
// backend has no ready endpoint or cannot be served, else proxied to one of its pods.
func (c *Controller) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, ok := c.table.Load().Route(r.Host, r.URL.Path)
	if !ok {
		http.Error(w, "404 not found: no Ingress rule matches", http.StatusNotFound)
		return
	}
	target, ok := b.Pick()
	if !ok {
		msg := fmt.Sprintf("503 service unavailable: service %s port %s has no ready endpoint", b.Service, b.Port)
		if b.Unsupported != "" {
			msg = "503 service unavailable: " + b.Unsupported
		}
		http.Error(w, msg, http.StatusServiceUnavailable)
		return
	}
	c.proxy.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), targetKey{}, target)))
}

// getCertificate chooses the certificate of a handshake by SNI, else the default one.
func (c *Controller) getCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	if cert, ok := c.table.Load().Certificates().For(hello.ServerName); ok {
		return cert, nil
	}
	return c.fallback, nil
}

// Start serves until ctx ends: it watches Ingresses, IngressClasses, Services, EndpointSlices
// and the named TLS Secrets, swaps the routing table on every change (listeners stay open and
// requests in flight finish on the backend they chose) and records its ports on its Node.
func (c *Controller) Start(ctx context.Context) error {
	log := klog.FromContext(ctx).WithName("ingress").WithValues("node", c.cfg.NodeName)
	ctx = klog.NewContext(ctx, log)
	defer c.closeListeners()
	if c.cfg.Recorder == nil {
		b := record.NewBroadcaster(record.WithContext(ctx))
		b.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: c.cfg.Client.CoreV1().Events("")})
		defer b.Shutdown()
		c.cfg.Recorder = b.NewRecorder(scheme.Scheme, corev1.EventSource{Component: ControllerName, Host: c.cfg.NodeName})
	}
	factory := informers.NewSharedInformerFactory(c.cfg.Client, 0)
	ings := factory.Networking().V1().Ingresses()
	classes := factory.Networking().V1().IngressClasses()
	svcs := factory.Core().V1().Services()
	slices := factory.Discovery().V1().EndpointSlices()
	for _, inf := range []cache.SharedIndexInformer{ings.Informer(), classes.Informer(), svcs.Informer(), slices.Informer()} {
		if _, err := inf.AddEventHandler(c.changeHandler()); err != nil {
			return fmt.Errorf("ingress: %w", err)
		}
	}
	factory.Start(ctx.Done())
	defer factory.Shutdown()
	defer c.stopSecretWatches()
	if !cache.WaitForCacheSync(ctx.Done(), ings.Informer().HasSynced, classes.Informer().HasSynced,
		svcs.Informer().HasSynced, slices.Informer().HasSynced) {
		return nil
	}
	l := listers{ings: ings.Lister(), classes: classes.Lister(), svcs: svcs.Lister(), slices: slices.Lister()}
	c.rebuild(ctx, l)

	var wg sync.WaitGroup
	var servers []*http.Server
	serve := func(ln net.Listener, tlsOn bool) {
		srv := &http.Server{Handler: c, ReadHeaderTimeout: 30 * time.Second, ErrorLog: stdlog.New(serverLog{log}, "", 0),
			BaseContext: func(net.Listener) context.Context { return ctx }}
		if tlsOn {
			srv.TLSConfig = &tls.Config{GetCertificate: c.getCertificate, MinVersion: tls.VersionTLS12}
		}
		servers = append(servers, srv)
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			if tlsOn {
				err = srv.ServeTLS(ln, "", "")
			} else {
				err = srv.Serve(ln)
			}
			if err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error(err, "Ingress server stopped", "address", ln.Addr().String())
			}
		}()
	}
	if c.httpLn != nil {
		serve(c.httpLn, false)
	}
	if c.httpsLn != nil {
		serve(c.httpsLn, true)
	}
	log.Info("Ingress controller started", "ports", helper.FormatIngressPorts(c.Ports()), "class", c.cfg.ClassController)
	wg.Add(1)
	go func() { defer wg.Done(); c.annotateNode(ctx) }()

	for {
		select {
		case <-ctx.Done():
			shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			for _, s := range servers {
				_ = s.Shutdown(shutdownCtx)
			}
			cancel()
			wg.Wait()
			return nil
		case <-c.dirty:
			c.rebuild(ctx, l)
		}
	}
}

func (c *Controller) changeHandler() cache.ResourceEventHandlerFuncs {
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { c.markDirty() },
		UpdateFunc: func(any, any) { c.markDirty() },
		DeleteFunc: func(any) { c.markDirty() },
	}
}

func (c *Controller) markDirty() {
	select {
	case c.dirty <- struct{}{}:
	default:
	}
}

type listers struct {
	ings    networkinglisters.IngressLister
	classes networkinglisters.IngressClassLister
	svcs    corelisters.ServiceLister
	slices  discoverylisters.EndpointSliceLister
}

// rebuild builds a new table from the caches and swaps it in, then reports new problems.
func (c *Controller) rebuild(ctx context.Context, l listers) {
	log := klog.FromContext(ctx)
	all, _ := l.ings.List(labels.Everything())
	classes, _ := l.classes.List(labels.Everything())
	var served []*networkingv1.Ingress
	for _, ing := range all {
		if helper.IngressServedBy(ing, classes, c.cfg.ClassController) {
			served = append(served, ing)
		}
	}
	svcs, _ := l.svcs.List(labels.Everything())
	slices, _ := l.slices.List(labels.Everything())
	secrets := c.watchSecrets(ctx, SecretNames(served))
	t := BuildTable(Input{Ingresses: served, Services: svcs, Slices: slices, Secrets: secrets})
	c.table.Store(t)
	log.V(4).Info("Ingress routing table swapped", "ingresses", len(served))
	byName := map[types.NamespacedName]*networkingv1.Ingress{}
	for _, ing := range served {
		byName[types.NamespacedName{Namespace: ing.Namespace, Name: ing.Name}] = ing
	}
	for _, p := range t.Problems() {
		if c.reported[p] || byName[p.Ingress] == nil {
			continue
		}
		c.reported[p] = true
		log.Info("Ingress problem", "ingress", p.Ingress, "reason", p.Reason, "message", p.Message)
		c.cfg.Recorder.Event(byName[p.Ingress], corev1.EventTypeWarning, p.Reason, p.Message)
	}
}

// watchSecrets keeps one name-scoped informer per named Secret (starting new ones, stopping
// those no longer named) and returns the Secrets they hold.
func (c *Controller) watchSecrets(ctx context.Context, names []types.NamespacedName) []*corev1.Secret {
	c.secretsMu.Lock()
	defer c.secretsMu.Unlock()
	want := map[types.NamespacedName]bool{}
	var out []*corev1.Secret
	for _, n := range names {
		want[n] = true
		w := c.secrets[n]
		if w == nil {
			w = c.startSecretWatch(ctx, n)
			c.secrets[n] = w
		}
		if s, err := w.lister.Secrets(n.Namespace).Get(n.Name); err == nil {
			out = append(out, s)
		}
	}
	for n, w := range c.secrets {
		if !want[n] {
			close(w.stop)
			delete(c.secrets, n)
		}
	}
	return out
}

func (c *Controller) startSecretWatch(ctx context.Context, n types.NamespacedName) *secretWatch {
	f := informers.NewSharedInformerFactoryWithOptions(c.cfg.Client, 0, informers.WithNamespace(n.Namespace),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("metadata.name", n.Name).String()
		}))
	inf := f.Core().V1().Secrets()
	w := &secretWatch{stop: make(chan struct{}), lister: inf.Lister(), synced: inf.Informer().HasSynced}
	if _, err := inf.Informer().AddEventHandler(c.changeHandler()); err != nil {
		klog.FromContext(ctx).Error(err, "Cannot watch the TLS secret", "secret", n)
	}
	f.Start(w.stop)
	go func() {
		select {
		case <-w.stop:
		case <-ctx.Done():
		}
		f.Shutdown()
	}()
	return w
}

func (c *Controller) stopSecretWatches() {
	c.secretsMu.Lock()
	defer c.secretsMu.Unlock()
	for n, w := range c.secrets {
		close(w.stop)
		delete(c.secrets, n)
	}
}

// annotateNode records the ports on the node's Node (helper.AnnIngressPorts), retrying until
// the Node exists (the agent registers it) or ctx ends.
func (c *Controller) annotateNode(ctx context.Context) {
	log := klog.FromContext(ctx)
	value := helper.FormatIngressPorts(c.Ports())
	patch := []byte(`{"metadata":{"annotations":{` + strconv.Quote(helper.AnnIngressPorts) + `:` + strconv.Quote(value) + `}}}`)
	for {
		_, err := c.cfg.Client.CoreV1().Nodes().Patch(ctx, c.cfg.NodeName, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
		if err == nil {
			log.Info("Ingress ports recorded on the node", "annotation", helper.AnnIngressPorts, "ports", value)
			return
		}
		log.V(2).Info("Retrying the ingress ports annotation", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-c.cfg.Clock.After(c.cfg.RetryInterval):
		}
	}
}

// serverLog sends net/http's server messages (TLS handshake errors, ...) to the log at V(2).
type serverLog struct{ log klog.Logger }

func (s serverLog) Write(p []byte) (int, error) {
	s.log.V(2).Info("Ingress server message", "message", strings.TrimSpace(string(p)))
	return len(p), nil
}
