package scheduler

import (
	"container/heap"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
)

type queueState int

const (
	stateActive queueState = iota
	stateBackoff
	stateUnschedulable
	stateInFlight // popped, being scheduled or bound
)

// queuedPod is a pending pod known to the queue.
type queuedPod struct {
	pod      *corev1.Pod
	state    queueState
	attempts int
	added    time.Time // first enqueued, the tie-breaker after priority
	backoff  time.Time // not retried before this
	since    time.Time // entered the unschedulable pool
	cycle    int64     // moveCycle when popped
	index    int       // heap index
	deleted  bool      // deleted while in flight
	// waitsOnPods marks a pod rejected by a filter over other pods' placement (inter-pod
	// affinity, topology spread): an assigned pod's arrival retries it too.
	waitsOnPods bool
	podCycle    int64 // podMoveCycle when popped
}

// podHeap orders pods by a less function.
type podHeap struct {
	items []*queuedPod
	less  func(a, b *queuedPod) bool
}

func (h *podHeap) Len() int           { return len(h.items) }
func (h *podHeap) Less(i, j int) bool { return h.less(h.items[i], h.items[j]) }
func (h *podHeap) Swap(i, j int) {
	h.items[i], h.items[j] = h.items[j], h.items[i]
	h.items[i].index, h.items[j].index = i, j
}
func (h *podHeap) Push(x any) {
	qp := x.(*queuedPod)
	qp.index = len(h.items)
	h.items = append(h.items, qp)
}
func (h *podHeap) Pop() any {
	qp := h.items[len(h.items)-1]
	h.items[len(h.items)-1] = nil
	h.items = h.items[:len(h.items)-1]
	qp.index = -1
	return qp
}

// schedulingQueue holds pending pods in three places, as upstream's PriorityQueue: an active heap
// (higher priority, then older, first), a backoff heap, and an unschedulable pool that cluster
// events move back to the active or backoff heap.
type schedulingQueue struct {
	mu             sync.Mutex
	cond           *sync.Cond
	clock          clock.Clock
	pods           map[types.UID]*queuedPod
	active         podHeap
	backoffQ       podHeap
	unschedulable  map[types.UID]*queuedPod
	initialBackoff time.Duration
	maxBackoff     time.Duration
	// moveCycle counts move events; a pod failing after one arrived during its cycle is retried.
	moveCycle int64
	// podMoveCycle counts assigned-pod arrivals, which retry only pods waiting on pods.
	podMoveCycle int64
	closed       bool
}

func newSchedulingQueue(c clock.Clock, initial, maxBackoff time.Duration) *schedulingQueue {
	q := &schedulingQueue{
		clock: c, pods: map[types.UID]*queuedPod{}, unschedulable: map[types.UID]*queuedPod{},
		initialBackoff: initial, maxBackoff: maxBackoff,
	}
	q.cond = sync.NewCond(&q.mu)
	q.active.less = func(a, b *queuedPod) bool {
		pa, pb := priorityOf(a.pod), priorityOf(b.pod)
		if pa != pb {
			return pa > pb
		}
		return a.added.Before(b.added)
	}
	q.backoffQ.less = func(a, b *queuedPod) bool { return a.backoff.Before(b.backoff) }
	return q
}

// add enqueues a new pending pod, or updates a known one. An update to a pod in the
// unschedulable pool that changes its spec or labels retries it.
func (q *schedulingQueue) add(pod *corev1.Pod) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if qp := q.pods[pod.UID]; qp != nil {
		old := qp.pod
		qp.pod = pod
		switch qp.state {
		case stateActive:
			heap.Fix(&q.active, qp.index)
		case stateUnschedulable:
			if specChanged(old, pod) {
				q.moveLocked(qp)
			}
		}
		return
	}
	qp := &queuedPod{pod: pod, added: q.clock.Now(), index: -1}
	q.pods[pod.UID] = qp
	q.pushActiveLocked(qp)
}

func specChanged(old, pod *corev1.Pod) bool {
	return old.Generation != pod.Generation || !equalStringMaps(old.Labels, pod.Labels) ||
		len(old.Spec.Tolerations) != len(pod.Spec.Tolerations) || len(old.Spec.SchedulingGates) != len(pod.Spec.SchedulingGates)
}

func equalStringMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// remove forgets a pod (deleted, or bound).
func (q *schedulingQueue) remove(uid types.UID) {
	q.mu.Lock()
	defer q.mu.Unlock()
	qp := q.pods[uid]
	if qp == nil {
		return
	}
	delete(q.pods, uid)
	switch qp.state {
	case stateActive:
		heap.Remove(&q.active, qp.index)
	case stateBackoff:
		heap.Remove(&q.backoffQ, qp.index)
	case stateUnschedulable:
		delete(q.unschedulable, uid)
	case stateInFlight:
		qp.deleted = true
	}
}

func (q *schedulingQueue) pushActiveLocked(qp *queuedPod) {
	qp.state = stateActive
	heap.Push(&q.active, qp)
	q.cond.Signal()
}

// pop blocks until a pod is active (or the queue closes) and marks it in flight.
func (q *schedulingQueue) pop() *queuedPod {
	q.mu.Lock()
	defer q.mu.Unlock()
	for q.active.Len() == 0 && !q.closed {
		q.cond.Wait()
	}
	if q.closed {
		return nil
	}
	qp := heap.Pop(&q.active).(*queuedPod)
	qp.state = stateInFlight
	qp.attempts++
	qp.cycle, qp.podCycle = q.moveCycle, q.podMoveCycle
	return qp
}

func (q *schedulingQueue) backoffDuration(attempts int) time.Duration {
	d := q.initialBackoff
	for i := 1; i < attempts && d < q.maxBackoff; i++ {
		d *= 2
	}
	return min(d, q.maxBackoff)
}

// requeue returns a pod whose cycle failed: unschedulable pods wait for a cluster event (unless
// one arrived during the cycle), errors retry after backoff. waitsOnPods makes an assigned pod's
// arrival such an event for this pod.
func (q *schedulingQueue) requeue(qp *queuedPod, unschedulable, waitsOnPods bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if qp.deleted || q.pods[qp.pod.UID] != qp {
		return
	}
	now := q.clock.Now()
	qp.backoff = now.Add(q.backoffDuration(qp.attempts))
	qp.waitsOnPods = waitsOnPods
	missed := qp.cycle != q.moveCycle || waitsOnPods && qp.podCycle != q.podMoveCycle
	if unschedulable && !missed {
		qp.state = stateUnschedulable
		qp.since = now
		q.unschedulable[qp.pod.UID] = qp
		return
	}
	qp.state = stateBackoff
	heap.Push(&q.backoffQ, qp)
}

// done forgets a pod that was bound.
func (q *schedulingQueue) done(qp *queuedPod) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.pods[qp.pod.UID] == qp {
		delete(q.pods, qp.pod.UID)
	}
}

// moveAll retries every unschedulable pod after a cluster event, honouring its backoff.
func (q *schedulingQueue) moveAll() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.moveCycle++
	for _, qp := range q.unschedulable {
		q.moveLocked(qp)
	}
}

// moveWaitingOnPods retries the unschedulable pods waiting on other pods' placement after an
// assigned pod arrived.
func (q *schedulingQueue) moveWaitingOnPods() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.podMoveCycle++
	for _, qp := range q.unschedulable {
		if qp.waitsOnPods {
			q.moveLocked(qp)
		}
	}
}

func (q *schedulingQueue) moveLocked(qp *queuedPod) {
	delete(q.unschedulable, qp.pod.UID)
	if q.clock.Now().Before(qp.backoff) {
		qp.state = stateBackoff
		heap.Push(&q.backoffQ, qp)
		return
	}
	q.pushActiveLocked(qp)
}

// flush moves pods whose backoff expired to the active heap, and pods unschedulable for longer
// than maxUnschedulable back for a retry.
func (q *schedulingQueue) flush(maxUnschedulable time.Duration) {
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.clock.Now()
	for q.backoffQ.Len() > 0 && !now.Before(q.backoffQ.items[0].backoff) {
		qp := heap.Pop(&q.backoffQ).(*queuedPod)
		q.pushActiveLocked(qp)
	}
	for _, qp := range q.unschedulable {
		if now.Sub(qp.since) >= maxUnschedulable {
			q.moveLocked(qp)
		}
	}
}

// lengths reports the active, backoff and unschedulable counts.
func (q *schedulingQueue) lengths() (active, backoff, unschedulable int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.active.Len(), q.backoffQ.Len(), len(q.unschedulable)
}

func (q *schedulingQueue) close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	q.cond.Broadcast()
}
