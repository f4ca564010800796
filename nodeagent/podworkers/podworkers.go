// Package podworkers runs one goroutine per pod, after the kubelet's pod workers
// (pkg/kubelet/pod_workers.go, in its simple 2015 form): updates to a pod collapse so only the
// latest is synced, a pod is never synced twice at once, a deleted pod goes through a
// termination path (stop containers with the grace period, then the sandbox) and is forgotten
// after it, and every pod is resynced on a period.
package podworkers

import (
	"context"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
)

// SyncFunc brings the node to the pod's spec and writes its status. terminal reports that
// the pod is done for good (all containers finished and will not restart), which sends it
// down the termination path.
type SyncFunc func(ctx context.Context, pod *corev1.Pod) (terminal bool, err error)

// TerminateFunc stops the pod's containers (honouring gracePeriod when not nil, else the
// pod's deletion grace period or terminationGracePeriodSeconds) and its sandbox, and reports
// the final status.
type TerminateFunc func(ctx context.Context, pod *corev1.Pod, gracePeriod *int64) error

// Config configures PodWorkers.
type Config struct {
	Sync      SyncFunc
	Terminate TerminateFunc
	// OnTerminated is called once a pod's termination succeeded and no update is pending
	// (e.g. remove its containers, drop the API object's finalizer, delete with grace 0).
	OnTerminated func(pod *corev1.Pod)
	// ResyncPeriod syncs every pod again (default 1 min, upstream's syncFrequency).
	ResyncPeriod time.Duration
	// RetryPeriod is the wait before retrying a failed sync or termination (default 10 s).
	RetryPeriod time.Duration
	Clock       clock.WithTicker
}

// PodWorkers dispatches pod updates to per-pod goroutines.
type PodWorkers struct {
	cfg    Config
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu         sync.Mutex
	workers    map[types.UID]*worker
	terminated map[types.UID]bool
}

type worker struct {
	notify chan struct{} // capacity 1: a pending signal collapses with the next
	// guarded by PodWorkers.mu
	pod         *corev1.Pod
	terminating bool
	grace       *int64
	dirty       bool
}

// New returns pod workers; they run once Start is called (updates before are kept).
func New(cfg Config) *PodWorkers {
	if cfg.ResyncPeriod == 0 {
		cfg.ResyncPeriod = time.Minute
	}
	if cfg.RetryPeriod == 0 {
		cfg.RetryPeriod = 10 * time.Second
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	return &PodWorkers{cfg: cfg, workers: map[types.UID]*worker{}, terminated: map[types.UID]bool{}}
}

// Start runs the workers and the resync loop until ctx ends, then waits for the workers.
func (p *PodWorkers) Start(ctx context.Context) error {
	p.mu.Lock()
	p.ctx, p.cancel = context.WithCancel(ctx)
	for uid, w := range p.workers {
		p.spawn(uid, w)
	}
	p.mu.Unlock()
	t := p.cfg.Clock.NewTicker(p.cfg.ResyncPeriod)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			p.cancel()
			p.wg.Wait()
			return nil
		case <-t.C():
			p.resyncAll()
		}
	}
}

func (p *PodWorkers) spawn(uid types.UID, w *worker) {
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		p.run(uid, w)
	}()
}

func signal(w *worker) {
	select {
	case w.notify <- struct{}{}:
	default:
	}
}

// UpdatePod hands the latest version of a pod to its worker. A pod with a deletionTimestamp
// (or removed, see KillPod) is terminated. Updates of a pod already terminated are ignored
// until Forget.
func (p *PodWorkers) UpdatePod(pod *corev1.Pod) {
	var grace *int64
	if pod.DeletionTimestamp != nil {
		grace = pod.DeletionGracePeriodSeconds
	}
	p.update(pod, pod.DeletionTimestamp != nil, grace)
}

