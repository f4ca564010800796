package agent

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	oteltrace "go.opentelemetry.io/otel/trace"
	cri "k8s.io/cri-api/pkg/apis"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/skiff-dev/skiff/insight/trace"
)

// Metrics are the agent's Prometheus metrics, on a registry of its own.
type Metrics struct {
	Registry          *prometheus.Registry
	PodStartDuration  prometheus.Histogram
	CRICallDuration   *prometheus.HistogramVec
	RunningPods       prometheus.Gauge
	RunningContainers prometheus.Gauge
	PodSyncDuration   prometheus.Histogram
	StatusUpdates     prometheus.Counter
}

func newMetrics() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		PodStartDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "skiff_agent_pod_start_duration_seconds",
			Help:    "Time from a pod's creation to all of its containers started, for pods this agent started (upstream's kubelet_pod_start_sli_duration_seconds, image pulls included).",
			Buckets: []float64{0.1, 0.25, 0.5, 1, 2, 3, 4, 5, 6, 8, 10, 20, 30, 45, 60, 120, 180, 240, 300, 360, 480, 600, 900, 1200, 1800},
		}),
		CRICallDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "skiff_agent_cri_call_duration_seconds",
			Help:    "Duration of CRI calls to the container runtime, by method.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 18),
		}, []string{"method"}),
		RunningPods: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "skiff_agent_running_pods", Help: "Number of pods with a ready sandbox on this node.",
		}),
		RunningContainers: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "skiff_agent_running_containers", Help: "Number of running containers on this node.",
		}),
		PodSyncDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "skiff_agent_pod_sync_duration_seconds", Help: "Duration of one pod sync (runtime and status).",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 16),
		}),
	}
	m.StatusUpdates = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "skiff_agent_pod_status_updates_total", Help: "Number of pods/status writes (only changed statuses are written).",
	})
	m.Registry.MustRegister(m.PodStartDuration, m.CRICallDuration, m.RunningPods, m.RunningContainers, m.PodSyncDuration, m.StatusUpdates)
	return m
}

// instrumentedRuntime times the CRI runtime calls the agent makes.
type instrumentedRuntime struct {
	cri.RuntimeService
	h *prometheus.HistogramVec
	// tracer records the calls that change the node as spans of the runtime (insight/trace).
	tracer oteltrace.Tracer
	caller string
}

// span starts a runtime span for a call that changes the node, counted as work of the sync.
func (r *instrumentedRuntime) span(ctx context.Context, name string) (context.Context, oteltrace.Span) {
	trace.Worked(ctx)
	return r.tracer.Start(ctx, name, oteltrace.WithAttributes(trace.Component(trace.ComponentRuntime), trace.Caller(r.caller)))
}

func (r *instrumentedRuntime) obs(method string, t time.Time) {
	r.h.WithLabelValues(method).Observe(time.Since(t).Seconds())
}

func (r *instrumentedRuntime) Version(ctx context.Context, v string) (*runtimeapi.VersionResponse, error) {
	defer r.obs("Version", time.Now())
	return r.RuntimeService.Version(ctx, v)
}

func (r *instrumentedRuntime) RunPodSandbox(ctx context.Context, c *runtimeapi.PodSandboxConfig, h string) (string, error) {
	defer r.obs("RunPodSandbox", time.Now())
	ctx, span := r.span(ctx, "RunPodSandbox")
	defer span.End()
	return r.RuntimeService.RunPodSandbox(ctx, c, h)
}

func (r *instrumentedRuntime) StopPodSandbox(ctx context.Context, id string) error {
	defer r.obs("StopPodSandbox", time.Now())
	ctx, span := r.span(ctx, "StopPodSandbox")
	defer span.End()
	return r.RuntimeService.StopPodSandbox(ctx, id)
}

func (r *instrumentedRuntime) RemovePodSandbox(ctx context.Context, id string) error {
	defer r.obs("RemovePodSandbox", time.Now())
	return r.RuntimeService.RemovePodSandbox(ctx, id)
}

