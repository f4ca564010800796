package localstore

import (
	"context"

	"google.golang.org/grpc/metadata"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/apiserver/pkg/storage"
)

// watchStreamKey is the gRPC metadata key that gives each watch cache an etcd watch stream of
// its own.
const watchStreamKey = "skiff-watch-cache"

// ownWatchStream is the storage a resource's watch cache is built on: its watch and its requests
// for progress carry the resource in their metadata, so the etcd client opens a watch stream for
// that resource alone, as upstream's storage has one (a client per resource, factory.Create).
//
// All of a Store's resources share one in-process client, and upstream's cachers all send
// {"source": "cache"}: without this, every watch cache of the API server would watch on one
// stream, and etcd answers a progress request only when every watcher on the stream has caught
// up. Under load a watcher with many events (pods) is often behind; then no quiet resource's
// cache (limitranges, a namespace's leases) could learn that it is current, and each consistent
// list of it would wait the cacher's full 3 s before it is served from etcd instead.
type ownWatchStream struct {
	storage.Interface
	resource string
}

func withOwnWatchStream(s storage.Interface, resource schema.GroupResource) storage.Interface {
	return ownWatchStream{Interface: s, resource: resource.String()}
}

func (s ownWatchStream) Watch(ctx context.Context, key string, opts storage.ListOptions) (watch.Interface, error) {
	return s.Interface.Watch(s.streamContext(ctx), key, opts)
}

func (s ownWatchStream) RequestWatchProgress(ctx context.Context) error {
	return s.Interface.RequestWatchProgress(s.streamContext(ctx))
}

// streamContext adds the resource to ctx's outgoing metadata (the etcd client keys its watch
// streams by that metadata).
func (s ownWatchStream) streamContext(ctx context.Context) context.Context {
	md, _ := metadata.FromOutgoingContext(ctx)
	md = md.Copy()
	md.Set(watchStreamKey, s.resource)
	return metadata.NewOutgoingContext(ctx, md)
}
