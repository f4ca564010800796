// Package server is the node agent's HTTPS server, the kubelet's server API that the API server
// proxies pods/log, pods/exec, pods/attach and pods/portforward to: /containerLogs reads the
// containers' CRI log files, /exec, /attach and /portForward ask CRI for a streaming URL and
// proxy the upgraded (SPDY or websocket) connection to the runtime's streaming server, as
// upstream kubelet does with its streaming proxy option. /stats/summary and /metrics/resource
// serve the node's resource statistics (nodeagent/stats), which the API server's metrics API
// scrapes.
//
// Every request is authenticated and authorized as the kubelet's port does (auth.go): a client
// certificate of the cluster CA or a bearer token (TokenReview), nothing anonymous; then a
// SubjectAccessReview on nodes/<subresource> of this node through the node's API client.
package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/pprof"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/proxy"
	"k8s.io/client-go/kubernetes"
	internalapi "k8s.io/cri-api/pkg/apis"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	"k8s.io/klog/v2"
	statsv1alpha1 "k8s.io/kubelet/pkg/apis/stats/v1alpha1"
	"k8s.io/utils/clock"

	"github.com/skiff-dev/skiff/insight/trace"
)

// The labels the agent puts on CRI sandboxes and containers (upstream kubelet's keys).
const (
	podNameLabel       = "io.kubernetes.pod.name"
	podNamespaceLabel  = "io.kubernetes.pod.namespace"
	podUIDLabel        = "io.kubernetes.pod.uid"
	containerNameLabel = "io.kubernetes.container.name"
)

// DefaultPort is the kubelet's port, which nodes report in status.daemonEndpoints.
const DefaultPort = 10250

// Config configures the server.
type Config struct {
	// Addr is the listen address (":10250"); ignored when Listener is set.
	Addr     string
	Listener net.Listener
	// CertPEM and KeyPEM are the serving certificate (with its chain) and key.
	CertPEM, KeyPEM []byte
	// ClientCAs authenticate callers: only certificates they signed are accepted.
	ClientCAs *x509.CertPool
	// NodeName is the node's name: requests are authorized on the nodes object of that name.
	NodeName string
	// Client is the node's API client, through which bearer tokens are reviewed (TokenReview)
	// and every request is authorized (SubjectAccessReview).
	Client kubernetes.Interface
	// Clock, when set, replaces the real clock of the review caches (for tests).
	Clock clock.PassiveClock
	// Runtime is the CRI runtime service the pods run on.
	Runtime internalapi.RuntimeService
	// PodLogDir returns a pod's log directory (<dir>/<container>/<restartCount>.log); used when
	// the runtime does not report a container's log path and for the logs of containers the
	// runtime no longer has. May be nil.
	PodLogDir func(namespace, name, uid string) string
	// Metrics, when set, is served at /metrics (to callers allowed nodes/metrics), as the
	// kubelet serves its metrics on its own port.
	Metrics prometheus.Gatherer
	// Stats, when set, serves /stats/summary and /metrics/resource (to callers allowed
	// nodes/stats and nodes/metrics), as the kubelet.
	Stats SummaryProvider
	// Traces, when set, serves the node's spans at /insight/v1/traces (to callers allowed
	// nodes/proxy), which the API server merges into its own (skiff trace).
	Traces *trace.Store
	// Profiling serves net/http/pprof at /debug/pprof/ (to callers allowed nodes/proxy), as the
	// kubelet's enableProfilingHandler.
	Profiling bool
}

// SummaryProvider reads the node's resource statistics (nodeagent/stats.Provider).
type SummaryProvider interface {
	Summary(ctx context.Context) (*statsv1alpha1.Summary, error)
}

// Server serves the node's API.
type Server struct {
	cfg      Config
	listener net.Listener
	handler  http.Handler
}

