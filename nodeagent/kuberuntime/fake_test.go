package kuberuntime

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"

	cri "k8s.io/cri-api/pkg/apis"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	clocktesting "k8s.io/utils/clock/testing"
)

// fakeCRI is an in-memory CRI runtime and image service; methods not overridden panic through
// the nil embedded interfaces.
type fakeCRI struct {
	cri.RuntimeService
	cri.ImageManagerService
	mu         sync.Mutex
	clock      *clocktesting.FakeClock
	seq        int64
	sandboxes  map[string]*fakeSandbox
	containers map[string]*fakeContainer
	images     map[string]string // image -> id
	pullErr    map[string]error
	calls      []string
	stopGrace  map[string]int64
	// handlers are the runtime handlers besides the default ("") that sandboxes may use.
	handlers map[string]bool
}

type fakeSandbox struct {
	cfg     *runtimeapi.PodSandboxConfig
	state   runtimeapi.PodSandboxState
	created int64
	ip      string
}

type fakeContainer struct {
	sandbox                    string
	cfg                        *runtimeapi.ContainerConfig
	state                      runtimeapi.ContainerState
	created, started, finished int64
	exit                       int32
	reason                     string
}

func newFakeCRI(c *clocktesting.FakeClock) *fakeCRI {
	return &fakeCRI{clock: c, sandboxes: map[string]*fakeSandbox{}, containers: map[string]*fakeContainer{}, images: map[string]string{}, pullErr: map[string]error{}, stopGrace: map[string]int64{}}
}

func (f *fakeCRI) now() int64 { f.seq++; return f.clock.Now().UnixNano() + f.seq }

