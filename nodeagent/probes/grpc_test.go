package probes_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	grpchealth "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/skiff-dev/skiff/nodeagent/probes"
)

// TestGRPCProbe: SERVING succeeds; NOT_SERVING, an unknown service, a server without the health
// service and a port nobody listens on fail with upstream's messages, within the timeout.
func TestGRPCProbe(t *testing.T) {
	serve := func(withHealth bool) int {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := grpc.NewServer()
		if withHealth {
			h := health.NewServer()
			h.SetServingStatus("", grpchealth.HealthCheckResponse_SERVING)
			h.SetServingStatus("down", grpchealth.HealthCheckResponse_NOT_SERVING)
			grpchealth.RegisterHealthServer(srv, h)
		}
		go func() { _ = srv.Serve(ln) }()
		t.Cleanup(srv.Stop)
		return ln.Addr().(*net.TCPAddr).Port
	}
	healthy, bare := serve(true), serve(false)
	closed := func() int {
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		p := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		return p
	}()
	for _, tc := range []struct {
		name    string
		port    int
		service string
		want    probes.Result
		out     string
	}{
		{"serving", healthy, "", probes.Success, "responded SERVING"},
		{"not serving", healthy, "down", probes.Failure, `service unhealthy (responded with "NOT_SERVING")`},
		{"unknown service", healthy, "nope", probes.Failure, "error: health rpc probe failed"},
		{"no health service", bare, "", probes.Failure, "does not implement the grpc health protocol"},
		{"nobody listens", closed, "", probes.Failure, "timeout: failed to connect service"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			res, out := probes.DoGRPC(context.Background(), "127.0.0.1", tc.port, tc.service, time.Second)
			if res != tc.want || !strings.Contains(out, tc.out) {
				t.Errorf("result %v %q, want %v containing %q", res, out, tc.want, tc.out)
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("took %v with a 1 s timeout", d)
			}
		})
	}
}
