package probes

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/skiff-dev/skiff/apis/defaults"
	"github.com/skiff-dev/skiff/insight/trace"
	"github.com/skiff-dev/skiff/nodeagent/status"

	"go.opentelemetry.io/otel/attribute"
	oteltrace "go.opentelemetry.io/otel/trace"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	cri "k8s.io/cri-api/pkg/apis"
	remote "k8s.io/cri-client/pkg"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
)

// Kind is the probe kind.
type Kind int

// Probe kinds.
const (
	Liveness Kind = iota
	Readiness
	Startup
)

func (k Kind) String() string {
	switch k {
	case Liveness:
		return "Liveness"
	case Readiness:
		return "Readiness"
	}
	return "Startup"
}

// Result of a probe.
type Result int

// Results; Unknown is "no result yet". Warning is a success with a warning event (upstream's
// probe.Warning: an HTTP probe redirected to another host is not followed); it is never stored.
const (
	Unknown Result = iota
	Success
	Failure
	Warning
)

// Prober runs one probe against one container.
type Prober interface {
	Probe(ctx context.Context, pod *corev1.Pod, status *corev1.PodStatus, c *corev1.Container, containerID string, p *corev1.Probe) (Result, string, error)
}

// Config configures a Manager.
type Config struct {
	Prober Prober
	Clock  clock.WithTicker
	// Event records a container event (Warning Unhealthy "Liveness probe failed: ...").
	Event func(pod *corev1.Pod, container, eventType, reason, message string)
	// OnChange is called when a result changed, so the pod is synced again.
	OnChange func(uid types.UID)
	// Tracer records a span when a probe run changes the container's result (insight/trace:
	// the pod's attributes, the probe kind, the result, the run's duration); nil records none.
	// Periodic runs that change nothing record nothing.
	Tracer oteltrace.Tracer
	// Component is the spans' skiff.component (the agent's: agent:<node>).
	Component string
}

type key struct {
	uid       types.UID
	container string
	kind      Kind
}

// Manager owns the probe workers and their results.
type Manager struct {
	cfg Config

	mu       sync.Mutex
	ctx      context.Context
	workers  map[key]*worker
	results  map[string]map[Kind]Result // by container ID (without runtime prefix)
	statuses map[types.UID]*corev1.PodStatus
}

// NewManager returns a Manager; workers run under ctx given to Start.
func NewManager(cfg Config) *Manager {
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	return &Manager{cfg: cfg, workers: map[key]*worker{}, results: map[string]map[Kind]Result{}, statuses: map[types.UID]*corev1.PodStatus{}}
}

// Start sets the context the workers run under (they stop when it ends).
func (m *Manager) Start(ctx context.Context) {
	m.mu.Lock()
	m.ctx = ctx
	m.mu.Unlock()
}

func probeOf(c *corev1.Container, k Kind) *corev1.Probe {
	switch k {
	case Liveness:
		return c.LivenessProbe
	case Readiness:
		return c.ReadinessProbe
	}
	return c.StartupProbe
}

// AddPod starts workers for the pod's probes that have none yet (idempotent).
func (m *Manager) AddPod(pod *corev1.Pod) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ctx == nil {
		return
	}
	for _, c := range ProbedContainers(pod) {
		for _, k := range []Kind{Liveness, Readiness, Startup} {
			p := probeOf(c, k)
			if p == nil {
				continue
			}
			kk := key{pod.UID, c.Name, k}
			if _, ok := m.workers[kk]; ok {
				continue
			}
			w := newWorker(m, pod, c, k, p)
			m.workers[kk] = w
			go w.run(m.ctx)
		}
	}
}

// ProbedContainers are the containers whose probes run: the app containers and the sidecars
// (restartable init containers), as upstream's prober manager.
func ProbedContainers(pod *corev1.Pod) []*corev1.Container {
	var out []*corev1.Container
	for i := range pod.Spec.Containers {
		out = append(out, &pod.Spec.Containers[i])
	}
	for i := range pod.Spec.InitContainers {
		if c := &pod.Spec.InitContainers[i]; status.IsRestartableInitContainer(c) {
			out = append(out, c)
		}
	}
	return out
}

// RemovePod stops the pod's workers and forgets its results.
func (m *Manager) RemovePod(uid types.UID) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, w := range m.workers {
		if k.uid == uid {
			close(w.stop)
			delete(m.workers, k)
		}
	}
	delete(m.statuses, uid)
}

