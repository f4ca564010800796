package kuberuntime

import (
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/clock"

	"github.com/skiff-dev/skiff/nodeagent/status"
)

// terminationOrdering is upstream's (kuberuntime_termination_order.go): when a pod with sidecars
// stops, each sidecar waits for every app container and then for the sidecars declared after
// it to exit, so the app containers stop first and the sidecars in reverse order.
type terminationOrdering struct {
	clock clock.Clock
	// terminated is closed when the container of that name exited (or was not running).
	terminated map[string]chan struct{}
	// prereqs are the channels a container waits on before it stops.
	prereqs map[string][]chan struct{}
	mu      sync.Mutex
}

// newTerminationOrdering returns nil for a pod without sidecars (no ordering).
func newTerminationOrdering(pod *corev1.Pod, running []string, clk clock.Clock) *terminationOrdering {
	has := false
	for i := range pod.Spec.InitContainers {
		has = has || status.IsRestartableInitContainer(&pod.Spec.InitContainers[i])
	}
	if !has {
		return nil
	}
	o := &terminationOrdering{clock: clk, terminated: map[string]chan struct{}{}, prereqs: map[string][]chan struct{}{}}
	isRunning := map[string]bool{}
	for _, n := range running {
		isRunning[n] = true
	}
	channel := func(name string) chan struct{} {
		ch := make(chan struct{})
		if !isRunning[name] {
			close(ch) // nothing to wait for
		}
		o.terminated[name] = ch
		return ch
	}
	var apps []chan struct{}
	for _, c := range pod.Spec.Containers {
		apps = append(apps, channel(c.Name))
	}
	later := ""
	for i := len(pod.Spec.InitContainers) - 1; i >= 0; i-- {
		c := &pod.Spec.InitContainers[i]
		channel(c.Name)
		if !status.IsRestartableInitContainer(c) {
			continue
		}
		o.prereqs[c.Name] = append(o.prereqs[c.Name], apps...)
		if later != "" {
			o.prereqs[c.Name] = append(o.prereqs[c.Name], o.terminated[later])
		}
		later = c.Name
	}
	return o
}

// waitForTurn waits until the container may stop, at most grace, and returns how long it
// waited.
func (o *terminationOrdering) waitForTurn(name string, grace time.Duration) time.Duration {
	if o == nil || grace <= 0 || len(o.prereqs[name]) == 0 {
		return 0
	}
	start := o.clock.Now()
	t := o.clock.NewTimer(grace)
	defer t.Stop()
	for _, ch := range o.prereqs[name] {
		select {
		case <-ch:
		case <-t.C():
			return o.clock.Since(start)
		}
	}
	return o.clock.Since(start)
}

// containerTerminated tells the containers waiting on name that it exited.
func (o *terminationOrdering) containerTerminated(name string) {
	if o == nil {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if ch, ok := o.terminated[name]; ok {
		close(ch)
		delete(o.terminated, name)
	}
}