// New checks the configuration and listens; Start serves.
func New(cfg Config) (*Server, error) {
	if cfg.Runtime == nil {
		return nil, fmt.Errorf("node server: no runtime service")
	}
	if cfg.ClientCAs == nil {
		return nil, fmt.Errorf("node server: no client CA")
	}
	handler, err := newHandler(cfg)
	if err != nil {
		return nil, err
	}
	cert, err := tls.X509KeyPair(cfg.CertPEM, cfg.KeyPEM)
	if err != nil {
		return nil, fmt.Errorf("node server: serving certificate: %w", err)
	}
	l := cfg.Listener
	if l == nil {
		addr := cfg.Addr
		if addr == "" {
			addr = ":" + strconv.Itoa(DefaultPort)
		}
		if l, err = net.Listen("tcp", addr); err != nil {
			return nil, fmt.Errorf("node server: %w", err)
		}
	}
	tlsConfig := &tls.Config{
		Certificates: []tls.Certificate{cert},
		ClientCAs:    cfg.ClientCAs,
		ClientAuth:   tls.VerifyClientCertIfGiven,
		MinVersion:   tls.VersionTLS12,
		// Upgrades (SPDY, websocket) need HTTP/1.1.
		NextProtos: []string{"http/1.1"},
	}
	return &Server{cfg: cfg, listener: tls.NewListener(l, tlsConfig), handler: handler}, nil
}

// newHandler is the server's routes behind authentication and authorization.
func newHandler(cfg Config) (http.Handler, error) {
	if cfg.NodeName == "" {
		return nil, fmt.Errorf("node server: no node name")
	}
	if cfg.Client == nil {
		return nil, fmt.Errorf("node server: no API client to review tokens and authorize requests")
	}
	s := &Server{cfg: cfg}
	return newRequestAuth(cfg.NodeName, cfg.Client, cfg.Clock).filter(s.routes()), nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() net.Addr { return s.listener.Addr() }

// Handler is the server's handler (authentication and authorization included), for tests.
func (s *Server) Handler() http.Handler { return s.handler }

// Start serves until ctx is done.
func (s *Server) Start(ctx context.Context) error {
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 30 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = srv.Shutdown(sctx)
			_ = srv.Close()
		case <-done:
		}
	}()
	err := srv.Serve(s.listener)
	close(done)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// routes are the server's handlers; newHandler puts them behind authentication and
// authorization.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	if s.cfg.Traces != nil {
		mux.Handle("GET "+trace.Path, s.cfg.Traces)
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })
	mux.HandleFunc("GET /containerLogs/{namespace}/{pod}/{container}", s.containerLogs)
	for _, verb := range []string{"exec", "attach"} {
		h := s.streaming(verb)
		for _, method := range []string{"GET", "POST"} {
			mux.HandleFunc(method+" /"+verb+"/{namespace}/{pod}/{container}", h)
			mux.HandleFunc(method+" /"+verb+"/{namespace}/{pod}/{uid}/{container}", h)
		}
	}
	for _, method := range []string{"GET", "POST"} {
		mux.HandleFunc(method+" /portForward/{namespace}/{pod}", s.portForward)
		mux.HandleFunc(method+" /portForward/{namespace}/{pod}/{uid}", s.portForward)
	}
	if s.cfg.Metrics != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(s.cfg.Metrics, promhttp.HandlerOpts{}))
	}
	if s.cfg.Stats != nil {
		mux.HandleFunc("GET /stats/summary", s.statsSummary)
		mux.HandleFunc("GET /metrics/resource", s.resourceMetrics)
	}
	if s.cfg.Profiling {
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	}
	return mux
}

func writeError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_, _ = io.WriteString(w, msg)
}

// findPod returns the pod's newest sandbox, preferring a ready one; uid, when set, must match.
func (s *Server) findPod(ctx context.Context, namespace, name, uid string) (*runtimeapi.PodSandbox, error) {
	sandboxes, err := s.cfg.Runtime.ListPodSandbox(ctx, &runtimeapi.PodSandboxFilter{
		LabelSelector: map[string]string{podNameLabel: name, podNamespaceLabel: namespace},
	})
	if err != nil {
		return nil, err
	}
	var best *runtimeapi.PodSandbox
	for _, sb := range sandboxes {
		if uid != "" && sb.GetMetadata().GetUid() != uid {
			continue
		}
		if best == nil {
			best = sb
			continue
		}
		bestReady, ready := best.State == runtimeapi.PodSandboxState_SANDBOX_READY, sb.State == runtimeapi.PodSandboxState_SANDBOX_READY
		if ready && !bestReady || ready == bestReady && sb.CreatedAt > best.CreatedAt {
			best = sb
		}
	}
	return best, nil
}