// RefreshPod replaces the pod a live worker holds without waking it: for an update that
// changes nothing the worker acts on (the echo of the agent's own status write), so that the
// next sync sees the latest object but a failing pod keeps its retry back-off.
func (p *PodWorkers) RefreshPod(pod *corev1.Pod) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if w, ok := p.workers[pod.UID]; ok && !w.terminating {
		w.pod = pod
	}
}

// KillPod terminates a pod (removed from the API, evicted, ...) with an optional grace period
// override.
func (p *PodWorkers) KillPod(pod *corev1.Pod, gracePeriod *int64) {
	p.update(pod, true, gracePeriod)
}

func (p *PodWorkers) update(pod *corev1.Pod, terminate bool, grace *int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.terminated[pod.UID] {
		return
	}
	w, ok := p.workers[pod.UID]
	if !ok {
		w = &worker{notify: make(chan struct{}, 1)}
		p.workers[pod.UID] = w
		if p.ctx != nil {
			p.spawn(pod.UID, w)
		}
	}
	w.pod = pod
	w.dirty = true
	if terminate {
		w.terminating = true
		// a grace period can only shorten (upstream: never lengthen a termination).
		if grace != nil && (w.grace == nil || *grace < *w.grace) {
			g := *grace
			w.grace = &g
		}
	}
	signal(w)
}

func (p *PodWorkers) resyncAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, w := range p.workers {
		w.dirty = true
		signal(w)
	}
}

// run is one pod's goroutine: wait for a signal, take the latest pod, sync or terminate it.
func (p *PodWorkers) run(uid types.UID, w *worker) {
	var retry clock.Timer
	for {
		var retryC <-chan time.Time
		if retry != nil {
			retryC = retry.C()
		}
		select {
		case <-p.ctx.Done():
			return
		case <-w.notify:
		case <-retryC:
			retry = nil
			p.mu.Lock()
			w.dirty = true
			p.mu.Unlock()
		}
		p.mu.Lock()
		if !w.dirty {
			p.mu.Unlock()
			continue
		}
		pod, terminating, grace := w.pod, w.terminating, w.grace
		w.dirty = false
		p.mu.Unlock()

		var err error
		if !terminating {
			var terminal bool
			terminal, err = p.cfg.Sync(p.ctx, pod)
			if err == nil && terminal {
				p.mu.Lock()
				w.terminating, w.dirty = true, true
				p.mu.Unlock()
				signal(w)
				continue
			}
		} else {
			err = p.cfg.Terminate(p.ctx, pod, grace)
			if err == nil {
				p.mu.Lock()
				if w.dirty {
					// An update came during the termination (the API object deleted while a
					// finished pod's status was written): terminate again with it, or it is lost.
					p.mu.Unlock()
					continue
				}
				delete(p.workers, uid)
				p.terminated[uid] = true
				p.mu.Unlock()
				if p.cfg.OnTerminated != nil {
					p.cfg.OnTerminated(pod)
				}
				return
			}
		}
		if err != nil {
			if p.ctx.Err() != nil {
				return
			}
			klog.V(2).InfoS("Pod worker failed, will retry", "pod", klog.KObj(pod), "terminating", terminating, "err", err)
			if retry != nil {
				retry.Stop()
			}
			retry = p.cfg.Clock.NewTimer(p.cfg.RetryPeriod)
		}
	}
}

// IsTerminated reports whether the pod finished its termination path.
func (p *PodWorkers) IsTerminated(uid types.UID) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.terminated[uid]
}

// Forget drops a terminated pod (its API object is gone), so a pod with the same UID would be
// started again.
func (p *PodWorkers) Forget(uid types.UID) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.terminated, uid)
}

// IsKnown reports whether the pod has a live worker.
func (p *PodWorkers) IsKnown(uid types.UID) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, ok := p.workers[uid]
	return ok
}

// Known returns the UIDs with a live worker.
func (p *PodWorkers) Known() []types.UID {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]types.UID, 0, len(p.workers))
	for uid := range p.workers {
		out = append(out, uid)
	}
	return out
}
