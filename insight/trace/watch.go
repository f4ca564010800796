package trace

import (
	"context"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	oteltrace "go.opentelemetry.io/otel/trace"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Watch event types (AttrWatchEvent), as the API's watch.EventType.
const (
	WatchAdded    = "ADDED"
	WatchModified = "MODIFIED"
	WatchDeleted  = "DELETED"
)

// WatchSpanName is the name of the span of a watch event's delivery: "watch Pod event".
func WatchSpanName(kind string) string { return "watch " + kind + " event" }

// Watch records the deliveries of one kind's watch events to one component: the mechanism
// every watch of a controller, the scheduler, the node agent and the service proxy shares
// (controllers.TracedWatch and TracedFor, insight/watchtrace.Handler for client-go informers).
// A delivery is recorded once its handling is over, and only when it is kept (the handler
// queued work): an event nobody acted on costs a time.Now and nothing else, with tracing on
// or off.
type Watch struct {
	tracer          oteltrace.Tracer
	name            string
	component, kind string
	// Attributes, when set, adds attributes of the object (an EndpointSlice's pods as related
	// objects).
	Attributes func(obj metav1.Object) []attribute.KeyValue
	// Keep, when set, says whether an event of eventType for obj is recorded (the scheduler's
	// for the pods it schedules or places on nodes, not the unbound pods of another
	// scheduler's).
	Keep func(eventType string, obj metav1.Object) bool
}

// NewWatch is the deliveries of kind to component, recorded with OpenTelemetry's global
// provider (which Skiff's commands set).
func NewWatch(component, kind string) *Watch {
	return &Watch{tracer: otel.Tracer(ScopeName), name: WatchSpanName(kind), component: component, kind: kind}
}

// Delivered records the span of an event of eventType for obj that arrived at start and whose
// handling ends now. The span carries the object's attributes, its resourceVersion among them:
// the diagram joins it with the write that committed that resourceVersion (JoinDeliveries).
func (w *Watch) Delivered(ctx context.Context, eventType string, obj metav1.Object, start time.Time) {
	if obj == nil || w.Keep != nil && !w.Keep(eventType, obj) {
		return
	}
	_, sp := w.tracer.Start(ctx, w.name, oteltrace.WithTimestamp(start))
	if sp.IsRecording() {
		var extra []attribute.KeyValue
		if w.Attributes != nil {
			extra = w.Attributes(obj)
		}
		sp.SetAttributes(watchAttributes(w.component, w.kind, eventType, obj, extra)...)
	}
	sp.End()
}

// Resync says whether an update event redelivers the version its handler already had (an
// informer's resync): no write is being delivered.
func Resync(old, obj metav1.Object) bool {
	return old != nil && obj != nil && old.GetResourceVersion() == obj.GetResourceVersion()
}

// watchAttributes are a delivery span's attributes.
func watchAttributes(component, kind, eventType string, obj metav1.Object, extra []attribute.KeyValue) []attribute.KeyValue {
	attrs := make([]attribute.KeyValue, 0, 9+len(extra))
	attrs = append(attrs, Component(component), Caller(ComponentAPIServer), attribute.String(AttrWatchEvent, eventType))
	attrs = appendObject(attrs, kind, obj)
	return append(attrs, extra...)
}
