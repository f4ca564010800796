package controllers

import (
	"context"
	"time"

	"go.opentelemetry.io/otel"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/skiff-dev/skiff/insight/trace"
)

// Traced wraps a reconciler so that each reconcile is a span "reconcile <kind>" of component
// controller:<name>, with the attributes of the object read from reader (the manager's cache)
// when tracing is on (OpenTelemetry's global provider, which Skiff's commands set). The writes
// the reconcile makes inherit the span through their context: the API server links its request
// spans to it (insight/trace.WrapTransport on the manager's client).
func Traced(name, kind string, reader client.Reader, newObj func() client.Object, r reconcile.Reconciler) reconcile.Reconciler {
	tracer := otel.Tracer(trace.ScopeName)
	component := trace.Component(trace.Controller(name))
	spanName := "reconcile " + kind
	return reconcile.Func(func(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
		ctx, span := tracer.Start(ctx, spanName)
		if !span.IsRecording() {
			return r.Reconcile(ctx, req)
		}
		defer span.End()
		span.SetAttributes(component)
		obj := newObj()
		if err := reader.Get(ctx, req.NamespacedName, obj); err == nil {
			span.SetAttributes(trace.Object(kind, obj)...)
		} else if !apierrors.IsNotFound(err) {
			span.RecordError(err)
		}
		res, err := r.Reconcile(ctx, req)
		if err != nil {
			span.RecordError(err)
		}
		return res, err
	})
}

// TracedWatch wraps an event handler so that each watch event it handles is a delivery span
// "watch <kind> event" of component controller:<name> (insight/trace.Watch: the object's
// attributes with its resourceVersion, the event type, the API server as the caller), from
// the event's arrival to the end of the handler's work. An event the handler enqueues nothing
// for (a pod of another controller's) and a resync (an update of the same resourceVersion) are
// not recorded: the span says which controllers the object's change set to work.
func TracedWatch(name, kind string, h handler.EventHandler) handler.EventHandler {
	return &tracedHandler{next: h, watch: trace.NewWatch(trace.Controller(name), kind)}
}

type tracedHandler struct {
	next  handler.EventHandler
	watch *trace.Watch
}

// handle runs the handler (next, given the queue to use) and records the delivery when it
// queued work.
func (h *tracedHandler) handle(ctx context.Context, eventType string, obj client.Object, q queue, next func(queue)) {
	start := time.Now()
	counted := countingQueue{queue: q}
	next(&counted)
	if counted.added > 0 {
		h.watch.Delivered(ctx, eventType, obj, start)
	}
}

func (h *tracedHandler) Create(ctx context.Context, e event.TypedCreateEvent[client.Object], q queue) {
	h.handle(ctx, trace.WatchAdded, e.Object, q, func(q queue) { h.next.Create(ctx, e, q) })
}

func (h *tracedHandler) Update(ctx context.Context, e event.TypedUpdateEvent[client.Object], q queue) {
	if trace.Resync(e.ObjectOld, e.ObjectNew) {
		h.next.Update(ctx, e, q)
		return
	}
	h.handle(ctx, trace.WatchModified, e.ObjectNew, q, func(q queue) { h.next.Update(ctx, e, q) })
}

func (h *tracedHandler) Delete(ctx context.Context, e event.TypedDeleteEvent[client.Object], q queue) {
	h.handle(ctx, trace.WatchDeleted, e.Object, q, func(q queue) { h.next.Delete(ctx, e, q) })
}

// Generic events are not watch events (a channel source's): not traced.
func (h *tracedHandler) Generic(ctx context.Context, e event.TypedGenericEvent[client.Object], q queue) {
	h.next.Generic(ctx, e, q)
}

// TracedFor is the option of a builder's For (the controller's own kind, which it always
// enqueues) that records each of its watch events as TracedWatch does: For(&appsv1.Deployment{},
// controllers.TracedFor("deployment", "Deployment")). Give it after any other predicate of
// For: it records the events that passed them.
func TracedFor(name, kind string) builder.Predicates {
	return builder.WithPredicates(TracedPredicate(name, kind))
}

// TracedPredicate is TracedFor's predicate: it records every event and filters none out.
func TracedPredicate(name, kind string) predicate.Predicate {
	w := trace.NewWatch(trace.Controller(name), kind)
	return predicate.Funcs{
		CreateFunc: func(e event.CreateEvent) bool {
			w.Delivered(context.Background(), trace.WatchAdded, e.Object, time.Now())
			return true
		},
		UpdateFunc: func(e event.UpdateEvent) bool {
			if !trace.Resync(e.ObjectOld, e.ObjectNew) {
				w.Delivered(context.Background(), trace.WatchModified, e.ObjectNew, time.Now())
			}
			return true
		},
		DeleteFunc: func(e event.DeleteEvent) bool {
			w.Delivered(context.Background(), trace.WatchDeleted, e.Object, time.Now())
			return true
		},
	}
}

// countingQueue counts the requests a handler adds.
type countingQueue struct {
	queue
	added int
}

func (q *countingQueue) Add(r reconcile.Request) {
	q.added++
	q.queue.Add(r)
}

func (q *countingQueue) AddAfter(r reconcile.Request, d time.Duration) {
	q.added++
	q.queue.AddAfter(r, d)
}

func (q *countingQueue) AddRateLimited(r reconcile.Request) {
	q.added++
	q.queue.AddRateLimited(r)
}
