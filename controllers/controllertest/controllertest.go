package controllertest

import (
	"context"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/skiff-dev/skiff/apiserver/apiservertest"
	"github.com/skiff-dev/skiff/controllers"
)

// Setup adds a controller to the manager.
type Setup func(mgr manager.Manager) error

// Start starts an API server and a manager (no leader election, no metrics listener) running the
// given controllers; both stop when the test ends.
func Start(t testing.TB, setups ...Setup) *apiservertest.Server {
	t.Helper()
	s := apiservertest.Start(t)
	StartManager(t, s, setups...)
	return s
}

// StartManager starts a manager (no leader election, no metrics listener) running the given
// controllers against s. It stops when the test ends or when the returned function is called
// (which waits for it: a test restarts its controllers so). Controllers started twice in one
// process need their SkipNameValidation.
func StartManager(t testing.TB, s *apiservertest.Server, setups ...Setup) (stop func()) {
	t.Helper()
	mgr, err := controllers.NewManager(s.Config, controllers.Options{LeaderElection: false, MetricsBindAddress: "0"})
	if err != nil {
		t.Fatal(err)
	}
	for _, setup := range setups {
		if err := setup(mgr); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- controllers.Run(ctx, mgr) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("manager: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("manager did not stop within 30s")
		}
	}
	t.Cleanup(stop)
	return stop
}