// UpdatePodStatus gives the workers the pod's current status (container IDs, start times,
// pod IP). As upstream's prober manager, a running container that is not ready has its readiness
// probe run at once rather than at its next period: a container whose startup probe just
// succeeded becomes ready without waiting up to periodSeconds.
func (m *Manager) UpdatePodStatus(uid types.UID, s *corev1.PodStatus) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.statuses[uid] = s.DeepCopy()
	for _, list := range [][]corev1.ContainerStatus{s.ContainerStatuses, s.InitContainerStatuses} {
		for i := range list {
			cs := &list[i]
			if cs.State.Running == nil || cs.Ready || (cs.Started != nil && !*cs.Started) {
				continue
			}
			if w, ok := m.workers[key{uid, cs.Name, Readiness}]; ok {
				select {
				case w.trigger <- struct{}{}:
				default: // a run is already pending
				}
			}
		}
	}
}

func (m *Manager) status(uid types.UID) *corev1.PodStatus {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.statuses[uid]
}

// Result returns the current result of a kind for a container ID (Unknown: none).
func (m *Manager) Result(containerID string, k Kind) Result {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.results[trimID(containerID)][k]
}

// What Failed returns for a failed liveness or startup probe.
const (
	FailedLivenessProbe = "failed liveness probe"
	FailedStartupProbe  = "failed startup probe"
)

// Failed implements kuberuntime.ProbeResults: a container whose liveness or startup probe
// failed must be restarted.
func (m *Manager) Failed(containerID string) string {
	switch {
	case m.Result(containerID, Liveness) == Failure:
		return FailedLivenessProbe
	case m.Result(containerID, Startup) == Failure:
		return FailedStartupProbe
	}
	return ""
}

// Started implements kuberuntime.ProbeResults: the container's startup probe succeeded.
func (m *Manager) Started(containerID string) bool {
	return m.Result(containerID, Startup) == Success
}

// set stores a result and reports whether it changed.
func (m *Manager) set(uid types.UID, containerID string, k Kind, r Result) bool {
	m.mu.Lock()
	id := trimID(containerID)
	rs := m.results[id]
	if rs == nil {
		rs = map[Kind]Result{}
		m.results[id] = rs
	}
	changed := rs[k] != r
	rs[k] = r
	m.mu.Unlock()
	if changed && m.cfg.OnChange != nil {
		m.cfg.OnChange(uid)
	}
	return changed
}

func (m *Manager) remove(containerID string, k Kind) {
	m.mu.Lock()
	defer m.mu.Unlock()
	id := trimID(containerID)
	if rs := m.results[id]; rs != nil {
		delete(rs, k)
		if len(rs) == 0 {
			delete(m.results, id)
		}
	}
}

func trimID(id string) string {
	if i := strings.Index(id, "://"); i >= 0 {
		return id[i+3:]
	}
	return id
}

// worker probes one container with one probe kind, as upstream's worker.
type worker struct {
	m         *Manager
	pod       *corev1.Pod
	container *corev1.Container
	kind      Kind
	probe     *corev1.Probe
	stop      chan struct{}
	// trigger runs the probe now (UpdatePodStatus, for readiness).
	trigger chan struct{}

	initial     Result
	containerID string
	lastResult  Result
	resultRun   int
	onHold      bool
}

func newWorker(m *Manager, pod *corev1.Pod, c *corev1.Container, k Kind, p *corev1.Probe) *worker {
	w := &worker{m: m, pod: pod, container: c, kind: k, probe: withDefaults(p), stop: make(chan struct{}), trigger: make(chan struct{}, 1)}
	switch k {
	case Readiness:
		w.initial = Failure
	case Liveness:
		w.initial = Success
	default:
		w.initial = Unknown
	}
	return w
}

// withDefaults is a copy of p with the API's probe defaults, for probes that did not come
// through the API server.
func withDefaults(p *corev1.Probe) *corev1.Probe {
	p = p.DeepCopy()
	defaults.Probe(p)
	return p
}

