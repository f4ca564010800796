package main

import (
	"context"
	"sync"

	"github.com/spf13/pflag"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"

	"github.com/skiff-dev/skiff/insight/trace"
)

// tracingOptions configure the process's tracing (insight/trace): one provider per process, so
// that `skiff up`'s API server, controllers and node share one store.
type tracingOptions struct {
	disabled     bool
	bufferSize   int
	otlpEndpoint string
	otlpInsecure bool

	once     sync.Once
	provider *trace.Provider
	err      error
}

var processTracing = &tracingOptions{}

func tracingFlags(fs *pflag.FlagSet) {
	o := processTracing
	fs.BoolVar(&o.disabled, "disable-tracing", false, "Record no spans (skiff trace then has nothing to show).")
	fs.IntVar(&o.bufferSize, "trace-buffer-size", trace.DefaultBufferSize, "How many finished spans this process keeps for skiff trace (the oldest are dropped).")
	fs.StringVar(&o.otlpEndpoint, "otlp-endpoint", "", "Also export spans over OTLP/gRPC to this collector (HOST:PORT).")
	fs.BoolVar(&o.otlpInsecure, "otlp-insecure", false, "Export to --otlp-endpoint without TLS.")
}

// processTracer builds the process's provider once and makes it OpenTelemetry's global one
// (the controllers and the scheduler take theirs from it) with the W3C trace-context
// propagator; nil when tracing is disabled.
func processTracer(ctx context.Context) (*trace.Provider, error) {
	o := processTracing
	o.once.Do(func() {
		if o.disabled {
			return
		}
		o.provider, o.err = trace.New(ctx, trace.Options{BufferSize: o.bufferSize, OTLPEndpoint: o.otlpEndpoint,
			OTLPInsecure: o.otlpInsecure, ServiceName: "skiff"})
		if o.err != nil {
			return
		}
		otel.SetTracerProvider(o.provider)
		otel.SetTextMapPropagator(propagation.TraceContext{})
	})
	return o.provider, o.err
}
