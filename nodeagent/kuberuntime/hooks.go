package kuberuntime

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"

	"github.com/skiff-dev/skiff/nodeagent/probes"
	"github.com/skiff-dev/skiff/nodeagent/status"
)

// ErrPostStartHook is the error (and the waiting reason) of a container whose postStart hook
// failed, as upstream's.
var ErrPostStartHook = errors.New("PostStartHookError")

// Event reasons and messages of lifecycle hooks, upstream's (the hook's own message is kept
// out of the event so that no secret leaks from the node).
const (
	FailedPostStartHook = "FailedPostStartHook"
	FailedPreStopHook   = "FailedPreStopHook"
)

// HookRunners are the side effects of lifecycle handlers (upstream's handlerRunner); nil fields
// get the defaults NewManager gives.
type HookRunners struct {
	// Exec runs a command in a container and returns its stdout then stderr (default CRI
	// ExecSync with no timeout, as upstream's RunInContainer).
	Exec func(ctx context.Context, containerID string, cmd []string) ([]byte, error)
	// HTTP sends an httpGet handler's request (default a client that skips TLS verification
	// and follows only redirects to the same host, upstream's
	// insecureContainerLifecycleHTTPClient).
	HTTP func(req *http.Request) (*http.Response, error)
	// PodIP is the IP an httpGet handler without host goes to (default the newest sandbox's
	// first IP, from the runtime).
	PodIP func(ctx context.Context, pod *corev1.Pod) (string, error)
	// Sleep waits d, or returns ctx's error when ctx ends first (default on the manager's clock).
	Sleep func(ctx context.Context, d time.Duration) error
}

func (m *Manager) defaultHookRunners() {
	h := &m.cfg.Hooks
	if h.Exec == nil {
		h.Exec = func(ctx context.Context, id string, cmd []string) ([]byte, error) {
			stdout, stderr, err := m.cfg.Runtime.ExecSync(ctx, id, cmd, 0)
			return append(stdout, stderr...), err
		}
	}
	if h.HTTP == nil {
		client := &http.Client{
			Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, //nolint:gosec // upstream's lifecycle client
			CheckRedirect: func(req *http.Request, via []*http.Request) error {
				if req.URL.Hostname() != via[0].URL.Hostname() {
					return http.ErrUseLastResponse
				}
				if len(via) >= 10 {
					return errors.New("stopped after 10 redirects")
				}
				return nil
			},
		}
		h.HTTP = client.Do
	}
	if h.PodIP == nil {
		h.PodIP = func(ctx context.Context, pod *corev1.Pod) (string, error) {
			rt, err := m.PodRuntime(ctx, string(pod.UID))
			if err != nil {
				return "", fmt.Errorf("unable to get pod status, event handlers may be invalid: %w", err)
			}
			for _, sb := range rt.Sandboxes {
				if sb.Ready && len(sb.IPs) > 0 {
					return sb.IPs[0], nil
				}
			}
			return "", fmt.Errorf("failed to find networking container: pod %s has no IP", formatPod(pod))
		}
	}
	if h.Sleep == nil {
		h.Sleep = func(ctx context.Context, d time.Duration) error {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-m.cfg.Clock.After(d):
				return nil
			}
		}
	}
}

