package controllertest

import (
	"context"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

// PollInterval and PollTimeout are Eventually's pace and patience.
const (
	PollInterval = 50 * time.Millisecond
	PollTimeout  = 45 * time.Second
)

// Eventually polls cond until it returns true, failing the test with what and cond's last
// error after PollTimeout. cond's error ends nothing: it is kept to explain a timeout.
func Eventually(t testing.TB, what string, cond func(ctx context.Context) (bool, error)) {
	t.Helper()
	var last error
	err := wait.PollUntilContextTimeout(context.Background(), PollInterval, PollTimeout, true, func(ctx context.Context) (bool, error) {
		ok, err := cond(ctx)
		if err != nil {
			last = err
			return false, nil
		}
		return ok, nil
	})
	if err != nil {
		t.Fatalf("waiting for %s: %v (last error: %v)", what, err, last)
	}
}
