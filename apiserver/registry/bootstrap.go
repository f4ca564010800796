package registry

import (
	"context"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/klog/v2"
)

// EnsureCreated calls create until it succeeds or finds the object there (AlreadyExists),
// retrying every 200 ms while the server is not ready for it, until ctx ends: what the
// post-start hooks use for the objects every cluster starts with. An existing object is left
// as it is.
func EnsureCreated(ctx context.Context, kind, name string, create func(ctx context.Context) error) error {
	for {
		err := create(ctx)
		if err == nil || apierrors.IsAlreadyExists(err) {
			return nil
		}
		klog.FromContext(ctx).Info("Retrying the creation of a built-in object", "kind", kind, "name", name, "err", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}
