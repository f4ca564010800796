package controllers

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	toolscache "k8s.io/client-go/tools/cache"
)

// newInformer is client-go's shared informer on a listWhenCacheLags (the manager's cache
// builds every informer with it).
func newInformer(lw toolscache.ListerWatcher, obj runtime.Object, resync time.Duration, indexers toolscache.Indexers) toolscache.SharedIndexInformer {
	return toolscache.NewSharedIndexInformer(listWhenCacheLags{ListerWatcher: lw, withContext: toolscache.ToListerWatcherWithContext(lw)}, obj, resync, indexers)
}

// listWhenCacheLags lists instead of streaming when the API server's watch cache lags behind
// etcd. A streaming list (a watch with initial events, EnableStreamingLists) is served only
// from a watch cache at least as fresh as etcd; when the cache is further behind than the API
// server waits (3 s), the request fails with "Too large resource version", which client-go's
// reflector retries at once, for as long as the lag lasts, where a list would fall back to
// etcd. Under a saturating load the pod cache stayed seconds behind for minutes: the informers
// of a new leader-election term never synced and the cluster stood still (issue 17, r17 and
// r19). This error alone is turned into one the reflector does not retry, so that it lists
// (its fallback) and streams again at its next relist.
type listWhenCacheLags struct {
	toolscache.ListerWatcher
	withContext toolscache.ListerWatcherWithContext
}

func (l listWhenCacheLags) ListWithContext(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
	return l.withContext.ListWithContext(ctx, o)
}

func (l listWhenCacheLags) WatchWithContext(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
	w, err := l.withContext.WatchWithContext(ctx, o)
	if err != nil && o.SendInitialEvents != nil && *o.SendInitialEvents &&
		apierrors.HasStatusCause(err, metav1.CauseTypeResourceVersionTooLarge) {
		// %v, not %w: the reflector must not recognize the cause.
		return nil, fmt.Errorf("streaming list refused, the watch cache lags behind etcd (listing instead): %v", err)
	}
	return w, err
}

func (l listWhenCacheLags) Watch(o metav1.ListOptions) (watch.Interface, error) {
	return l.WatchWithContext(context.Background(), o)
}