// containers returns the pod's containers of that name, newest (highest attempt) first.
func (s *Server) containers(ctx context.Context, uid, name string) ([]*runtimeapi.Container, error) {
	ctrs, err := s.cfg.Runtime.ListContainers(ctx, &runtimeapi.ContainerFilter{
		LabelSelector: map[string]string{podUIDLabel: uid, containerNameLabel: name},
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(ctrs, func(i, j int) bool {
		ai, aj := ctrs[i].GetMetadata().GetAttempt(), ctrs[j].GetMetadata().GetAttempt()
		if ai != aj {
			return ai > aj
		}
		return ctrs[i].CreatedAt > ctrs[j].CreatedAt
	})
	return ctrs, nil
}

// parseBool reads a query parameter as the API's parameter codec does: absent, 0 or false is
// false, anything else true.
func parseBool(q map[string][]string, key string) bool {
	v, ok := q[key]
	if !ok || len(v) == 0 {
		return false
	}
	switch strings.ToLower(v[0]) {
	case "0", "false":
		return false
	}
	return true
}

func parseInt(q map[string][]string, key string) (*int64, error) {
	v, ok := q[key]
	if !ok || len(v) == 0 || v[0] == "" {
		return nil, nil
	}
	n, err := strconv.ParseInt(v[0], 10, 64)
	if err != nil {
		return nil, fmt.Errorf("invalid %s %q: %v", key, v[0], err)
	}
	return &n, nil
}

// PodLogOptionsFromQuery reads the kubelet's /containerLogs query parameters.
func PodLogOptionsFromQuery(q map[string][]string) (*corev1.PodLogOptions, error) {
	o := &corev1.PodLogOptions{
		Follow: parseBool(q, "follow"), Previous: parseBool(q, "previous"), Timestamps: parseBool(q, "timestamps"),
	}
	var err error
	if o.TailLines, err = parseInt(q, "tailLines"); err != nil {
		return nil, err
	}
	if o.LimitBytes, err = parseInt(q, "limitBytes"); err != nil {
		return nil, err
	}
	if o.SinceSeconds, err = parseInt(q, "sinceSeconds"); err != nil {
		return nil, err
	}
	if v := q["sinceTime"]; len(v) > 0 && v[0] != "" {
		t, err := time.Parse(time.RFC3339, v[0])
		if err != nil {
			return nil, fmt.Errorf("invalid sinceTime %q: %v", v[0], err)
		}
		mt := metav1.NewTime(t)
		o.SinceTime = &mt
	}
	if v := q["stream"]; len(v) > 0 && v[0] != "" {
		stream := v[0]
		o.Stream = &stream
	}
	switch {
	case o.TailLines != nil && *o.TailLines < 0:
		return nil, fmt.Errorf("tailLines must be greater than or equal to 0")
	case o.LimitBytes != nil && *o.LimitBytes < 1:
		return nil, fmt.Errorf("limitBytes must be greater than 0")
	case o.SinceSeconds != nil && *o.SinceSeconds < 1:
		return nil, fmt.Errorf("sinceSeconds must be greater than 0")
	case o.SinceSeconds != nil && o.SinceTime != nil:
		return nil, fmt.Errorf("at most one of sinceTime or sinceSeconds may be specified")
	}
	return o, nil
}

// containerLogs serves /containerLogs/{namespace}/{pod}/{container}.
func (s *Server) containerLogs(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	namespace, podName, name := r.PathValue("namespace"), r.PathValue("pod"), r.PathValue("container")
	podID := namespace + "/" + podName
	apiOpts, err := PodLogOptionsFromQuery(r.URL.Query())
	if err != nil {
		writeError(w, http.StatusBadRequest, fmt.Sprintf(`unable to decode query: %v`, err))
		return
	}
	sb, err := s.findPod(ctx, namespace, podName, "")
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	if sb == nil {
		writeError(w, http.StatusNotFound, fmt.Sprintf("pod %q does not exist", podID))
		return
	}
	uid := sb.GetMetadata().GetUid()
	ctrs, err := s.containers(ctx, uid, name)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	var (
		path      string
		container *runtimeapi.Container
	)
	if apiOpts.Previous {
		switch {
		case len(ctrs) > 1:
			container = ctrs[1]
		case len(ctrs) == 1 && ctrs[0].GetMetadata().GetAttempt() > 0 && s.cfg.PodLogDir != nil:
			// The runtime removed the previous container; its log file may remain.
			p := filepath.Join(s.cfg.PodLogDir(namespace, podName, uid), name, fmt.Sprintf("%d.log", ctrs[0].GetMetadata().GetAttempt()-1))
			if _, err := os.Stat(p); err == nil {
				path = p
			}
		}
		if container == nil && path == "" {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("previous terminated container %q in pod %q not found", name, podName))
			return
		}
	} else {
		if len(ctrs) == 0 || ctrs[0].State == runtimeapi.ContainerState_CONTAINER_CREATED {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("container %q in pod %q is waiting to start: ContainerCreating", name, podName))
			return
		}
		container = ctrs[0]
	}
	if container != nil {
		st, err := s.cfg.Runtime.ContainerStatus(ctx, container.Id, false)
		if err != nil {
			writeError(w, http.StatusInternalServerError, err.Error())
			return
		}
		path = st.GetStatus().GetLogPath()
		if path == "" && s.cfg.PodLogDir != nil {
			path = filepath.Join(s.cfg.PodLogDir(namespace, podName, uid), name, fmt.Sprintf("%d.log", container.GetMetadata().GetAttempt()))
		}
	}
	if _, err := os.Stat(path); err != nil {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("failed to open log file of container %q in pod %q: %v", name, podName, err))
		return
	}
	opts := NewLogOptions(apiOpts, time.Now())
	// Only the current container is followed; a previous one has ended.
	opts.Follow = opts.Follow && !apiOpts.Previous
	running := func(ctx context.Context) bool {
		st, err := s.cfg.Runtime.ContainerStatus(ctx, container.Id, false)
		return err == nil && st.GetStatus().GetState() == runtimeapi.ContainerState_CONTAINER_RUNNING
	}
	w.Header().Set("Content-Type", "text/plain")
	w.Header().Set("Transfer-Encoding", "chunked")
	w.WriteHeader(http.StatusOK)
	if err := ReadLogs(ctx, path, opts, running, flushWriter{w}); err != nil {
		klog.FromContext(ctx).V(2).Info("Reading container logs", "pod", podID, "container", name, "err", err)
	}
}

