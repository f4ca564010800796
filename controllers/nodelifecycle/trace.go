package nodelifecycle

import (
	"context"
	"strings"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	oteltrace "go.opentelemetry.io/otel/trace"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/skiff-dev/skiff/insight/trace"
)

// The components of the controller's spans (insight/trace): upstream's node lifecycle
// controller and its taint eviction controller.
var (
	componentLifecycle = trace.Controller("nodelifecycle")
	componentEviction  = trace.Controller("taint-eviction")
)

// nodeSpan starts a span of the controller's work on node; with pod set, the pod is the span's
// effect (a node's story goes on with the pods it acted on).
func nodeSpan(ctx context.Context, component, name string, node *corev1.Node, pod *corev1.Pod, attrs ...attribute.KeyValue) (context.Context, oteltrace.Span) {
	ctx, span := otel.Tracer(trace.ScopeName).Start(ctx, name, oteltrace.WithAttributes(trace.Component(component)))
	if !span.IsRecording() {
		return ctx, span
	}
	span.SetAttributes(trace.Object("Node", node)...)
	if pod != nil {
		span.SetAttributes(trace.Effects([]types.UID{pod.UID}), attribute.String("k8s.pod.name", pod.Namespace+"/"+pod.Name))
	}
	span.SetAttributes(attrs...)
	return ctx, span
}

// end ends a span, recording err.
func end(span oteltrace.Span, err error) {
	if err != nil {
		span.RecordError(err)
	}
	span.End()
}

// recordSilence records the time a node was not heard from as a span "Lease not renewed",
// from the last renewal (or heartbeat, or first sight) the controller saw until it gave up.
func recordSilence(ctx context.Context, node *corev1.Node, h *nodeHealth, now time.Time) {
	from := h.probe
	for _, t := range []time.Time{h.renew, h.heartbeat} {
		if !t.IsZero() && t.Before(now) && t.After(from) {
			from = t
		}
	}
	attrs := append(trace.Object("Node", node), trace.Component(componentLifecycle),
		attribute.String("skiff.silent_for", now.Sub(from).Round(time.Millisecond).String()))
	if !h.renew.IsZero() {
		attrs = append(attrs, attribute.String("skiff.lease_renew_time", h.renew.UTC().Format(time.RFC3339Nano)))
	}
	trace.Record(ctx, otel.Tracer(trace.ScopeName), "Lease not renewed", from, now, attrs...)
}

// taintsText is a node's taints as key=value:effect, comma-separated.
func taintsText(taints []corev1.Taint) string {
	s := make([]string, len(taints))
	for i, t := range taints {
		s[i] = t.ToString()
	}
	return strings.Join(s, ",")
}
