package simulated

import (
	"context"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	cri "k8s.io/cri-api/pkg/apis"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	"k8s.io/utils/clock"

	"github.com/skiff-dev/skiff/nodeagent/kuberuntime"
)

// RuntimeName is the simulated runtime's name: containers' IDs are simulated://<id> and nodes
// report containerRuntimeVersion simulated://<RuntimeVersion>.
const (
	RuntimeName    = "simulated"
	RuntimeVersion = "0"
)

// memRuntime is an in-memory CRI runtime and image service for the kuberuntime manager of
// simulated nodes: sandboxes get their IP from the node's pod CIDR (ipFor) and are ready at
// once, every image is present, containers start at once and run until stopped, but those
// exitsAtStart names (completed init containers, finite pods' containers) exit 0 as they start.
// It keeps only what the manager reads back (labels, annotations, metadata, states, times),
// indexed by pod UID. Calls the manager does not make (attach, port-forward, ...) are not
// implemented: they panic through the nil embedded interfaces.
type memRuntime struct {
	cri.RuntimeService
	cri.ImageManagerService

	clock clock.Clock
	// ipFor gives a new sandbox of the pod (by UID) its IP (want, when free: an adopted pod's);
	// release frees the pod's IP once its last sandbox is removed.
	ipFor   func(uid, want string) (ip, node string, err error)
	release func(uid, node string)
	// exitsAtStart reports whether the pod's (by UID) container exits 0 as soon as it starts.
	exitsAtStart func(uid, container string) bool

	mu   sync.Mutex
	seq  uint64
	last int64              // the last creation stamp
	pods map[string]*memPod // by pod UID
	ids  map[string]string  // sandbox or container ID -> pod UID
	// adopted are the pods a restarted pool takes over from their statuses (adopt), by UID.
	adopted map[string]*adoptedPod
}

// adoptedPod is what a pod's status says its node ran: its next sandbox keeps the pod's IP and
// its containers, as they are created again, their IDs, start (and finish) times and restart
// counts, as containers a restarted kubelet finds running in its runtime.
type adoptedPod struct {
	ip         string
	containers map[string]*adoptedContainer // by container name
}

type adoptedContainer struct {
	id                string
	restartCount      int32
	started, finished int64
	exited            bool
	exit              int32
}

type memPod struct {
	node       string // the node that gave its IP
	sandboxes  []*memSandbox
	containers []*memContainer
}

type memSandbox struct {
	id          string
	meta        *runtimeapi.PodSandboxMetadata
	labels      map[string]string
	annotations map[string]string
	ip          string
	hostNetwork bool
	ready       bool
	created     int64
}

type memContainer struct {
	id, sandbox                string
	meta                       *runtimeapi.ContainerMetadata
	image                      string
	labels, annotations        map[string]string
	state                      runtimeapi.ContainerState
	created, started, finished int64
	exit                       int32
	// adopted, until the container starts: the state it had before the pool's restart.
	adopted *adoptedContainer
}

func newMemRuntime(clk clock.Clock) *memRuntime {
	return &memRuntime{clock: clk, pods: map[string]*memPod{}, ids: map[string]string{}, adopted: map[string]*adoptedPod{}}
}

// adopt takes over a pod its node ran before the pool restarted (the runtime is in memory and
// began empty), from its status: the containers with this runtime's IDs that run or ended. A
// restarted kubelet finds them in its container runtime and restarts none; here the next sync
// creates them again as they were, so the pod's status does not change. Terminal pods and pods
// with no such container are not adopted.
func (r *memRuntime) adopt(pod *corev1.Pod) bool {
	if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return false
	}
	a := &adoptedPod{ip: pod.Status.PodIP, containers: map[string]*adoptedContainer{}}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, list := range [][]corev1.ContainerStatus{pod.Status.InitContainerStatuses, pod.Status.ContainerStatuses} {
		for _, cs := range list {
			id, ok := strings.CutPrefix(cs.ContainerID, RuntimeName+"://")
			if !ok || id == "" {
				continue
			}
			c := &adoptedContainer{id: id, restartCount: cs.RestartCount}
			switch st := cs.State; {
			case st.Running != nil:
				c.started = st.Running.StartedAt.UnixNano()
			case st.Terminated != nil:
				c.started, c.finished, c.exited, c.exit = st.Terminated.StartedAt.UnixNano(), st.Terminated.FinishedAt.UnixNano(), true, st.Terminated.ExitCode
			default:
				continue
			}
			a.containers[cs.Name] = c
			// New IDs stay above the adopted ones.
			if v, err := strconv.ParseUint(id, 16, 64); err == nil && v > r.seq {
				r.seq = v
			}
		}
	}
	if len(a.containers) == 0 {
		return false
	}
	r.adopted[string(pod.UID)] = a
	return true
}