// flushWriter flushes after each write, as the kubelet's flushwriter: followed logs arrive as
// they are written, and a log's last bytes are sent before the end of the chunked response.
type flushWriter struct{ w http.ResponseWriter }

func (f flushWriter) Write(p []byte) (int, error) {
	n, err := f.w.Write(p)
	f.Flush()
	return n, err
}
func (f flushWriter) Flush() {
	if fl, ok := f.w.(http.Flusher); ok {
		fl.Flush()
	}
}

// errorResponder writes proxy errors as text.
type errorResponder struct{}

func (errorResponder) Error(w http.ResponseWriter, req *http.Request, err error) {
	klog.FromContext(req.Context()).V(2).Info("Streaming proxy error", "path", req.URL.Path, "err", err)
	writeError(w, http.StatusInternalServerError, err.Error())
}

// streamOptions are the remotecommand query parameters, read as the kubelet does.
type streamOptions struct {
	stdin, stdout, stderr, tty bool
}

func newStreamOptions(r *http.Request) (*streamOptions, error) {
	q := r.URL.Query()
	o := &streamOptions{
		stdin:  q.Get(corev1.ExecStdinParam) == "1",
		stdout: q.Get(corev1.ExecStdoutParam) == "1",
		stderr: q.Get(corev1.ExecStderrParam) == "1",
		tty:    q.Get(corev1.ExecTTYParam) == "1",
	}
	if o.tty && o.stderr {
		// As the kubelet: a terminal has no separate stderr.
		o.stderr = false
	}
	if !o.stdin && !o.stdout && !o.stderr {
		return nil, fmt.Errorf("you must specify at least 1 of stdin, stdout, stderr")
	}
	return o, nil
}

