package simulated

import (
	"container/heap"
	"context"
	"math/rand/v2"
	"sync"
	"time"

	"k8s.io/utils/clock"
)

// The recurring work of a simulated node, run by the pool's heartbeat scheduler.
const (
	taskRegister = iota // register the Node (retried until it succeeds)
	taskLease           // renew the Lease
	taskStatus          // compute the node status and post it when due
	numTasks
)

// task is one entry of the scheduler's heap; each node owns its tasks (no allocation a run).
type task struct {
	at    time.Time
	node  *Node
	kind  int
	index int // in the heap; -1 when not queued
}

type taskHeap []*task

func (h taskHeap) Len() int           { return len(h) }
func (h taskHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h taskHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *taskHeap) Push(x any) { t := x.(*task); t.index = len(*h); *h = append(*h, t) }
func (h *taskHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	t.index = -1
	return t
}

// scheduler runs the nodes' registrations, Lease renewals and status syncs of a pool on a
// few goroutines: one dispatcher keeps the tasks in a heap by time, workers run the due ones
// (a slow API call delays only its worker).
type scheduler struct {
	clock   clock.Clock
	workers int
	run     func(ctx context.Context, t *task) (next time.Duration)

	mu   sync.Mutex
	h    taskHeap
	wake chan struct{}
}

func newScheduler(clk clock.Clock, workers int, run func(context.Context, *task) time.Duration) *scheduler {
	return &scheduler{clock: clk, workers: workers, run: run, wake: make(chan struct{}, 1)}
}

// schedule queues t at, or moves it there when queued already.
func (s *scheduler) schedule(t *task, at time.Time) {
	s.mu.Lock()
	t.at = at
	if t.index >= 0 {
		heap.Fix(&s.h, t.index)
	} else {
		heap.Push(&s.h, t)
	}
	first := s.h[0] == t
	s.mu.Unlock()
	if first {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
}

// unschedule drops t from the queue.
func (s *scheduler) unschedule(t *task) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t.index >= 0 {
		heap.Remove(&s.h, t.index)
	}
}

// jitter is d lengthened by up to 4 %, as the kubelet's heartbeat loops (wait.JitterUntil).
func jitter(d time.Duration) time.Duration {
	return d + time.Duration(rand.Int64N(int64(d)/25+1))
}

// spread is a random time in [0, d): the first heartbeat of nodes started together.
func spread(d time.Duration) time.Duration { return time.Duration(rand.Int64N(int64(d) + 1)) }

// Start runs the dispatcher and the workers until ctx ends.
func (s *scheduler) Start(ctx context.Context) {
	due := make(chan *task)
	var wg sync.WaitGroup
	for i := 0; i < s.workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for t := range due {
				if next := s.run(ctx, t); next > 0 && ctx.Err() == nil && !t.node.stopped.Load() {
					s.schedule(t, s.clock.Now().Add(next))
				}
			}
		}()
	}
	defer func() { close(due); wg.Wait() }()
	for {
		s.mu.Lock()
		now := s.clock.Now()
		if len(s.h) > 0 && !s.h[0].at.After(now) {
			t := heap.Pop(&s.h).(*task)
			s.mu.Unlock()
			select {
			case due <- t:
			case <-ctx.Done():
				return
			}
			continue
		}
		wait := time.Hour
		if len(s.h) > 0 {
			wait = s.h[0].at.Sub(now)
		}
		s.mu.Unlock()
		timer := s.clock.NewTimer(wait)
		select {
		case <-timer.C():
		case <-s.wake:
		case <-ctx.Done():
			timer.Stop()
			return
		}
		timer.Stop()
	}
}