func (w *worker) run(ctx context.Context) {
	t := w.m.cfg.Clock.NewTicker(time.Duration(w.probe.PeriodSeconds) * time.Second)
	defer t.Stop()
	defer func() {
		if w.containerID != "" {
			w.m.remove(w.containerID, w.kind)
		}
	}()
	for w.doProbe(ctx) {
		select {
		case <-ctx.Done():
			return
		case <-w.stop:
			return
		case <-t.C():
		case <-w.trigger:
		}
	}
}

// doProbe is upstream's worker.doProbe: it returns whether to keep probing.
func (w *worker) doProbe(ctx context.Context) bool {
	st := w.m.status(w.pod.UID)
	if st == nil {
		return true // no status yet
	}
	if st.Phase == corev1.PodFailed || st.Phase == corev1.PodSucceeded {
		return false
	}
	var cs *corev1.ContainerStatus
	for i := range st.ContainerStatuses {
		if st.ContainerStatuses[i].Name == w.container.Name {
			cs = &st.ContainerStatuses[i]
		}
	}
	if status.IsRestartableInitContainer(w.container) {
		for i := range st.InitContainerStatuses {
			if st.InitContainerStatuses[i].Name == w.container.Name {
				cs = &st.InitContainerStatuses[i]
			}
		}
	}
	if cs == nil || cs.ContainerID == "" {
		return true // container not created yet
	}
	if w.containerID != cs.ContainerID {
		if w.containerID != "" {
			w.m.remove(w.containerID, w.kind)
		}
		w.containerID = cs.ContainerID
		initial := w.initial
		// a container the status already shows ready (started) keeps that until probed, so
		// that an agent restart does not flap it.
		if w.kind == Readiness && cs.Ready || w.kind == Startup && cs.Started != nil && *cs.Started {
			initial = Success
		}
		w.m.set(w.pod.UID, w.containerID, w.kind, initial)
		w.onHold = false
		w.lastResult, w.resultRun = Unknown, 0
	}
	if w.onHold {
		return true // waiting for the container to be restarted
	}
	if cs.State.Running == nil {
		if w.kind != Startup || cs.State.Terminated != nil {
			w.m.set(w.pod.UID, w.containerID, w.kind, Failure)
		}
		// a container that will not be restarted is done with; sidecars always are.
		return cs.State.Terminated == nil || w.pod.Spec.RestartPolicy != corev1.RestartPolicyNever || status.IsRestartableInitContainer(w.container)
	}
	// graceful deletion: readiness fails, the others stop.
	if w.pod.DeletionTimestamp != nil {
		if w.kind == Readiness {
			w.m.set(w.pod.UID, w.containerID, w.kind, Failure)
		}
		return true
	}
	started := cs.Started != nil && *cs.Started
	if w.kind == Startup {
		if started {
			return true // startup done: liveness and readiness take over
		}
	} else if w.container.StartupProbe != nil && !started {
		return true // wait for the startup probe
	}
	if w.m.cfg.Clock.Since(cs.State.Running.StartedAt.Time) < time.Duration(w.probe.InitialDelaySeconds)*time.Second {
		return true
	}
	ranAt := w.m.cfg.Clock.Now()
	result, output, err := w.m.cfg.Prober.Probe(ctx, w.pod, st, w.container, trimID(cs.ContainerID), w.probe)
	run := probeRun{start: ranAt, end: w.m.cfg.Clock.Now(), output: output}
	if err != nil {
		klog.V(2).InfoS("Probe errored", "kind", w.kind, "pod", klog.KObj(w.pod), "container", w.container.Name, "err", err)
		w.event(corev1.EventTypeWarning, "Unhealthy", fmt.Sprintf("%s probe errored: %v", w.kind, err))
		return true // an error keeps the previous result
	}
	switch result {
	case Failure:
		w.event(corev1.EventTypeWarning, "Unhealthy", fmt.Sprintf("%s probe failed: %s", w.kind, output))
	case Warning:
		w.event(corev1.EventTypeWarning, "ProbeWarning", fmt.Sprintf("%s probe warning: %s", w.kind, output))
		result = Success
	}
	return w.observe(result, run)
}

// probeRun is when a probe ran and what it said.
type probeRun struct {
	start, end time.Time
	output     string
}

