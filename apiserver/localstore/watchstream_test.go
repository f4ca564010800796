package localstore

import (
	"fmt"
	"testing"

	coordinationv1 "k8s.io/api/coordination/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/storage"

	"github.com/skiff-dev/skiff/apiserver/etcd/etcdmetrics"
	"github.com/skiff-dev/skiff/test/poll"
)

// Each watch cache watches on an etcd stream of its own: two cached resources open two streams
// (on the Store's one client they would share one, and one lagging watcher would hold back every
// cache's progress).
func TestWatchCachesHaveStreamsOfTheirOwn(t *testing.T) {
	ctx := t.Context()
	srv, config := leaseMember(t)
	store := New(srv.LocalClient())
	defer func() { _ = store.Close() }()
	config.CompactionInterval = 0
	before := etcdmetrics.Value(t, "etcd_debugging_mvcc_watch_stream_total")
	decorate := store.decorator(true)
	var caches []storage.Interface
	for _, resource := range []string{"leases", "otherleases"} {
		s, destroy, err := decorate(config.ForResource(schema.GroupResource{Group: "coordination.k8s.io", Resource: resource}), "/"+resource,
			func(obj runtime.Object) (string, error) { return storage.NamespaceKeyFunc("/"+resource, obj) }, func() runtime.Object { return &coordinationv1.Lease{} }, func() runtime.Object { return &coordinationv1.LeaseList{} },
			storage.DefaultNamespaceScopedAttr, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer destroy()
		caches = append(caches, s)
	}
	poll.Eventually(t, "a watch stream for each watch cache", poll.Check(func() (bool, string) {
		n := etcdmetrics.Value(t, "etcd_debugging_mvcc_watch_stream_total") - before
		return n == 2, fmt.Sprintf("%v new watch streams", n)
	}))
	// Both caches serve consistent lists (each learns it is current through its own stream).
	for i, s := range caches {
		if err := s.GetList(ctx, []string{"/leases", "/otherleases"}[i], storage.ListOptions{Recursive: true, Predicate: storage.Everything}, &coordinationv1.LeaseList{}); err != nil {
			t.Fatal(err)
		}
	}
}
