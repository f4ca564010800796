// Package poll is the one helper tests use to wait for a condition with a deadline: it calls
// the condition at a short interval until it holds or the deadline passes, then fails the test
// with the condition's last error. No test waits with a sleep of its own.
package poll

import (
	"context"
	"errors"
	"testing"
	"time"
)

// Interval is the time between two calls of a condition.
const Interval = 50 * time.Millisecond

// DefaultTimeout is the deadline of Until for conditions the tests expect within seconds.
const DefaultTimeout = 30 * time.Second

// Until calls f until it returns nil; after timeout the test fails with what and f's last
// error.
func Until(t testing.TB, timeout time.Duration, what string, f func() error) {
	t.Helper()
	if err := Wait(context.Background(), timeout, f); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// Eventually is Until with DefaultTimeout.
func Eventually(t testing.TB, what string, f func() error) {
	t.Helper()
	Until(t, DefaultTimeout, what, f)
}

// Cond turns a condition reporting (done, error) into one for Until: an error stops nothing,
// it is reported if the deadline passes.
func Cond(ctx context.Context, cond func(ctx context.Context) (bool, error)) func() error {
	return func() error {
		ok, err := cond(ctx)
		switch {
		case err != nil:
			return err
		case !ok:
			return errNotYet
		}
		return nil
	}
}

// Check turns a condition reporting whether it holds and, when it does not, what it found
// instead into one for Until; that finding is the error reported if the deadline passes.
func Check(cond func() (bool, string)) func() error {
	return func() error {
		ok, found := cond()
		switch {
		case ok:
			return nil
		case found == "":
			return errNotYet
		}
		return errors.New(found)
	}
}

var errNotYet = errors.New("condition not met")

// Wait calls f until it returns nil, ctx ends or timeout passes, and returns f's last error
// (wrapped with the deadline) when it never did.
func Wait(ctx context.Context, timeout time.Duration, f func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return &TimeoutError{After: timeout, Last: err}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(Interval):
		}
	}
}

// TimeoutError is Wait's error when the deadline passed.
type TimeoutError struct {
	After time.Duration
	Last  error
}

func (e *TimeoutError) Error() string {
	return "still failing after " + e.After.String() + ": " + e.Last.Error()
}
func (e *TimeoutError) Unwrap() error { return e.Last }