// observe applies the thresholds to one probe result; a run that changes the stored result is
// recorded as a span.
func (w *worker) observe(result Result, run probeRun) bool {
	if w.lastResult == result {
		w.resultRun++
	} else {
		w.lastResult, w.resultRun = result, 1
	}
	if (result == Failure && w.resultRun < int(w.probe.FailureThreshold)) ||
		(result == Success && w.resultRun < int(w.probe.SuccessThreshold)) {
		return true // keep the previous result
	}
	if w.m.set(w.pod.UID, w.containerID, w.kind, result) {
		w.traceChange(result, run)
	}
	if (w.kind == Liveness || w.kind == Startup) && result == Failure {
		// the container will be restarted: wait for the new one.
		w.onHold = true
		w.resultRun = 0
	}
	return true
}

// maxTracedOutput bounds the probe output a span keeps.
const maxTracedOutput = 256

// traceChange records the probe run that changed the result: "Readiness probe succeeded" or
// "Liveness probe failed", timed as the run, with the pod's attributes.
func (w *worker) traceChange(result Result, run probeRun) {
	tr := w.m.cfg.Tracer
	if tr == nil {
		return
	}
	verb := "succeeded"
	if result == Failure {
		verb = "failed"
	}
	_, sp := tr.Start(context.Background(), w.kind.String()+" probe "+verb, oteltrace.WithTimestamp(run.start))
	if sp.IsRecording() {
		sp.SetAttributes(trace.Object("Pod", w.pod)...)
		sp.SetAttributes(trace.Component(w.m.cfg.Component), attribute.String(AttrContainer, w.container.Name),
			attribute.String(AttrProbeKind, strings.ToLower(w.kind.String())), attribute.String(AttrProbeResult, resultName(result)))
		if result == Failure && run.output != "" {
			sp.SetAttributes(attribute.String(AttrProbeOutput, truncate(run.output, maxTracedOutput)))
		}
	}
	sp.End(oteltrace.WithTimestamp(run.end))
}

// The attributes of a probe's span.
const (
	AttrContainer   = "k8s.container.name"
	AttrProbeKind   = "skiff.probe.kind"
	AttrProbeResult = "skiff.probe.result"
	AttrProbeOutput = "skiff.probe.output"
)

func resultName(r Result) string {
	switch r {
	case Success:
		return "success"
	case Failure:
		return "failure"
	}
	return "unknown"
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

func (w *worker) event(eventType, reason, msg string) {
	if w.m.cfg.Event != nil {
		w.m.cfg.Event(w.pod, w.container.Name, eventType, reason, msg)
	}
}

// CRIProber runs probes for real: exec through CRI, HTTP, TCP and gRPC from the host.
type CRIProber struct {
	Runtime cri.RuntimeService
}

// Probe implements Prober.
func (p *CRIProber) Probe(ctx context.Context, pod *corev1.Pod, st *corev1.PodStatus, c *corev1.Container, containerID string, pr *corev1.Probe) (Result, string, error) {
	timeout := time.Duration(pr.TimeoutSeconds) * time.Second
	switch {
	case pr.Exec != nil:
		stdout, stderr, err := p.Runtime.ExecSync(ctx, containerID, pr.Exec.Command, timeout)
		out := string(stdout) + string(stderr)
		if err != nil {
			var exit interface{ ExitStatus() int }
			if errors.As(err, &exit) {
				return Failure, out, nil
			}
			if errors.Is(err, remote.ErrCommandTimedOut) || errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "timeout") || strings.Contains(err.Error(), "DeadlineExceeded") {
				return Failure, fmt.Sprintf("command %q timed out", strings.Join(pr.Exec.Command, " ")), nil
			}
			return Unknown, "", err
		}
		return Success, out, nil
	case pr.HTTPGet != nil:
		u, err := HTTPGetURL(pr.HTTPGet, c, st.PodIP)
		if err != nil {
			return Unknown, "", err
		}
		return DoHTTP(ctx, u, pr.HTTPGet.HTTPHeaders, timeout)
	case pr.TCPSocket != nil:
		host := pr.TCPSocket.Host
		if host == "" {
			host = st.PodIP
		}
		port, err := ResolvePort(pr.TCPSocket.Port, c)
		if err != nil {
			return Unknown, "", err
		}
		conn, err := (&net.Dialer{Timeout: timeout}).DialContext(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil {
			return Failure, err.Error(), nil
		}
		_ = conn.Close()
		return Success, "", nil
	case pr.GRPC != nil:
		service := ""
		if pr.GRPC.Service != nil {
			service = *pr.GRPC.Service
		}
		res, out := DoGRPC(ctx, st.PodIP, int(pr.GRPC.Port), service, timeout)
		return res, out, nil
	}
	return Unknown, "", fmt.Errorf("missing probe handler for %s", c.Name)
}

// DoHTTP is upstream's HTTP probe: GET with the kube-probe user agent, 2xx/3xx succeed.
func DoHTTP(ctx context.Context, u *url.URL, headers []corev1.HTTPHeader, timeout time.Duration) (Result, string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := NewHTTPGetRequest(ctx, u, headers, "probe")
	if err != nil {
		return Unknown, "", err
	}
	client := &http.Client{Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // upstream's probes skip verification
		DisableKeepAlives: true,
		Proxy:             nil,
	}, CheckRedirect: localRedirectsOnly}
	resp, err := client.Do(req)
	if err != nil {
		return Failure, err.Error(), nil
	}
	defer resp.Body.Close()
	buf := make([]byte, 10*1024)
	n, _ := resp.Body.Read(buf)
	body := string(buf[:n])
	if resp.StatusCode >= http.StatusOK && resp.StatusCode < http.StatusBadRequest {
		if resp.StatusCode >= http.StatusMultipleChoices {
			// a redirect to another host, not followed
			return Warning, "Probe terminated redirects, Response body: " + body, nil
		}
		return Success, body, nil
	}
	return Failure, fmt.Sprintf("HTTP probe failed with statuscode: %d", resp.StatusCode), nil
}