func match(sel, labels map[string]string) bool {
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func (f *fakeCRI) RunPodSandbox(_ context.Context, cfg *runtimeapi.PodSandboxConfig, handler string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	call := "RunPodSandbox"
	if handler != "" {
		call += " handler=" + handler
	}
	f.calls = append(f.calls, call)
	if handler != "" && !f.handlers[handler] {
		// containerd's answer for a runtime its config does not define.
		return "", fmt.Errorf("rpc error: code = Unknown desc = failed to get sandbox runtime: no runtime for %q is configured", handler)
	}
	id := fmt.Sprintf("sb%d", len(f.sandboxes)+1)
	f.sandboxes[id] = &fakeSandbox{cfg: cfg, state: runtimeapi.PodSandboxState_SANDBOX_READY, created: f.now(), ip: fmt.Sprintf("10.244.0.%d", len(f.sandboxes)+2)}
	return id, nil
}
func (f *fakeCRI) StopPodSandbox(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sandboxes[id].state = runtimeapi.PodSandboxState_SANDBOX_NOTREADY
	f.calls = append(f.calls, "StopPodSandbox")
	return nil
}
func (f *fakeCRI) RemovePodSandbox(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.sandboxes, id)
	return nil
}
func (f *fakeCRI) PodSandboxStatus(_ context.Context, id string, _ bool) (*runtimeapi.PodSandboxStatusResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	sb, ok := f.sandboxes[id]
	if !ok {
		return nil, fmt.Errorf("not found")
	}
	mode := sb.cfg.GetLinux().GetSecurityContext().GetNamespaceOptions().GetNetwork()
	st := &runtimeapi.PodSandboxStatus{Id: id, State: sb.state, CreatedAt: sb.created, Metadata: sb.cfg.Metadata,
		Linux: &runtimeapi.LinuxPodSandboxStatus{Namespaces: &runtimeapi.Namespace{Options: &runtimeapi.NamespaceOption{Network: mode}}}}
	if sb.state == runtimeapi.PodSandboxState_SANDBOX_READY && mode != runtimeapi.NamespaceMode_NODE {
		st.Network = &runtimeapi.PodSandboxNetworkStatus{Ip: sb.ip}
	}
	return &runtimeapi.PodSandboxStatusResponse{Status: st}, nil
}
func (f *fakeCRI) ListPodSandbox(_ context.Context, filter *runtimeapi.PodSandboxFilter) ([]*runtimeapi.PodSandbox, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*runtimeapi.PodSandbox
	for id, sb := range f.sandboxes {
		if match(filter.GetLabelSelector(), sb.cfg.Labels) {
			out = append(out, &runtimeapi.PodSandbox{Id: id, Metadata: sb.cfg.Metadata, State: sb.state, CreatedAt: sb.created, Labels: sb.cfg.Labels})
		}
	}
	return out, nil
}
func (f *fakeCRI) CreateContainer(_ context.Context, sb string, cfg *runtimeapi.ContainerConfig, _ *runtimeapi.PodSandboxConfig) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := fmt.Sprintf("c%d", len(f.containers)+1)
	for f.containers[id] != nil {
		id += "x"
	}
	f.containers[id] = &fakeContainer{sandbox: sb, cfg: cfg, state: runtimeapi.ContainerState_CONTAINER_CREATED, created: f.now()}
	f.calls = append(f.calls, "CreateContainer "+cfg.Metadata.Name)
	return id, nil
}
func (f *fakeCRI) StartContainer(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.containers[id]
	c.state, c.started = runtimeapi.ContainerState_CONTAINER_RUNNING, f.now()
	f.calls = append(f.calls, "StartContainer "+c.cfg.Metadata.Name)
	return nil
}
func (f *fakeCRI) StopContainer(_ context.Context, id string, timeout int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.containers[id]
	if c.state == runtimeapi.ContainerState_CONTAINER_RUNNING {
		c.state, c.finished, c.exit = runtimeapi.ContainerState_CONTAINER_EXITED, f.now(), 137
	}
	f.stopGrace[id] = timeout
	f.calls = append(f.calls, "StopContainer "+c.cfg.Metadata.Name)
	return nil
}
func (f *fakeCRI) RemoveContainer(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.containers, id)
	return nil
}
func (f *fakeCRI) ListContainers(_ context.Context, filter *runtimeapi.ContainerFilter) ([]*runtimeapi.Container, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*runtimeapi.Container
	for id, c := range f.containers {
		if match(filter.GetLabelSelector(), c.cfg.Labels) {
			out = append(out, &runtimeapi.Container{Id: id, PodSandboxId: c.sandbox, Metadata: c.cfg.Metadata, State: c.state, CreatedAt: c.created, Labels: c.cfg.Labels, Annotations: c.cfg.Annotations})
		}
	}
	return out, nil
}
func (f *fakeCRI) ContainerStatus(_ context.Context, id string, _ bool) (*runtimeapi.ContainerStatusResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.containers[id]
	if !ok {
		return nil, fmt.Errorf("not found")
	}
	return &runtimeapi.ContainerStatusResponse{Status: &runtimeapi.ContainerStatus{Id: id, Metadata: c.cfg.Metadata, State: c.state, CreatedAt: c.created, StartedAt: c.started, FinishedAt: c.finished,
		ExitCode: c.exit, Reason: c.reason, Image: c.cfg.Image, ImageRef: c.cfg.Image.Image + "@sha256:feed", Labels: c.cfg.Labels, Annotations: c.cfg.Annotations,
		LogPath: filepath.Join(f.sandboxes[c.sandbox].cfg.GetLogDirectory(), c.cfg.GetLogPath())}}, nil
}
func (f *fakeCRI) ImageStatus(_ context.Context, spec *runtimeapi.ImageSpec, _ bool) (*runtimeapi.ImageStatusResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if id, ok := f.images[spec.Image]; ok {
		return &runtimeapi.ImageStatusResponse{Image: &runtimeapi.Image{Id: id}}, nil
	}
	return &runtimeapi.ImageStatusResponse{}, nil
}
func (f *fakeCRI) PullImage(_ context.Context, spec *runtimeapi.ImageSpec, _ *runtimeapi.AuthConfig, _ *runtimeapi.PodSandboxConfig) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "PullImage "+spec.Image)
	if err := f.pullErr[spec.Image]; err != nil {
		return "", err
	}
	f.images[spec.Image] = "sha256:" + spec.Image
	return f.images[spec.Image], nil
}

// exit makes the newest running container called name exit with code at the clock's now.
func (f *fakeCRI) exit(name string, code int32, reason string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.containers {
		if c.cfg.Metadata.Name == name && c.state == runtimeapi.ContainerState_CONTAINER_RUNNING {
			c.state, c.exit, c.reason, c.finished = runtimeapi.ContainerState_CONTAINER_EXITED, code, reason, f.now()
		}
	}
}

func (f *fakeCRI) takeCalls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.calls
	f.calls = nil
	return c
}

func (f *fakeCRI) Close(context.Context) error { return nil }
