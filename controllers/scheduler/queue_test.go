package scheduler

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	clocktesting "k8s.io/utils/clock/testing"
)

func TestQueueOrderBackoffAndMoves(t *testing.T) {
	clk := clocktesting.NewFakeClock(time.Now())
	q := newSchedulingQueue(clk, time.Second, 10*time.Second)
	low := makePod("low", "", "")
	high := makePod("high", "", "", func(p *corev1.Pod) { p.Spec.Priority = ptr(int32(100)) })
	q.add(low)
	clk.Step(time.Millisecond)
	q.add(high)
	if got := q.pop(); got.pod.Name != "high" {
		t.Fatalf("popped %s first, want high", got.pod.Name)
	}
	qp := q.pop()
	if qp.pod.Name != "low" {
		t.Fatalf("popped %s, want low", qp.pod.Name)
	}

	// Unschedulable: parked until a cluster event, then retried only after its backoff.
	q.requeue(qp, true, false)
	q.flush(5 * time.Minute)
	if a, b, u := q.lengths(); a != 0 || b != 0 || u != 1 {
		t.Fatalf("lengths = %d/%d/%d, want 0/0/1", a, b, u)
	}
	// Our own status update does not move it.
	updated := low.DeepCopy()
	updated.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse}}
	q.add(updated)
	if _, _, u := q.lengths(); u != 1 {
		t.Fatal("a status-only update moved the pod")
	}
	q.moveAll()
	if a, b, _ := q.lengths(); a != 0 || b != 1 {
		t.Fatalf("after move: active %d backoff %d, want 0/1 (backoff not expired)", a, b)
	}
	clk.Step(999 * time.Millisecond)
	q.flush(5 * time.Minute)
	if a, _, _ := q.lengths(); a != 0 {
		t.Fatal("retried before its 1s backoff")
	}
	clk.Step(time.Millisecond)
	q.flush(5 * time.Minute)
	if a, _, _ := q.lengths(); a != 1 {
		t.Fatal("not retried after its backoff")
	}
	qp = q.pop()
	if qp.attempts != 2 {
		t.Fatalf("attempts = %d", qp.attempts)
	}
	// Second failure doubles the backoff.
	q.requeue(qp, false, false)
	clk.Step(1500 * time.Millisecond)
	q.flush(5 * time.Minute)
	if a, b, _ := q.lengths(); a != 0 || b != 1 {
		t.Fatalf("active %d backoff %d after 1.5s of a 2s backoff", a, b)
	}
	clk.Step(500 * time.Millisecond)
	q.flush(5 * time.Minute)
	qp = q.pop()

	// A move event during the cycle sends the pod to backoff rather than the pool.
	q.moveAll()
	q.requeue(qp, true, false)
	if _, b, u := q.lengths(); b != 1 || u != 0 {
		t.Fatalf("backoff %d unschedulable %d, want 1/0", b, u)
	}

	// Parked pods are retried after MaxUnschedulableDuration even without events.
	clk.Step(time.Minute)
	q.flush(5 * time.Minute)
	qp = q.pop()
	q.requeue(qp, true, false)
	clk.Step(5 * time.Minute)
	q.flush(5 * time.Minute)
	if a, _, _ := q.lengths(); a != 1 {
		t.Fatal("parked pod not retried after 5 minutes")
	}

	// Deleted pods leave every queue.
	q.remove(low.UID)
	if a, b, u := q.lengths(); a+b+u != 0 {
		t.Fatalf("lengths after remove: %d/%d/%d", a, b, u)
	}
	if d := q.backoffDuration(10); d != 10*time.Second {
		t.Errorf("backoff cap = %v", d)
	}
}
