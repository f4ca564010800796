package watchbuffer

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/skiff-dev/skiff/test/poll"
)

func pod(rv string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{ResourceVersion: rv}}
}

// The inner watch never waits on the reader: a burst larger than any channel is taken at once,
// then delivered in order.
func TestBurstIsQueuedInOrder(t *testing.T) {
	inner := watch.NewFakeWithChanSize(0, false) // unbuffered: each Add waits for the buffer's reader
	w := New(inner, 1000, false)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 500 {
			inner.Add(pod(string(rune('a' + i%26))))
		}
	}()
	select {
	case <-done: // all 500 sent while nobody read the result
	case <-time.After(10 * time.Second):
		t.Fatal("the inner watch blocked on a reader that does not read")
	}
	for i := range 500 {
		ev := <-w.ResultChan()
		if got, want := ev.Object.(*corev1.Pod).ResourceVersion, string(rune('a'+i%26)); got != want {
			t.Fatalf("event %d: rv %q, want %q", i, got, want)
		}
	}
	w.Stop()
	if _, ok := <-w.ResultChan(); ok {
		t.Fatal("result channel open after Stop")
	}
	if !inner.IsStopped() {
		t.Fatal("inner watch not stopped")
	}
}

// A reader that never reads is cut at the bound: the inner watch stops, the queued events are
// still delivered, then the channel closes.
func TestFullQueueStopsInnerAndDrains(t *testing.T) {
	inner := watch.NewFakeWithChanSize(0, false)
	w := New(inner, 10, false)
	for range 10 {
		inner.Add(pod("1"))
	}
	poll.Until(t, 10*time.Second, "inner watch stopped at the bound", poll.Check(func() (bool, string) {
		return inner.IsStopped(), "still running"
	}))
	n := 0
	for range w.ResultChan() {
		n++
	}
	if n != 10 {
		t.Fatalf("delivered %d events after the cut, want 10", n)
	}
}

// The inner watch ending (the cacher closing it, an error event) reaches the reader after the
// queued events.
func TestInnerEndIsDeliveredLast(t *testing.T) {
	inner := watch.NewFakeWithChanSize(3, false)
	inner.Add(pod("1"))
	inner.Add(pod("2"))
	inner.Error(&metav1.Status{Reason: metav1.StatusReasonExpired})
	inner.Stop()
	w := New(inner, 10, false)
	var types []watch.EventType
	for ev := range w.ResultChan() {
		types = append(types, ev.Type)
	}
	if len(types) != 3 || types[2] != watch.Error {
		t.Fatalf("events %v, want Added Added Error then close", types)
	}
}

func TestQueueGrowsAndShrinks(t *testing.T) {
	var q queue
	for i := range 1000 {
		q.push(watch.Event{Object: pod(string(rune('0' + i%10)))})
	}
	if q.len() != 1000 || len(q.buf) < 1000 {
		t.Fatalf("len %d cap %d", q.len(), len(q.buf))
	}
	for i := range 990 {
		if got := q.front().Object.(*corev1.Pod).ResourceVersion; got != string(rune('0'+i%10)) {
			t.Fatalf("item %d: %q", i, got)
		}
		q.pop()
	}
	if q.len() != 10 || len(q.buf) > 64 {
		t.Fatalf("after draining: len %d cap %d, want the ring given back", q.len(), len(q.buf))
	}
}

// A streaming list longer than the bound is not cut: the queue pushes back on the initial events
// (the sender waits) until the client reads, and after the initial-events-end bookmark a reader
// that does not read is cut at the bound again.
func TestStreamingListIsNotCutDuringInitialEvents(t *testing.T) {
	inner := watch.NewFakeWithChanSize(0, false)
	w := New(inner, 10, true)
	sent := make(chan int, 1)
	bookmarkRead := make(chan struct{})
	go func() {
		for i := range 50 {
			inner.Add(pod("1"))
			if i == 10 {
				sent <- i
			}
		}
		bookmark := pod("2")
		bookmark.Annotations = map[string]string{metav1.InitialEventsAnnotationKey: "true"}
		inner.Action(watch.Bookmark, bookmark)
		<-bookmarkRead // the queue is empty
		for range 10 { // exactly the bound: the last one cuts the watch
			inner.Add(pod("3"))
		}
	}()
	select {
	case <-sent:
		t.Fatal("the 11th initial event was taken into a full queue")
	case <-time.After(200 * time.Millisecond): // the sender waits on a queue of 10: no condition to poll for
	}
	if inner.IsStopped() {
		t.Fatal("a streaming list was cut during its initial events")
	}
	initial := 0
	for ev := range w.ResultChan() {
		if ev.Type == watch.Bookmark {
			close(bookmarkRead)
			break
		}
		initial++
	}
	if initial != 50 {
		t.Fatalf("%d initial events delivered, want 50", initial)
	}
	// Not reading now: the live events fill the queue and the watch is cut.
	poll.Until(t, 10*time.Second, "inner watch stopped at the bound after the initial events", poll.Check(func() (bool, string) {
		return inner.IsStopped(), "still running"
	}))
}
