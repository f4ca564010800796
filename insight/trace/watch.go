package trace

import (
	"context"

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

// StartWatch starts the span of a watch event delivered to component (a controller, the
// scheduler) for obj: name is WatchSpanName(kind), the caller is the API server (the diagram
// draws the delivery as its arrow) and the attributes are the object's and the event type. The
// caller ends the span when it has handled the event. With tracing off (a non-recording span)
// no attribute is computed.
func StartWatch(ctx context.Context, tr oteltrace.Tracer, name, component, kind, eventType string, obj metav1.Object) oteltrace.Span {
	_, sp := tr.Start(ctx, name)
	if sp.IsRecording() && obj != nil {
		sp.SetAttributes(Component(component), Caller(ComponentAPIServer), attribute.String(AttrWatchEvent, eventType))
		sp.SetAttributes(Object(kind, obj)...)
	}
	return sp
}