// runHook is upstream's handlerRunner.Run: it runs one lifecycle handler of container c
// (running as containerID) and returns upstream's message with the error.
func (m *Manager) runHook(ctx context.Context, pod *corev1.Pod, c *corev1.Container, containerID string, h *corev1.LifecycleHandler) (string, error) {
	switch {
	case h.Exec != nil:
		out, err := m.cfg.Hooks.Exec(ctx, containerID, h.Exec.Command)
		if err != nil {
			klog.V(1).InfoS("Exec lifecycle hook for Container in Pod failed", "execCommand", h.Exec.Command, "containerName", c.Name, "pod", klog.KObj(pod), "message", string(out), "err", err)
			return fmt.Sprintf("Exec lifecycle hook (%v) for Container %q in Pod %q failed - error: %v, message: %q", h.Exec.Command, c.Name, formatPod(pod), err, string(out)), err
		}
		return "", nil
	case h.HTTPGet != nil:
		if err := m.runHTTPHook(ctx, pod, c, h.HTTPGet); err != nil {
			klog.V(1).InfoS("HTTP lifecycle hook for Container in Pod failed", "path", h.HTTPGet.Path, "containerName", c.Name, "pod", klog.KObj(pod), "err", err)
			return fmt.Sprintf("HTTP lifecycle hook (%s) for Container %q in Pod %q failed - error: %v", h.HTTPGet.Path, c.Name, formatPod(pod), err), err
		}
		return "", nil
	case h.Sleep != nil:
		if err := m.cfg.Hooks.Sleep(ctx, time.Duration(h.Sleep.Seconds)*time.Second); err != nil {
			err = errors.New("container terminated before sleep hook finished")
			klog.V(1).InfoS("Sleep lifecycle hook for Container in Pod failed", "sleepSeconds", h.Sleep.Seconds, "containerName", c.Name, "pod", klog.KObj(pod), "err", err)
			return fmt.Sprintf("Sleep lifecycle hook (%d) for Container %q in Pod %q failed - error: %v", h.Sleep.Seconds, c.Name, formatPod(pod), err), err
		}
		return "", nil
	}
	err := fmt.Errorf("invalid handler: %v", h)
	return fmt.Sprintf("Cannot run handler: %v", err), err
}

// runHTTPHook is upstream's runHTTPHandler: only a failed request fails (any status code
// passes), and an https request answered in plain HTTP is retried as http with a
// LifecycleHTTPFallback event.
func (m *Manager) runHTTPHook(ctx context.Context, pod *corev1.Pod, c *corev1.Container, g *corev1.HTTPGetAction) error {
	podIP := g.Host
	if podIP == "" {
		ip, err := m.cfg.Hooks.PodIP(ctx, pod)
		if err != nil {
			return err
		}
		podIP = ip
	}
	u, err := probes.HTTPGetURL(g, c, podIP)
	if err != nil {
		return err
	}
	req, err := probes.NewHTTPGetRequest(ctx, u, g.HTTPHeaders, "lifecycle")
	if err != nil {
		return err
	}
	resp, err := m.cfg.Hooks.HTTP(req)
	discardBody(resp)
	var uerr *url.Error
	if err != nil && errors.As(err, &uerr) && strings.Contains(uerr.Err.Error(), "server gave HTTP response to HTTPS client") {
		req = req.Clone(ctx)
		req.URL.Scheme = "http"
		req.Header.Del("Authorization")
		resp, herr := m.cfg.Hooks.HTTP(req)
		discardBody(resp)
		if herr == nil {
			m.event(pod, "", corev1.EventTypeWarning, "LifecycleHTTPFallback", "request to HTTPS lifecycle hook %s got HTTP response, retry with HTTP succeeded", req.URL.Host)
			err = nil
		}
	}
	return err
}

func discardBody(resp *http.Response) {
	if resp == nil {
		return
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 10<<10))
}

// postStart runs c's postStart hook, if any, right after the container started (upstream's
// startContainer): on failure a FailedPostStartHook event, the container is killed (its
// preStop runs, as upstream's killContainer) and the Waiting PostStartHookError is returned.
func (m *Manager) postStart(ctx context.Context, pod *corev1.Pod, c *corev1.Container, containerID string) (status.Waiting, error) {
	if c.Lifecycle == nil || c.Lifecycle.PostStart == nil {
		return status.Waiting{}, nil
	}
	msg, err := m.runHook(ctx, pod, c, containerID, c.Lifecycle.PostStart)
	if err == nil {
		return status.Waiting{}, nil
	}
	klog.ErrorS(err, "Failed to execute PostStartHook", "pod", klog.KObj(pod), "podUID", pod.UID, "containerName", c.Name, "containerID", containerID)
	m.event(pod, c.Name, corev1.EventTypeWarning, FailedPostStartHook, "PostStartHook failed")
	m.event(pod, c.Name, corev1.EventTypeNormal, "Killing", "%s", FailedPostStartHook)
	if kerr := m.stopContainer(ctx, pod, containerID, nil); kerr != nil {
		klog.ErrorS(kerr, "Failed to kill container", "pod", klog.KObj(pod), "podUID", pod.UID, "containerName", c.Name, "containerID", containerID)
	}
	return status.Waiting{Reason: ErrPostStartHook.Error(), Message: msg}, fmt.Errorf("%w: %s", ErrPostStartHook, msg)
}

