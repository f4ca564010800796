package controllers

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	toolscache "k8s.io/client-go/tools/cache"

	"github.com/skiff-dev/skiff/test/poll"
)

// TestListWhenCacheLags: an API server whose watch cache lags refuses every streaming list
// ("Too large resource version"); the informer lists instead and syncs.
func TestListWhenCacheLags(t *testing.T) {
	EnableStreamingLists()
	var streams, lists atomic.Int32
	lagging := &apierrors.StatusError{ErrStatus: metav1.Status{Status: metav1.StatusFailure, Code: http.StatusGatewayTimeout,
		Reason: metav1.StatusReasonTimeout, Message: "Too large resource version",
		Details: &metav1.StatusDetails{Causes: []metav1.StatusCause{{Type: metav1.CauseTypeResourceVersionTooLarge, Message: "Too large resource version"}}}}}
	lw := &toolscache.ListWatch{
		ListWithContextFunc: func(context.Context, metav1.ListOptions) (runtime.Object, error) {
			lists.Add(1)
			return &corev1.PodList{ListMeta: metav1.ListMeta{ResourceVersion: "10"}, Items: []corev1.Pod{
				{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "a", ResourceVersion: "9"}},
				{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "b", ResourceVersion: "10"}},
			}}, nil
		},
		WatchFuncWithContext: func(_ context.Context, o metav1.ListOptions) (watch.Interface, error) {
			if o.SendInitialEvents != nil && *o.SendInitialEvents {
				streams.Add(1)
				return nil, lagging
			}
			return watch.NewFake(), nil
		},
	}
	inf := newInformer(lw, &corev1.Pod{}, 0, toolscache.Indexers{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go inf.RunWithContext(ctx)
	if err := poll.Wait(ctx, 30*time.Second, func() error {
		if !inf.HasSynced() {
			return errNotSynced
		}
		return nil
	}); err != nil {
		t.Fatalf("informer: %v (streaming lists tried %d times, lists %d)", err, streams.Load(), lists.Load())
	}
	if n := len(inf.GetStore().List()); n != 2 {
		t.Errorf("store has %d pods, want 2", n)
	}
	if streams.Load() == 0 {
		t.Error("no streaming list was tried: the test does not exercise the fallback")
	}
}

var errNotSynced = apierrors.NewServiceUnavailable("not synced")
