// Package watchbuffer gives every watch the API server serves from its watch cache a buffer that
// keeps up with Skiff's event rate, so that a burst of writes does not make the cache close every
// watch at once.
//
// k8s.io/apiserver's cacher hands each watcher a channel sized when the watch starts, from the
// watch cache's capacity at that moment: 10 events for the watches that start with the server
// (the cache starts at 100 events), at most 100 for a pod watch that is not by node. When a
// watcher's channel is full for longer than the dispatch budget (about 100 ms shared by all
// watchers), the cacher closes it ("Forcing pods watcher close due to unresponsiveness"), and the
// client lists again. Skiff writes pods at several hundred a second, so during a burst every
// cluster-wide pod watch was closed at once (BenchmarkWatchBurst in test/bench counts them).
//
// RESTOptionsGetter wraps the storage decorator of every resource (custom resources too): each Watch's events are moved
// at once from the cacher's channel into a queue owned by the watch, and handed to the HTTP
// handler from there. The cacher never waits on a client that reads; a client that does not read
// at all is cut when its queue holds MaxQueued events (the events already queued are delivered
// first, so it re-watches from the last resourceVersion it saw, usually without a relist). A
// streaming list (sendInitialEvents) is not cut while it sends the initial state, which the
// cache produces all at once: the queue pushes back until the client reads, up to the
// initial-events-end bookmark (cut at the bound, an informer over more objects than the bound
// listed again forever: a restart at 20,000 pods never became ready).
package watchbuffer
