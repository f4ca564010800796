package controllers

import (
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/manager"
)

// Base is what a reconciler takes from its manager unless a test sets it: embed it and call
// Complete from SetupWithManager.
type Base struct {
	// Client reads from the manager's cache and writes to the API server.
	Client client.Client
	// APIReader reads straight from the API server (owner re-checks before adoption, state a
	// stale cache must not decide); nil uses the manager's.
	APIReader client.Reader
	// Recorder emits the controller's core/v1 events, as upstream's controllers do.
	Recorder record.EventRecorder
	// MaxConcurrentReconciles defaults to 5, as kube-controller-manager's --concurrent-*-syncs.
	MaxConcurrentReconciles int
	// SkipNameValidation allows several managers with this controller in one process (tests).
	SkipNameValidation bool
	// Clock is the controller's time (tests give a fake one); nil is the real clock.
	Clock clock.Clock
}

// Complete fills the unset fields from mgr (events under eventSource) and returns the options of
// the controller to build.
func (b *Base) Complete(mgr manager.Manager, eventSource string) controller.Options {
	if b.Client == nil {
		b.Client = mgr.GetClient()
	}
	if b.APIReader == nil {
		b.APIReader = mgr.GetAPIReader()
	}
	if b.Recorder == nil {
		b.Recorder = mgr.GetEventRecorderFor(eventSource) //nolint:staticcheck // core/v1 events, as upstream
	}
	if b.Clock == nil {
		b.Clock = clock.RealClock{}
	}
	if b.MaxConcurrentReconciles <= 0 {
		b.MaxConcurrentReconciles = 5
	}
	opts := controller.Options{MaxConcurrentReconciles: b.MaxConcurrentReconciles}
	if b.SkipNameValidation {
		opts.SkipNameValidation = ptr.To(true)
	}
	return opts
}