func (r *instrumentedRuntime) PodSandboxStatus(ctx context.Context, id string, verbose bool) (*runtimeapi.PodSandboxStatusResponse, error) {
	defer r.obs("PodSandboxStatus", time.Now())
	return r.RuntimeService.PodSandboxStatus(ctx, id, verbose)
}

func (r *instrumentedRuntime) ListPodSandbox(ctx context.Context, f *runtimeapi.PodSandboxFilter) ([]*runtimeapi.PodSandbox, error) {
	defer r.obs("ListPodSandbox", time.Now())
	return r.RuntimeService.ListPodSandbox(ctx, f)
}

func (r *instrumentedRuntime) CreateContainer(ctx context.Context, sb string, c *runtimeapi.ContainerConfig, s *runtimeapi.PodSandboxConfig) (string, error) {
	defer r.obs("CreateContainer", time.Now())
	ctx, span := r.span(ctx, "CreateContainer")
	defer span.End()
	return r.RuntimeService.CreateContainer(ctx, sb, c, s)
}

func (r *instrumentedRuntime) StartContainer(ctx context.Context, id string) error {
	defer r.obs("StartContainer", time.Now())
	ctx, span := r.span(ctx, "StartContainer")
	defer span.End()
	return r.RuntimeService.StartContainer(ctx, id)
}

func (r *instrumentedRuntime) StopContainer(ctx context.Context, id string, timeout int64) error {
	defer r.obs("StopContainer", time.Now())
	ctx, span := r.span(ctx, "StopContainer")
	defer span.End()
	return r.RuntimeService.StopContainer(ctx, id, timeout)
}

func (r *instrumentedRuntime) RemoveContainer(ctx context.Context, id string) error {
	defer r.obs("RemoveContainer", time.Now())
	return r.RuntimeService.RemoveContainer(ctx, id)
}

func (r *instrumentedRuntime) ListContainers(ctx context.Context, f *runtimeapi.ContainerFilter) ([]*runtimeapi.Container, error) {
	defer r.obs("ListContainers", time.Now())
	return r.RuntimeService.ListContainers(ctx, f)
}

func (r *instrumentedRuntime) ContainerStatus(ctx context.Context, id string, verbose bool) (*runtimeapi.ContainerStatusResponse, error) {
	defer r.obs("ContainerStatus", time.Now())
	return r.RuntimeService.ContainerStatus(ctx, id, verbose)
}

func (r *instrumentedRuntime) ExecSync(ctx context.Context, id string, cmd []string, timeout time.Duration) ([]byte, []byte, error) {
	defer r.obs("ExecSync", time.Now())
	return r.RuntimeService.ExecSync(ctx, id, cmd, timeout)
}

// instrumentedImages times the CRI image calls.
type instrumentedImages struct {
	cri.ImageManagerService
	h      *prometheus.HistogramVec
	tracer oteltrace.Tracer
	caller string
}

func (r *instrumentedImages) PullImage(ctx context.Context, img *runtimeapi.ImageSpec, auth *runtimeapi.AuthConfig, sb *runtimeapi.PodSandboxConfig) (string, error) {
	defer func(t time.Time) { r.h.WithLabelValues("PullImage").Observe(time.Since(t).Seconds()) }(time.Now())
	trace.Worked(ctx)
	ctx, span := r.tracer.Start(ctx, "PullImage", oteltrace.WithAttributes(trace.Component(trace.ComponentRuntime), trace.Caller(r.caller)))
	defer span.End()
	return r.ImageManagerService.PullImage(ctx, img, auth, sb)
}

func (r *instrumentedImages) ImageStatus(ctx context.Context, img *runtimeapi.ImageSpec, verbose bool) (*runtimeapi.ImageStatusResponse, error) {
	defer func(t time.Time) { r.h.WithLabelValues("ImageStatus").Observe(time.Since(t).Seconds()) }(time.Now())
	return r.ImageManagerService.ImageStatus(ctx, img, verbose)
}
