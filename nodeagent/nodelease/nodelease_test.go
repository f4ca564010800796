package nodelease

import (
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