// adoptedIP is the IP an adopted pod had ("" for others).
func (r *memRuntime) adoptedIP(uid string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if a := r.adopted[uid]; a != nil {
		return a.ip
	}
	return ""
}

// stamp is a creation time: the clock's, strictly increasing (attempts are ordered by it).
func (r *memRuntime) stamp() int64 {
	r.last = max(r.clock.Now().UnixNano(), r.last+1)
	return r.last
}

func (r *memRuntime) newID() string {
	r.seq++
	return fmt.Sprintf("%016x", r.seq)
}

func matches(sel, labels map[string]string) bool {
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// candidates are the pods a label selector can match: one when it names a pod UID.
func (r *memRuntime) candidates(sel map[string]string) map[string]*memPod {
	if uid, ok := sel[kuberuntime.PodUIDLabel]; ok {
		if p := r.pods[uid]; p != nil {
			return map[string]*memPod{uid: p}
		}
		return nil
	}
	return r.pods
}

func (r *memRuntime) Version(context.Context, string) (*runtimeapi.VersionResponse, error) {
	return &runtimeapi.VersionResponse{Version: "0.1.0", RuntimeName: RuntimeName, RuntimeVersion: RuntimeVersion, RuntimeApiVersion: "v1"}, nil
}

func (r *memRuntime) RunPodSandbox(_ context.Context, cfg *runtimeapi.PodSandboxConfig, _ string) (string, error) {
	uid := cfg.GetMetadata().GetUid()
	host := cfg.GetLinux().GetSecurityContext().GetNamespaceOptions().GetNetwork() == runtimeapi.NamespaceMode_NODE
	ip, node := "", ""
	if !host {
		var err error
		if ip, node, err = r.ipFor(uid, r.adoptedIP(uid)); err != nil {
			return "", fmt.Errorf("setting up the pod network: %w", err)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.pods[uid]
	if p == nil {
		p = &memPod{}
		r.pods[uid] = p
	}
	if node != "" {
		p.node = node
	}
	sb := &memSandbox{id: r.newID(), meta: cfg.Metadata, labels: cfg.Labels, annotations: cfg.Annotations, ip: ip,
		hostNetwork: host, ready: true, created: r.stamp()}
	p.sandboxes = append(p.sandboxes, sb)
	r.ids[sb.id] = uid
	return sb.id, nil
}

// sandbox finds a sandbox by ID (r.mu held).
func (r *memRuntime) sandbox(id string) (*memPod, int) {
	p := r.pods[r.ids[id]]
	if p == nil {
		return nil, -1
	}
	for i, sb := range p.sandboxes {
		if sb.id == id {
			return p, i
		}
	}
	return nil, -1
}

// container finds a container by ID (r.mu held).
func (r *memRuntime) container(id string) (*memPod, int) {
	p := r.pods[r.ids[id]]
	if p == nil {
		return nil, -1
	}
	for i, c := range p.containers {
		if c.id == id {
			return p, i
		}
	}
	return nil, -1
}

func (r *memRuntime) StopPodSandbox(_ context.Context, id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	p, i := r.sandbox(id)
	if p == nil {
		return nil
	}
	p.sandboxes[i].ready = false
	for _, c := range p.containers {
		if c.sandbox == id {
			r.stop(c, 137)
		}
	}
	return nil
}

func (r *memRuntime) RemovePodSandbox(_ context.Context, id string) error {
	r.mu.Lock()
	uid := r.ids[id]
	p, i := r.sandbox(id)
	if p == nil {
		r.mu.Unlock()
		return nil
	}
	p.sandboxes = append(p.sandboxes[:i], p.sandboxes[i+1:]...)
	delete(r.ids, id)
	keep := p.containers[:0]
	for _, c := range p.containers {
		if c.sandbox == id {
			delete(r.ids, c.id)
			continue
		}
		keep = append(keep, c)
	}
	p.containers = keep
	gone, node := len(p.sandboxes) == 0, p.node
	if gone && len(p.containers) == 0 {
		delete(r.pods, uid)
		delete(r.adopted, uid)
	}
	r.mu.Unlock()
	if gone && node != "" {
		r.release(uid, node)
	}
	return nil
}

func (r *memRuntime) PodSandboxStatus(_ context.Context, id string, _ bool) (*runtimeapi.PodSandboxStatusResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p, i := r.sandbox(id)
	if p == nil {
		return nil, fmt.Errorf("an error occurred when try to find sandbox: not found: %s", id)
	}
	sb := p.sandboxes[i]
	mode := runtimeapi.NamespaceMode_POD
	if sb.hostNetwork {
		mode = runtimeapi.NamespaceMode_NODE
	}
	return &runtimeapi.PodSandboxStatusResponse{Status: &runtimeapi.PodSandboxStatus{
		Id: sb.id, Metadata: sb.meta, State: sb.state(), CreatedAt: sb.created, Labels: sb.labels, Annotations: sb.annotations,
		Network: &runtimeapi.PodSandboxNetworkStatus{Ip: sb.ip},
		Linux:   &runtimeapi.LinuxPodSandboxStatus{Namespaces: &runtimeapi.Namespace{Options: &runtimeapi.NamespaceOption{Network: mode}}},
	}}, nil
}

func (sb *memSandbox) state() runtimeapi.PodSandboxState {
	if sb.ready {
		return runtimeapi.PodSandboxState_SANDBOX_READY
	}
	return runtimeapi.PodSandboxState_SANDBOX_NOTREADY
}

func (r *memRuntime) ListPodSandbox(_ context.Context, f *runtimeapi.PodSandboxFilter) ([]*runtimeapi.PodSandbox, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*runtimeapi.PodSandbox
	for _, p := range r.candidates(f.GetLabelSelector()) {
		for _, sb := range p.sandboxes {
			if f.GetId() != "" && f.Id != sb.id || f.GetState() != nil && f.State.State != sb.state() || !matches(f.GetLabelSelector(), sb.labels) {
				continue
			}
			out = append(out, &runtimeapi.PodSandbox{Id: sb.id, Metadata: sb.meta, State: sb.state(), CreatedAt: sb.created,
				Labels: sb.labels, Annotations: sb.annotations})
		}
	}
	return out, nil
}

func (r *memRuntime) CreateContainer(_ context.Context, sandboxID string, cfg *runtimeapi.ContainerConfig, _ *runtimeapi.PodSandboxConfig) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p, _ := r.sandbox(sandboxID)
	if p == nil {
		return "", fmt.Errorf("failed to get sandbox %q: not found", sandboxID)
	}
	c := &memContainer{sandbox: sandboxID, meta: cfg.Metadata, image: cfg.GetImage().GetImage(),
		labels: cfg.Labels, annotations: cfg.Annotations, state: runtimeapi.ContainerState_CONTAINER_CREATED, created: r.stamp()}
	if a := r.adopted[r.ids[sandboxID]]; a != nil && a.containers[cfg.GetMetadata().GetName()] != nil {
		name := cfg.GetMetadata().GetName()
		c.adopted = a.containers[name]
		delete(a.containers, name)
		if len(a.containers) == 0 {
			delete(r.adopted, r.ids[sandboxID])
		}
		c.id = c.adopted.id
		// The restart count the container had (kuberuntime counts from the runtime's attempts).
		c.meta = &runtimeapi.ContainerMetadata{Name: name, Attempt: uint32(c.adopted.restartCount)}
		c.annotations = maps.Clone(cfg.Annotations)
		c.annotations[kuberuntime.ContainerRestartCountAnnotation] = strconv.Itoa(int(c.adopted.restartCount))
	} else {
		c.id = r.newID()
	}
	p.containers = append(p.containers, c)
	r.ids[c.id] = r.ids[sandboxID]
	return c.id, nil
}

func (r *memRuntime) StartContainer(_ context.Context, id string) error {
	r.mu.Lock()
	p, i := r.container(id)
	if p == nil {
		r.mu.Unlock()
		return fmt.Errorf("container %q: not found", id)
	}
	c := p.containers[i]
	if a := c.adopted; a != nil {
		// As it was: running since it started, or ended.
		c.adopted, c.state, c.started = nil, runtimeapi.ContainerState_CONTAINER_RUNNING, a.started
		if a.exited {
			c.state, c.finished, c.exit = runtimeapi.ContainerState_CONTAINER_EXITED, a.finished, a.exit
		}
		r.mu.Unlock()
		return nil
	}
	uid, name := c.labels[kuberuntime.PodUIDLabel], c.labels[kuberuntime.ContainerNameLabel]
	c.state, c.started = runtimeapi.ContainerState_CONTAINER_RUNNING, r.clock.Now().UnixNano()
	r.mu.Unlock()
	if r.exitsAtStart != nil && r.exitsAtStart(uid, name) {
		r.mu.Lock()
		r.stop(c, 0)
		r.mu.Unlock()
	}
	return nil
}

// stop ends a container with the exit code (r.mu held): 0 for one that completed, 143 for one
// that ended at the stop signal, 137 for one killed with its sandbox.
func (r *memRuntime) stop(c *memContainer, exit int32) {
	if c.state != runtimeapi.ContainerState_CONTAINER_RUNNING {
		if c.state == runtimeapi.ContainerState_CONTAINER_CREATED {
			c.state = runtimeapi.ContainerState_CONTAINER_EXITED
			c.finished = r.clock.Now().UnixNano()
		}
		return
	}
	c.state, c.exit, c.finished = runtimeapi.ContainerState_CONTAINER_EXITED, exit, r.clock.Now().UnixNano()
}

func (r *memRuntime) StopContainer(_ context.Context, id string, _ int64) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if p, i := r.container(id); p != nil {
		r.stop(p.containers[i], 143)
	}
	return nil
}

func (r *memRuntime) RemoveContainer(_ context.Context, id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if p, i := r.container(id); p != nil {
		p.containers = append(p.containers[:i], p.containers[i+1:]...)
		delete(r.ids, id)
	}
	return nil
}

func (c *memContainer) container() *runtimeapi.Container {
	return &runtimeapi.Container{Id: c.id, PodSandboxId: c.sandbox, Metadata: c.meta, Image: &runtimeapi.ImageSpec{Image: c.image},
		ImageRef: c.imageRef(), State: c.state, CreatedAt: c.created, Labels: c.labels, Annotations: c.annotations}
}

func (c *memContainer) imageRef() string { return RuntimeName + "://" + c.image }

func (r *memRuntime) ListContainers(_ context.Context, f *runtimeapi.ContainerFilter) ([]*runtimeapi.Container, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*runtimeapi.Container
	for _, p := range r.candidates(f.GetLabelSelector()) {
		for _, c := range p.containers {
			if f.GetId() != "" && f.Id != c.id || f.GetPodSandboxId() != "" && f.PodSandboxId != c.sandbox ||
				f.GetState() != nil && f.State.State != c.state || !matches(f.GetLabelSelector(), c.labels) {
				continue
			}
			out = append(out, c.container())
		}
	}
	return out, nil
}

func (r *memRuntime) ContainerStatus(_ context.Context, id string, _ bool) (*runtimeapi.ContainerStatusResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p, i := r.container(id)
	if p == nil {
		return nil, fmt.Errorf("an error occurred when try to find container %q: not found", id)
	}
	c := p.containers[i]
	st := &runtimeapi.ContainerStatus{Id: c.id, Metadata: c.meta, State: c.state, CreatedAt: c.created, StartedAt: c.started,
		FinishedAt: c.finished, ExitCode: c.exit, Image: &runtimeapi.ImageSpec{Image: c.image}, ImageRef: c.imageRef(),
		Labels: c.labels, Annotations: c.annotations}
	return &runtimeapi.ContainerStatusResponse{Status: st}, nil
}

// ExecSync runs nothing and succeeds (exec lifecycle hooks).
func (r *memRuntime) ExecSync(context.Context, string, []string, time.Duration) ([]byte, []byte, error) {
	return nil, nil, nil
}

// UpdateContainerResources accepts every in-place resize.
func (r *memRuntime) UpdateContainerResources(context.Context, string, *runtimeapi.ContainerResources) error {
	return nil
}

// ImageStatus: every image is present, its ID the image.
func (r *memRuntime) ImageStatus(_ context.Context, spec *runtimeapi.ImageSpec, _ bool) (*runtimeapi.ImageStatusResponse, error) {
	return &runtimeapi.ImageStatusResponse{Image: &runtimeapi.Image{Id: spec.GetImage(), RepoTags: []string{spec.GetImage()}}}, nil
}

// PullImage pulls at once.
func (r *memRuntime) PullImage(_ context.Context, spec *runtimeapi.ImageSpec, _ *runtimeapi.AuthConfig, _ *runtimeapi.PodSandboxConfig) (string, error) {
	return spec.GetImage(), nil
}

// count is the number of pods, sandboxes and containers the runtime holds (tests, metrics).
func (r *memRuntime) count() (pods, sandboxes, containers int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range r.pods {
		pods, sandboxes, containers = pods+1, sandboxes+len(p.sandboxes), containers+len(p.containers)
	}
	return
}

// Close has nothing to close.
func (r *memRuntime) Close(context.Context) error { return nil }
