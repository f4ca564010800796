package controllers

import (
	"context"
	"time"

	"go.opentelemetry.io/otel"
	oteltrace "go.opentelemetry.io/otel/trace"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
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

// TracedWatch wraps an event handler so that each watch event it handles is a span "watch
// <kind> event" of component controller:<name> (trace.StartWatch: the object's attributes, the
// event type, the API server as the caller) around the handler's work. An event the handler
// enqueues nothing for (a pod of another controller's) is not kept: the span says which
// controllers the object's change set to work. With tracing off the cost is one non-recording
// span per event.
func TracedWatch(name, kind string, h handler.EventHandler) handler.EventHandler {
	return &tracedHandler{next: h, tracer: otel.Tracer(trace.ScopeName), component: trace.Controller(name),
		kind: kind, spanName: trace.WatchSpanName(kind)}
}

type tracedHandler struct {
	next                      handler.EventHandler
	tracer                    oteltrace.Tracer
	component, kind, spanName string
}

// handle runs the handler (next, given the queue to use) inside the event's span.
func (h *tracedHandler) handle(ctx context.Context, eventType string, obj client.Object, q queue, next func(queue)) {
	sp := trace.StartWatch(ctx, h.tracer, h.spanName, h.component, h.kind, eventType, obj)
	if !sp.IsRecording() {
		next(q)
		return
	}
	counted := &countingQueue{queue: q}
	next(counted)
	if counted.added == 0 {
		sp.SetAttributes(trace.Discard)
	}
	sp.End()
}

func (h *tracedHandler) Create(ctx context.Context, e event.TypedCreateEvent[client.Object], q queue) {
	h.handle(ctx, trace.WatchAdded, e.Object, q, func(q queue) { h.next.Create(ctx, e, q) })
}

func (h *tracedHandler) Update(ctx context.Context, e event.TypedUpdateEvent[client.Object], q queue) {
	h.handle(ctx, trace.WatchModified, e.ObjectNew, q, func(q queue) { h.next.Update(ctx, e, q) })
}

func (h *tracedHandler) Delete(ctx context.Context, e event.TypedDeleteEvent[client.Object], q queue) {
	h.handle(ctx, trace.WatchDeleted, e.Object, q, func(q queue) { h.next.Delete(ctx, e, q) })
}

// Generic events are not watch events (a channel source's): not traced.
func (h *tracedHandler) Generic(ctx context.Context, e event.TypedGenericEvent[client.Object], q queue) {
	h.next.Generic(ctx, e, q)
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
