package controllertest

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/skiff-dev/skiff/insight/trace"
)

// Tracing makes a Skiff trace provider OpenTelemetry's global one for the test (the
// controllers take their tracer from it, as under `skiff up`) and returns its store; the
// global provider is a no-op again when the test ends.
func Tracing(t testing.TB) *trace.Store {
	t.Helper()
	p, err := trace.New(context.Background(), trace.Options{})
	if err != nil {
		t.Fatal(err)
	}
	otel.SetTracerProvider(p)
	t.Cleanup(func() {
		otel.SetTracerProvider(noop.NewTracerProvider())
		_ = p.Shutdown(context.Background())
	})
	return p.Store
}
