package watchbuffer

import (
	"context"
	"sync"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/apiserver/pkg/registry/generic"
	"k8s.io/apiserver/pkg/storage"
	"k8s.io/apiserver/pkg/storage/storagebackend"

	"github.com/skiff-dev/skiff/apiserver/storagewrap"
)

// MaxQueued is the default bound of a watch's queue: ten seconds of events at 1,000 a second.
// The queued events share their objects with the watch cache, so a queue costs a few
// pointers per event.
const MaxQueued = 10000

// RESTOptionsGetter returns a getter whose storage buffers every watch in a queue of at most
// maxQueued events (MaxQueued when 0).
func RESTOptionsGetter(inner generic.RESTOptionsGetter, maxQueued int) generic.RESTOptionsGetter {
	if maxQueued <= 0 {
		maxQueued = MaxQueued
	}
	return storagewrap.Getter(inner, func(_ *storagebackend.ConfigForResource, _ string, s storage.Interface) storage.Interface {
		return &Storage{Interface: s, MaxQueued: maxQueued}
	})
}

// Storage is a storage.Interface whose watches are buffered.
type Storage struct {
	storage.Interface
	MaxQueued int
}

// Watch starts the inner watch and buffers it.
func (s *Storage) Watch(ctx context.Context, key string, opts storage.ListOptions) (watch.Interface, error) {
	w, err := s.Interface.Watch(ctx, key, opts)
	if err != nil {
		return nil, err
	}
	streaming := opts.SendInitialEvents != nil && *opts.SendInitialEvents
	return New(w, s.MaxQueued, streaming), nil
}

// New buffers w: its events move at once into a queue of at most maxQueued events. When the
// queue is full the inner watch is stopped, the queued events are delivered, and the result
// channel closes.
//
// A streaming list (streaming: the watch sends initial events, ended by a bookmark annotated
// k8s.io/initial-events-end) is not cut while it sends the initial state: the cache produces
// it all at once, so a list longer than maxQueued would be cut every time and the client would
// list again forever (an informer of 20,000 pods never synced). Until that bookmark the queue
// pushes back instead: it stops taking events while full, and the cacher sends the next
// initial event when the client has read.
func New(w watch.Interface, maxQueued int, streaming bool) watch.Interface {
	b := &buffered{inner: w, result: make(chan watch.Event), stop: make(chan struct{}), max: maxQueued, initial: streaming}
	go b.run()
	return b
}

type buffered struct {
	inner    watch.Interface
	result   chan watch.Event
	stop     chan struct{}
	stopOnce sync.Once
	max      int
	// initial is true while a streaming list sends its initial events.
	initial bool
}

func (b *buffered) ResultChan() <-chan watch.Event { return b.result }

func (b *buffered) Stop() {
	b.stopOnce.Do(func() { close(b.stop) })
}

func (b *buffered) run() {
	defer close(b.result)
	defer b.inner.Stop()
	var q queue
	in := b.inner.ResultChan()
	for {
		var out chan<- watch.Event
		var next watch.Event
		if q.len() > 0 {
			out, next = b.result, q.front()
		} else if in == nil {
			return // the inner watch ended and everything was delivered
		}
		take := in
		if b.initial && q.len() >= b.max {
			take = nil // push back on the initial events until the client reads
		}
		select {
		case ev, ok := <-take:
			if !ok {
				in = nil
				continue
			}
			q.push(ev)
			if b.initial {
				b.initial = !initialEventsEnd(ev)
				continue
			}
			if q.len() >= b.max {
				// A client that does not read: stop taking events; deliver what is queued.
				b.inner.Stop()
				in = nil
			}
		case out <- next:
			q.pop()
		case <-b.stop:
			return
		}
	}
}

// initialEventsEnd reports whether ev is the bookmark that ends a streaming list's initial
// events.
func initialEventsEnd(ev watch.Event) bool {
	if ev.Type != watch.Bookmark {
		return false
	}
	m, err := meta.Accessor(ev.Object)
	return err == nil && m.GetAnnotations()[metav1.InitialEventsAnnotationKey] == "true"
}

// queue is a FIFO of events in a ring that grows by doubling and shrinks when mostly empty, so a
// burst's memory is given back.
type queue struct {
	buf        []watch.Event
	head, size int
}

func (q *queue) len() int { return q.size }

func (q *queue) front() watch.Event { return q.buf[q.head] }

func (q *queue) push(ev watch.Event) {
	if q.size == len(q.buf) {
		q.resize(max(16, 2*len(q.buf)))
	}
	q.buf[(q.head+q.size)%len(q.buf)] = ev
	q.size++
}

func (q *queue) pop() {
	q.buf[q.head] = watch.Event{}
	q.head = (q.head + 1) % len(q.buf)
	q.size--
	if len(q.buf) > 64 && q.size < len(q.buf)/4 {
		q.resize(len(q.buf) / 2)
	}
}

func (q *queue) resize(n int) {
	buf := make([]watch.Event, n)
	for i := range q.size {
		buf[i] = q.buf[(q.head+i)%len(q.buf)]
	}
	q.buf, q.head = buf, 0
}
