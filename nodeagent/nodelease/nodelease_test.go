package nodelease

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestRenewerNext(t *testing.T) {
	failed := errors.New("connection refused")
	for _, tc := range []struct {
		name     string
		results  []error
		interval time.Duration
		want     []time.Duration
	}{
		{name: "successes wait the interval", results: []error{nil, nil}, interval: 10 * time.Second,
			want: []time.Duration{10 * time.Second, 10 * time.Second}},
		{name: "failures back off from 200 ms to 7 s", results: []error{failed, failed, failed, failed, failed, failed, failed},
			interval: 10 * time.Second,
			want: []time.Duration{200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond, 1600 * time.Millisecond,
				3200 * time.Millisecond, 6400 * time.Millisecond, RetryMax}},
		{name: "a success resets the backoff", results: []error{failed, failed, nil, failed}, interval: 10 * time.Second,
			want: []time.Duration{200 * time.Millisecond, 400 * time.Millisecond, 10 * time.Second, 200 * time.Millisecond}},
		{name: "never over the interval", results: []error{failed, failed, failed}, interval: 500 * time.Millisecond,
			want: []time.Duration{200 * time.Millisecond, 400 * time.Millisecond, 500 * time.Millisecond}},
		{name: "many failures stay at the bound", results: []error{failed, failed, failed, failed, failed, failed, failed, failed, failed, failed, failed, failed},
			interval: time.Minute,
			want: []time.Duration{200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond, 1600 * time.Millisecond,
				3200 * time.Millisecond, 6400 * time.Millisecond, RetryMax, RetryMax, RetryMax, RetryMax, RetryMax, RetryMax}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r Renewer
			for i, err := range tc.results {
				if got := r.Next(err, tc.interval); got != tc.want[i] {
					t.Errorf("result %d (%v): Next = %v, want %v", i, err, got, tc.want[i])
				}
			}
		})
	}
}

// TestHeartbeat: a renewal runs under a deadline of the interval; the wait that follows is
// Next's for its error.
func TestHeartbeat(t *testing.T) {
	const interval = 10 * time.Second
	failed := errors.New("connection refused")
	var r Renewer
	for _, tc := range []struct {
		name     string
		err      error
		wantNext time.Duration
	}{
		{"renewed", nil, interval},
		{"failed", failed, 200 * time.Millisecond},
		{"failed again", failed, 400 * time.Millisecond},
		{"renewed after failures", nil, interval},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			next, err := r.Heartbeat(context.Background(), interval, func(ctx context.Context) error {
				deadline, ok := ctx.Deadline()
				if !ok || deadline.After(start.Add(interval).Add(time.Second)) || deadline.Before(start.Add(interval-time.Second)) {
					t.Errorf("renewal deadline %v (set %v), want about %v from now", deadline, ok, interval)
				}
				return tc.err
			})
			if next != tc.wantNext || !errors.Is(err, tc.err) {
				t.Errorf("Heartbeat = %v, %v; want %v, %v", next, err, tc.wantNext, tc.err)
			}
		})
	}
}