// PreStopPlan is what stopping a container does with its grace period: run the preStop hook
// first when there is one and time for it, then stop with what remains of the grace period,
// never less than the minimum (upstream's killContainer).
type PreStopPlan struct {
	// RunPreStop: the container runs and has a preStop hook, and the grace period is above 0.
	RunPreStop bool
	// Grace is the whole grace period in seconds (the hook's deadline).
	Grace int64
}

// PlanPreStop decides whether the preStop hook runs. c is the container's spec (nil: unknown,
// e.g. an orphan's), running its state.
func PlanPreStop(c *corev1.Container, running bool, grace int64) PreStopPlan {
	return PreStopPlan{Grace: grace, RunPreStop: c != nil && running && c.Lifecycle != nil && c.Lifecycle.PreStop != nil && grace > 0}
}

// StopGrace is the grace period StopContainer gets: grace minus the seconds the preStop hook
// took (truncated, as upstream's), at least minimum.
func StopGrace(grace int64, hookTook time.Duration, minimum time.Duration) int64 {
	g := grace - int64(hookTook/time.Second)
	return max(g, int64(minimum/time.Second))
}

// preStop runs the container's preStop hook for at most grace seconds (upstream's
// executePreStopHook) and returns how long it ran; a failure is a FailedPreStopHook event. A
// hook still running at the deadline is left to the stop (and cancelled once it is done).
func (m *Manager) preStop(ctx context.Context, pod *corev1.Pod, c *corev1.Container, containerID string, grace int64) (took time.Duration, stop func()) {
	klog.V(3).InfoS("Running preStop hook", "pod", klog.KObj(pod), "podUID", pod.UID, "containerName", c.Name, "containerID", containerID)
	start := m.cfg.Clock.Now()
	hctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if _, err := m.runHook(hctx, pod, c, containerID, c.Lifecycle.PreStop); err != nil && hctx.Err() == nil {
			klog.ErrorS(err, "PreStop hook failed", "pod", klog.KObj(pod), "podUID", pod.UID, "containerName", c.Name, "containerID", containerID)
			m.event(pod, c.Name, corev1.EventTypeWarning, FailedPreStopHook, "PreStopHook failed")
		}
	}()
	select {
	case <-m.cfg.Clock.After(time.Duration(grace) * time.Second):
		klog.V(2).InfoS("PreStop hook not completed in grace period", "pod", klog.KObj(pod), "podUID", pod.UID, "containerName", c.Name, "containerID", containerID, "gracePeriod", grace)
	case <-done:
		klog.V(3).InfoS("PreStop hook completed", "pod", klog.KObj(pod), "podUID", pod.UID, "containerName", c.Name, "containerID", containerID)
	}
	return m.cfg.Clock.Since(start), cancel
}

// containerSpec finds a container of the pod by name: app, init or ephemeral (upstream's
// GetContainerSpec).
func containerSpec(pod *corev1.Pod, name string) *corev1.Container {
	for i := range pod.Spec.Containers {
		if pod.Spec.Containers[i].Name == name {
			return &pod.Spec.Containers[i]
		}
	}
	for i := range pod.Spec.InitContainers {
		if pod.Spec.InitContainers[i].Name == name {
			return &pod.Spec.InitContainers[i]
		}
	}
	for i := range pod.Spec.EphemeralContainers {
		if pod.Spec.EphemeralContainers[i].Name == name {
			return (*corev1.Container)(&pod.Spec.EphemeralContainers[i].EphemeralContainerCommon)
		}
	}
	return nil
}