// streaming serves /exec and /attach: the running container's streaming URL from CRI, then a
// proxy of the upgraded connection to it.
func (s *Server) streaming(verb string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		namespace, podName, uid, name := r.PathValue("namespace"), r.PathValue("pod"), r.PathValue("uid"), r.PathValue("container")
		opts, err := newStreamOptions(r)
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		sb, err := s.findPod(ctx, namespace, podName, uid)
		if err != nil {
			writeError(w, http.StatusInternalServerError, err.Error())
			return
		}
		if sb == nil {
			writeError(w, http.StatusNotFound, "pod does not exist")
			return
		}
		ctrs, err := s.containers(ctx, sb.GetMetadata().GetUid(), name)
		if err != nil {
			writeError(w, http.StatusInternalServerError, err.Error())
			return
		}
		var id string
		for _, c := range ctrs {
			if c.State == runtimeapi.ContainerState_CONTAINER_RUNNING {
				id = c.Id
				break
			}
		}
		if id == "" {
			writeError(w, http.StatusNotFound, fmt.Sprintf("container not found (%q)", name))
			return
		}
		var streamURL string
		switch verb {
		case "exec":
			cmd := r.URL.Query()["command"]
			if len(cmd) == 0 {
				writeError(w, http.StatusBadRequest, "you must specify at least one command for the container")
				return
			}
			resp, err := s.cfg.Runtime.Exec(ctx, &runtimeapi.ExecRequest{ContainerId: id, Cmd: cmd,
				Tty: opts.tty, Stdin: opts.stdin, Stdout: opts.stdout, Stderr: opts.stderr})
			if err != nil {
				writeError(w, http.StatusInternalServerError, err.Error())
				return
			}
			streamURL = resp.GetUrl()
		default:
			resp, err := s.cfg.Runtime.Attach(ctx, &runtimeapi.AttachRequest{ContainerId: id,
				Tty: opts.tty, Stdin: opts.stdin, Stdout: opts.stdout, Stderr: opts.stderr})
			if err != nil {
				writeError(w, http.StatusInternalServerError, err.Error())
				return
			}
			streamURL = resp.GetUrl()
		}
		proxyStream(w, r, streamURL)
	}
}

// portForward serves /portForward/{namespace}/{pod}.
func (s *Server) portForward(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	namespace, podName, uid := r.PathValue("namespace"), r.PathValue("pod"), r.PathValue("uid")
	var ports []int32
	for _, v := range r.URL.Query()[corev1.PortHeader] {
		for _, p := range strings.Split(v, ",") {
			n, err := strconv.ParseUint(strings.TrimSpace(p), 10, 16)
			if err != nil || n == 0 {
				writeError(w, http.StatusBadRequest, fmt.Sprintf("invalid port %q", p))
				return
			}
			ports = append(ports, int32(n))
		}
	}
	sb, err := s.findPod(ctx, namespace, podName, uid)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	if sb == nil || sb.State != runtimeapi.PodSandboxState_SANDBOX_READY {
		writeError(w, http.StatusNotFound, "pod does not exist")
		return
	}
	resp, err := s.cfg.Runtime.PortForward(ctx, &runtimeapi.PortForwardRequest{PodSandboxId: sb.Id, Port: ports})
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	proxyStream(w, r, resp.GetUrl())
}

// proxyStream proxies an upgrade request to the runtime's streaming server, as the kubelet's
// proxyStream.
func proxyStream(w http.ResponseWriter, r *http.Request, streamURL string) {
	u, err := url.Parse(streamURL)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	handler := proxy.NewUpgradeAwareHandler(u, nil, false, true, errorResponder{})
	handler.ServeHTTP(w, r)
}
