package controllers

import (
	"context"

	"go.opentelemetry.io/otel"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
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