// localRedirectsOnly is upstream's RedirectChecker(false): redirects on the same host are
// followed (at most 10), one to another host ends the probe with its 3xx response.
func localRedirectsOnly(req *http.Request, via []*http.Request) error {
	if req.URL.Hostname() != via[0].URL.Hostname() {
		return http.ErrUseLastResponse
	}
	if len(via) >= 10 {
		return errors.New("stopped after 10 redirects")
	}
	return nil
}

// HTTPGetURL is the URL of an httpGet probe or lifecycle handler (upstream's
// NewRequestForHTTPGetAction): scheme (default http), host (default podIP), the port resolved
// by name against the container's ports, path and query.
func HTTPGetURL(g *corev1.HTTPGetAction, c *corev1.Container, podIP string) (*url.URL, error) {
	host := g.Host
	if host == "" {
		host = podIP
	}
	port, err := ResolvePort(g.Port, c)
	if err != nil {
		return nil, err
	}
	scheme := strings.ToLower(string(g.Scheme))
	if scheme == "" {
		scheme = "http"
	}
	u, err := url.Parse(g.Path)
	if err != nil {
		// upstream: a busted path is passed along as is.
		u = &url.URL{Path: g.Path}
	}
	u.Scheme, u.Host = scheme, net.JoinHostPort(host, strconv.Itoa(port))
	return u, nil
}

// NewHTTPGetRequest is upstream's newProbeRequest: a GET with the headers given, User-Agent
// kube-<purpose>/1.37 and Accept */* unless given (an empty Accept removes it), and a Host
// header as the request's host.
func NewHTTPGetRequest(ctx context.Context, u *url.URL, headers []corev1.HTTPHeader, purpose string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	h := http.Header{}
	for _, x := range headers {
		h.Add(x.Name, x.Value)
	}
	if _, ok := h["User-Agent"]; !ok {
		h.Set("User-Agent", "kube-"+purpose+"/1.37")
	}
	if _, ok := h["Accept"]; !ok {
		h.Set("Accept", "*/*")
	} else if h.Get("Accept") == "" {
		h.Del("Accept")
	}
	req.Header = h
	req.Host = h.Get("Host")
	return req, nil
}

// ResolvePort is upstream's findPortByName / intstr resolution.
func ResolvePort(p intstr.IntOrString, c *corev1.Container) (int, error) {
	if p.Type == intstr.Int {
		if p.IntVal <= 0 || p.IntVal > 65535 {
			return 0, fmt.Errorf("invalid port number: %v", p.IntVal)
		}
		return int(p.IntVal), nil
	}
	for _, cp := range c.Ports {
		if cp.Name == p.StrVal {
			return int(cp.ContainerPort), nil
		}
	}
	if n, err := strconv.Atoi(p.StrVal); err == nil {
		return n, nil
	}
	return 0, fmt.Errorf("port %s not found in container %s", p.StrVal, c.Name)
}
