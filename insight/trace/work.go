package trace

import (
	"context"
	"sync/atomic"
)

type workKey struct{}

// WithWork returns a context whose steps count the work they do (Worked), so that a span can be
// discarded when nothing happened under it.
func WithWork(ctx context.Context) (context.Context, *atomic.Int64) {
	n := new(atomic.Int64)
	return context.WithValue(ctx, workKey{}, n), n
}

// Worked counts one step of work in ctx's counter, if any.
func Worked(ctx context.Context) {
	if n, ok := ctx.Value(workKey{}).(*atomic.Int64); ok {
		n.Add(1)
	}
}
